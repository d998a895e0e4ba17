"""Cross-paper ("which papers report METRIC on DATASET?") questions: search and table answers.

Dataset: one JSON object per line with ``question``, ``dataset``, ``metric`` and ``gold_ids``
(the papers whose leaderboard entry has the pair and whose abstract names the dataset), e.g.
``../shared/eval/pwc-dev/aggregate_questions.jsonl``. Everything is counted per distinct paper.

For each configuration, two rankings per question:

- **search**: ``qa.search(question, k=search_k, distinct_papers=True)``, the k best papers
  (computed from one deeper passage search, which is what ``distinct_papers`` does);
  and, for comparison with the numbers measured before distinct-paper search existed,
  ``search (passages)``: the old way, ``search_k`` passages reduced to their papers.
- **answer**: the papers of ``qa.ask(question)``: the rows of ``answer.table`` in order when the
  question was answered from the results table, else the cited papers.

Precision@10 is the number of gold papers among the first 10 papers of a ranking divided by
``min(10, |gold|)`` (so 1.0 is reachable when a question has fewer than 10 gold papers; this is
how the issue's baseline 0.336 / 0.532 was counted). ``listed P@10`` divides by the number of
papers actually listed among the first 10 instead (a table answer may list fewer than 10).
Recall is over the whole ranking (search: its ``search_k`` papers; answer: every paper it lists).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

from ..retrieval import PASSAGES_PER_PAPER
from . import metrics as m
from .datasets import DatasetError, _jsonl
from .latency import LatencySummary, StageTimes
from .progress import progress_bar

if TYPE_CHECKING:
    from ..api import PaperQA

AGGREGATE_FIELDS = ("question", "dataset", "metric", "gold_ids")


class AggregateItem(BaseModel):
    id: str
    question: str = Field(min_length=1)
    dataset: str
    metric: str
    gold_ids: list[str] = Field(min_length=1)


class AggregateDataset(BaseModel):
    name: str
    path: Path
    items: list[AggregateItem]

    @property
    def kind(self) -> str:
        return "aggregate"


def is_aggregate_set(path: Path) -> bool:
    """A JSON Lines file whose first record has question, dataset, metric and gold_ids (and no QA type)."""
    if not path.is_file() or path.suffix != ".jsonl":
        return False
    for _, record in _jsonl(path):
        return all(key in record for key in AGGREGATE_FIELDS) and "type" not in record
    return False


def load_aggregate(path: str | Path, limit: int | None = None) -> AggregateDataset:
    file = Path(path)
    items = []
    for number, record in _jsonl(file):
        record.setdefault("id", f"line{number}")
        try:
            items.append(AggregateItem(**record))
        except ValidationError as exc:
            raise DatasetError(f"{file}:{number}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
    if limit is not None:
        items = items[:limit]
    return AggregateDataset(name=file.stem, path=file, items=items)


class AggregateItemResult(BaseModel):
    id: str
    question: str
    gold_ids: list[str]
    gold_in_index: int
    search: list[str]
    answer: list[str]
    table_answer: bool
    metrics: dict[str, float | None]
    timings_s: dict[str, float]


class AggregateResult(BaseModel):
    config_name: str
    settings: dict[str, Any]
    n_questions: int
    search_k: int
    metrics: dict[str, float | None]
    latency: dict[str, LatencySummary]
    latency_raw_s: dict[str, list[float]]
    wall_s: float
    per_item: list[AggregateItemResult]


def precision_at(ranking: list[str], gold: set[str], k: int = 10, listed: bool = False) -> float | None:
    """Gold papers among the first k, over min(k, |gold|) (``listed``: over the papers listed, None if none)."""
    top = ranking[:k]
    if listed:
        return len(set(top) & gold) / len(top) if top else None
    return len(set(top) & gold) / min(k, len(gold)) if gold else None


def recall_of(ranking: list[str], gold: set[str]) -> float | None:
    return len(set(ranking) & gold) / len(gold) if gold else None


def evaluate_aggregate(qa: PaperQA, dataset: AggregateDataset, config_name: str, search_k: int = 50,
                       progress: bool = True) -> AggregateResult:
    papers = qa.papers
    stages = StageTimes()
    per_item: list[AggregateItemResult] = []
    start = time.perf_counter()
    for item in progress_bar(dataset.items, total=len(dataset.items), desc=config_name, enabled=progress):
        gold = set(item.gold_ids)
        # One search serves both rankings: distinct-paper search is exactly "fuse PASSAGES_PER_PAPER * k
        # passages, keep each paper's best, cut to k", and the old way is "the first k passages".
        depth = max(search_k * PASSAGES_PER_PAPER, qa.settings.retrieval.candidates)
        hits, search_t = qa.search_timed(item.question, k=depth, distinct_papers=False)
        by_paper = m.dedupe(h.paper_id for h in hits)[:search_k]
        passages = m.dedupe(h.paper_id for h in hits[:search_k])
        t = time.perf_counter()
        answer = qa.ask(item.question)
        ask_s = time.perf_counter() - t
        table = bool(answer.table)
        answered = m.dedupe(r.paper_id for r in answer.table) if table else m.dedupe(
            c.paper_id for c in answer.citations)
        timings = {"search": search_t["total"], "ask": ask_s}
        if table:
            timings["table_answer"] = ask_s
        stages.add(timings)
        per_item.append(AggregateItemResult(
            id=item.id, question=item.question, gold_ids=item.gold_ids, gold_in_index=len(gold & set(papers)),
            search=by_paper, answer=answered, table_answer=table, timings_s=timings,
            metrics={
                "search_p@10": precision_at(by_paper, gold), f"search_r@{search_k}": recall_of(by_paper, gold),
                "passages_p@10": precision_at(passages, gold), f"passages_r@{search_k}": recall_of(passages, gold),
                "answer_p@10": precision_at(answered, gold), "answer_listed_p@10": precision_at(answered, gold, listed=True),
                "answer_recall": recall_of(answered, gold), "answer_size": float(len(answered)),
            }))
    wall = time.perf_counter() - start
    keys = list(per_item[0].metrics) if per_item else []
    summary = {key: m.mean_defined(i.metrics[key] for i in per_item) for key in keys}
    summary["table_answered"] = m.mean_defined(float(i.table_answer) for i in per_item)
    return AggregateResult(config_name=config_name, settings=qa.settings.model_dump(mode="json"),
                           n_questions=len(per_item), search_k=search_k, metrics=summary,
                           latency=stages.summary(), latency_raw_s=stages.raw(), wall_s=wall, per_item=per_item)


def aggregate_table(results: list[AggregateResult]) -> str:
    if not results:
        return ""
    k = results[0].search_k
    head = ["config", "search P@10", f"search R@{k}", "passages P@10", f"passages R@{k}", "answer P@10",
            "answer listed P@10", "answer recall", "answer size", "table-answered", "search p50 ms", "ask p50 ms",
            "table answer p50 ms", "table answer p95 ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        mt = r.metrics

        def f(key: str, digits: int = 3, mt: dict = mt) -> str:
            value = mt.get(key)
            return "–" if value is None else f"{value:.{digits}f}"

        def ms(stage: str, which: str = "p50_ms", r: AggregateResult = r) -> str:
            entry = r.latency.get(stage)
            return "–" if entry is None else f"{getattr(entry, which):.1f}"

        lines.append("| " + " | ".join([
            r.config_name, f("search_p@10"), f(f"search_r@{k}"), f("passages_p@10"), f(f"passages_r@{k}"),
            f("answer_p@10"), f("answer_listed_p@10"), f("answer_recall"), f("answer_size", 1), f("table_answered"),
            ms("search"), ms("ask"), ms("table_answer"), ms("table_answer", "p95_ms")]) + " |")
    return "\n".join(lines)
