"""Retrieval metrics of one configuration on a BEIR dataset.

Retrieval is chunk-level; a paper's score is its best chunk, so hits are reduced to papers by
keeping each paper's first (highest-ranked) chunk before any document-level metric.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from . import metrics as m
from .datasets import BeirDataset
from .latency import LatencySummary, StageTimes
from .progress import progress_bar

if TYPE_CHECKING:
    from ..api import PaperQA


class QueryResult(BaseModel):
    query_id: str
    ndcg: float | None
    mrr: float | None
    recall: dict[int, float | None]
    top: list[str]


class RetrievalResult(BaseModel):
    config_name: str
    settings: dict[str, Any]
    n_queries: int
    ndcg_k: int
    mrr_k: int
    metrics: dict[str, float | None]
    recall_curve: dict[int, float | None]
    latency: dict[str, LatencySummary]
    latency_raw_s: dict[str, list[float]]
    throughput_qps: float
    wall_s: float
    chunk_depth: int
    per_query: list[QueryResult]


def doc_ranking(hits: list[Any]) -> list[str]:
    """Paper ids, best first, each paper once (its best chunk)."""
    return m.dedupe(hit.paper_id for hit in hits)


def evaluate_retrieval(
    qa: PaperQA,
    dataset: BeirDataset,
    config_name: str,
    ks: list[int],
    ndcg_k: int = 10,
    mrr_k: int = 10,
    chunks_per_doc: int = 3,
    progress: bool = True,
) -> RetrievalResult:
    """Search every judged query once; metrics from the ranking, latency from the API's stage timer."""
    depth = max([*ks, ndcg_k, mrr_k])
    chunk_depth = min(1000, depth * chunks_per_doc)
    stages = StageTimes()
    per_query: list[QueryResult] = []
    start = time.perf_counter()
    for query_id, text in progress_bar(dataset.queries.items(), total=len(dataset.queries),
                                       desc=f"{config_name}", enabled=progress):
        hits, timings = qa.search_timed(text, k=chunk_depth)
        stages.add(timings)
        ranking = doc_ranking(hits)
        qrels = dataset.qrels[query_id]
        per_query.append(
            QueryResult(
                query_id=query_id,
                ndcg=m.ndcg_at_k(ranking, qrels, ndcg_k),
                mrr=m.mrr_at_k(ranking, qrels, mrr_k),
                recall={k: m.recall_at_k(ranking, qrels, k) for k in ks},
                top=ranking[:ndcg_k],
            )
        )
    wall = time.perf_counter() - start
    curve = {k: m.mean_defined(q.recall[k] for q in per_query) for k in ks}
    summary = {
        f"ndcg@{ndcg_k}": m.mean_defined(q.ndcg for q in per_query),
        f"mrr@{mrr_k}": m.mean_defined(q.mrr for q in per_query),
        **{f"recall@{k}": v for k, v in curve.items()},
    }
    return RetrievalResult(
        config_name=config_name,
        settings=qa.settings.model_dump(mode="json"),
        n_queries=len(per_query),
        ndcg_k=ndcg_k,
        mrr_k=mrr_k,
        metrics=summary,
        recall_curve=curve,
        latency=stages.summary(),
        latency_raw_s=stages.raw(),
        throughput_qps=len(per_query) / wall if wall > 0 else 0.0,
        wall_s=wall,
        chunk_depth=chunk_depth,
        per_query=per_query,
    )
