"""Ingest and search benchmark on a large corpus (default: ../shared ml_abstracts.jsonl, 11,546 papers).

Measures ingest throughput split into parse, chunk, embed and index; search latency p50/p95 per
retrieval mode (model already loaded); index size on disk; peak memory. Prints a table and
writes JSON. Kept apart from the tests: timings are measured here, never asserted.

    python benchmarks/benchmark.py                      # full run (about 10 minutes on 2 cores)
    python benchmarks/benchmark.py --limit 1000         # quicker
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from paperqa.api import PaperQA

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-abstracts" / "ml_abstracts.jsonl"
console = Console()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def _limited_copy(data: Path, limit: int | None, folder: Path) -> Path:
    if limit is None:
        return data
    target = folder / data.name
    with open(data, encoding="utf-8") as src, open(target, "w", encoding="utf-8") as dst:
        dst.writelines(line for _, line in zip(range(limit), src, strict=False))
    return target


def _queries(qa: PaperQA, count: int, seed: int) -> list[str]:
    """Questions built from random papers' titles: realistic length and vocabulary."""
    papers = list(qa.papers.values())
    rng = random.Random(seed)
    return [f"What does the paper on {p.title.lower()} report?" for p in rng.sample(papers, min(count, len(papers)))]


def _latency(qa: PaperQA, queries: list[str], mode: str) -> dict[str, float]:
    qa.search(queries[0], mode=mode)  # warm-up
    totals, embeds = [], []
    for query in queries:
        _, timings = qa.search_timed(query, mode=mode)
        totals.append(timings["total"] * 1000)
        embeds.append(timings.get("embed_query", 0.0) * 1000)
    return {
        "p50_ms": float(np.percentile(totals, 50)),
        "p95_ms": float(np.percentile(totals, 95)),
        "embed_query_p50_ms": float(np.percentile(embeds, 50)),
        "qps": 1000 * len(totals) / sum(totals),
    }


def main(
    data: Annotated[Path, typer.Option(help="JSON Lines / BEIR / CSV / dump file to ingest.")] = DEFAULT_DATA,
    limit: Annotated[int | None, typer.Option(help="Only the first N records.")] = None,
    queries: Annotated[int, typer.Option(help="Search queries per mode.")] = 200,
    index_type: Annotated[str, typer.Option(help="flat, hnsw or ivf.")] = "flat",
    output: Annotated[Path | None, typer.Option(help="Write the results as JSON here.")] = None,
    seed: int = 0,
) -> None:
    work = Path(tempfile.mkdtemp(prefix="paperqa-bench-"))
    try:
        source = _limited_copy(data, limit, work)
        qa = PaperQA(work / "index", overrides={"index.type": index_type})
        started = time.perf_counter()
        qa.embedder.load()
        load_s = time.perf_counter() - started
        rss_loaded = _peak_rss_mb()
        report = qa.ingest([source], progress=True)
        results = {
            "data": str(data), "papers": report.added, "chunks": report.chunks_added, "index_type": index_type,
            "model_load_s": load_s, "ingest_s": report.timings_s, "papers_per_s": report.added / report.timings_s["total"],
            "index_mb": _folder_mb(qa.index_dir), "peak_rss_mb_after_model_load": rss_loaded,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores", "device": qa.embedder.device,
        }
        query_set = _queries(qa, queries, seed)
        results["search"] = {mode: _latency(qa, query_set, mode) for mode in ("bm25", "dense", "hybrid")}
        results["peak_rss_mb"] = _peak_rss_mb()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _print(results)
    if output:
        output.write_text(json.dumps(results, indent=2))


def _print(r: dict) -> None:
    t = r["ingest_s"]
    table = Table(title=f"Ingest: {r['papers']:,} papers, {r['chunks']:,} passages ({r['index_type']}, {r['device']}, {r['machine']})")
    for column in ("stage", "seconds", "papers/s"):
        table.add_column(column, justify="right")
    for stage in ("parse", "chunk", "embed", "index", "total"):
        table.add_row(stage, f"{t.get(stage, 0):.1f}", f"{r['papers'] / t[stage]:.0f}" if t.get(stage) else "-")
    console.print(table)
    table = Table(title=f"Search latency over {r['papers']:,} papers (model loaded)")
    for column in ("mode", "p50 ms", "p95 ms", "query embedding p50 ms", "queries/s"):
        table.add_column(column, justify="right")
    for mode, s in r["search"].items():
        table.add_row(mode, f"{s['p50_ms']:.1f}", f"{s['p95_ms']:.1f}", f"{s['embed_query_p50_ms']:.1f}", f"{s['qps']:.0f}")
    console.print(table)
    console.print(f"index on disk {r['index_mb']:.1f} MB; model load {r['model_load_s']:.1f} s; "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB (after model load {r['peak_rss_mb_after_model_load']:.0f} MB)")


if __name__ == "__main__":
    typer.run(main)
