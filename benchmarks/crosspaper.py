"""Cross-paper questions on a large corpus without embeddings: the table answer, and BM25 search.

For "which papers report METRIC on DATASET?" sets (default: ../shared/eval/pwc-dev/
aggregate_questions.jsonl over ml_abstracts.jsonl), per distinct paper:

- **table answer**: the code ``PaperQA.ask`` runs for these questions (``crosspaper.parse_question``
  -> ``ResultsTable.query`` + ``mentions`` -> ``crosspaper.table_answer``), timed per question;
- **BM25 search**, the real ``BM25Retriever`` over the same passages: k passages reduced to their
  papers (how search worked before) and k distinct papers (``distinct_papers``).

Dense and hybrid search need the embedded index (``paperqa eval ... --index-dir``); this script
measures what needs no embedding model, so it runs in about a minute on 2 cores. Timings are
printed, never asserted.

    python benchmarks/crosspaper.py
    python benchmarks/crosspaper.py --out eval/reports/<stamp>-aggregate-table
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
console = Console()


def main(
    questions: Annotated[Path, typer.Option(help="aggregate question set")] = SHARED / "eval/pwc-dev/aggregate_questions.jsonl",
    corpus: Annotated[Path, typer.Option(help="the corpus the gold ids come from")] = SHARED / "data/ml-abstracts/ml_abstracts.jsonl",
    k: Annotated[int, typer.Option(help="papers per search (recall@k)")] = 50,
    out: Annotated[Path | None, typer.Option(help="write report.json and report.md here")] = None,
) -> None:
    from paperqa.chunking import chunk_papers, indexed_text
    from paperqa.config import load_config
    from paperqa.crosspaper import answer_support, parse_question, table_answer, table_rows
    from paperqa.eval.aggregate_eval import load_aggregate, precision_at, recall_of
    from paperqa.eval.metrics import dedupe, mean_defined
    from paperqa.index_store import build_bm25
    from paperqa.lexicon import get_lexicon
    from paperqa.results_table import ResultsTable
    from paperqa.retrieval import BM25Retriever
    from paperqa.sources import load_papers

    settings = load_config()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    papers = {p.paper_id: p for p in load_papers([corpus], cfg=settings.ingest).papers}
    timings["load"] = time.perf_counter() - t
    t = time.perf_counter()
    chunks = chunk_papers(papers.values(), settings.chunking)
    by_paper: dict[str, list] = {}
    for chunk in chunks:
        by_paper.setdefault(chunk.paper_id, []).append(chunk)
    timings["chunk"] = time.perf_counter() - t
    t = time.perf_counter()
    lexicon = get_lexicon()
    table = ResultsTable.from_papers(papers.values(), lexicon)
    timings["extract_results"] = time.perf_counter() - t
    t = time.perf_counter()
    bm25 = BM25Retriever(build_bm25([indexed_text(c, settings.chunking) for c in chunks], settings.retrieval),
                         settings.retrieval, len(chunks))
    timings["bm25_index"] = time.perf_counter() - t
    dataset = load_aggregate(questions)

    for item in dataset.items[:3]:  # warm-up (lexicon matchers, sentence tokenizer), not timed
        warm = parse_question(item.question, lexicon)
        if warm is not None:
            table_answer(warm, *table_rows(warm, table, papers), papers, by_paper.get)
    per_item, answer_s = [], []
    for item in dataset.items:
        gold = set(item.gold_ids)
        start = time.perf_counter()
        query = parse_question(item.question, lexicon)
        answered: list[str] = []
        if query is not None:
            rows, mentions = table_rows(query, table, papers)
            answer = table_answer(query, rows, mentions, papers, by_paper.get, total_papers=len(papers),
                                  support=answer_support(query, rows, mentions, table, lexicon),
                                  direction_of=lexicon.direction)
            answered = dedupe(r.paper_id for r in answer.table)
        answer_s.append(time.perf_counter() - start)
        ranked = bm25.search(item.question, max(k * 3, settings.retrieval.candidates))
        chunk_papers_ranked = [chunks[row].paper_id for row in ranked.rows.tolist()]
        passages = dedupe(chunk_papers_ranked[:k])
        distinct = dedupe(chunk_papers_ranked)[:k]
        per_item.append({
            "id": item.id, "question": item.question, "answer_ms": answer_s[-1] * 1000, "parsed": query.model_dump() if query else None,
            "answer": answered, "gold": item.gold_ids,
            "answer_p@10": precision_at(answered, gold), "answer_listed_p@10": precision_at(answered, gold, listed=True),
            "answer_recall": recall_of(answered, gold), "answer_size": len(answered),
            "bm25_passages_p@10": precision_at(passages, gold), f"bm25_passages_r@{k}": recall_of(passages, gold),
            "bm25_distinct_p@10": precision_at(distinct, gold), f"bm25_distinct_r@{k}": recall_of(distinct, gold),
        })
    keys = [key for key in per_item[0] if "@" in key or key.startswith("answer_")]
    summary = {key: mean_defined(float(i[key]) if i[key] is not None else None for i in per_item) for key in keys}
    summary["table_answered"] = sum(i["parsed"] is not None for i in per_item) / len(per_item)
    ms = np.array(answer_s) * 1000
    latency = {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
               "max_ms": float(ms.max()), "n": len(ms)}

    result = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python " + " ".join(sys.argv),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs",
        "corpus": str(corpus), "papers": len(papers), "chunks": len(chunks), "result_rows": table.count(),
        "questions": str(questions), "n_questions": len(per_item), "k": k, "setup_s": timings,
        "metrics": summary, "table_answer_latency": latency, "per_item": per_item,
    }
    view = Table(title=f"{len(per_item)} cross-paper questions over {len(papers):,} papers (per distinct paper)")
    for column in ("ranking", "P@10", "listed P@10", f"recall (answer) / R@{k} (search)", "papers listed"):
        view.add_column(column)
    view.add_row("table answer", f"{summary['answer_p@10']:.3f}", f"{summary['answer_listed_p@10']:.3f}",
                 f"{summary['answer_recall']:.3f}", f"{summary['answer_size']:.1f}")
    view.add_row(f"BM25, {k} passages -> papers (before)", f"{summary['bm25_passages_p@10']:.3f}", "",
                 f"{summary[f'bm25_passages_r@{k}']:.3f}", "")
    view.add_row(f"BM25, {k} distinct papers", f"{summary['bm25_distinct_p@10']:.3f}", "",
                 f"{summary[f'bm25_distinct_r@{k}']:.3f}", "")
    console.print(view)
    console.print(f"table answer latency: p50 {latency['p50_ms']:.1f} ms, p95 {latency['p95_ms']:.1f} ms "
                  f"(parse + query + answer, {latency['n']} questions); recognised as table questions: "
                  f"{summary['table_answered']:.3f}. P@10 = gold among the first 10 / min(10, gold); listed P@10 "
                  "divides by the papers listed among the first 10.")
    console.print("setup: " + ", ".join(f"{name} {s:.1f}s" for name, s in timings.items()))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
        with (out / "report.md").open("w", encoding="utf-8") as handle:
            handle.write(f"# Cross-paper questions without embeddings\n\n- when: {result['timestamp']}\n"
                         f"- command: `{result['command']}`\n- machine: {result['machine']}\n"
                         f"- corpus: {corpus} ({len(papers)} papers, {len(chunks)} passages, "
                         f"{result['result_rows']} result rows)\n\n")
            rec = Console(file=handle, width=140, record=False)
            rec.print(view)
            handle.write(f"\ntable answer latency p50 {latency['p50_ms']:.1f} ms, p95 {latency['p95_ms']:.1f} ms\n")
        console.print(f"report: {out}")


if __name__ == "__main__":
    typer.run(main)
