"""Measure the citation support check (``citations.support``) and choose ``answer.min_citation_support``.

No language model runs here, so the stand-in for "a generated sentence and the passage it cites" is
SciFact: its claims are sentences people wrote from a cited abstract, paraphrased, with the
abstract labelled SUPPORT. Each claim is scored against
  - its gold abstract (the passage: the chunk of it that backs the claim best),
  - the best-ranked other abstract by BM25 (a plausible wrong citation: same topic, other paper),
  - a random other abstract (an unrelated citation).
A bundled-corpus row adds the extractive case: each abstract sentence against its own passage and
against another paper's. Prints the overlap distribution, the number check, and what each
threshold would accept. Timings are not measured.

    python benchmarks/citation_support.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import bm25s
import numpy as np
from rich.console import Console
from rich.table import Table

from paperqa.chunking import chunk_paper
from paperqa.citations import passage_sentences, support
from paperqa.config import load_config
from paperqa.models import Paper
from paperqa.sources import bundled_corpus_paths, load_papers

SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "eval" / "scifact"
THRESHOLDS = [0.2, 0.3, 0.35, 0.4, 0.5, 0.6]


def _chunks(title: str, text: str) -> list[str]:
    paper = Paper(paper_id="x", title=title, abstract=text)
    return [c.text for c in chunk_paper(paper, load_config().chunking)] or [text]


def _best(claim: str, chunks: list[str]):
    return max((support(claim, [c]) for c in chunks), key=lambda s: (not s.missing_numbers, s.overlap))


def scifact_rows(rng: random.Random) -> dict[str, list]:
    corpus = {}
    for line in (SCIFACT / "corpus.jsonl").open():
        record = json.loads(line)
        corpus[str(record["_id"])] = (record.get("title") or "", record["text"])
    ids = list(corpus)
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([corpus[i][1] for i in ids], stopwords="en", show_progress=False),
                    show_progress=False)
    rows: dict[str, list] = {"gold (SUPPORT)": [], "BM25 top other paper": [], "random paper": []}
    for line in (SCIFACT / "queries.jsonl").open():
        query = json.loads(line)
        gold = [d for d, ev in (query.get("metadata") or {}).items()
                if d in corpus and any(e["label"] == "SUPPORT" for e in ev)]
        if not gold:
            continue
        claim = query["text"]
        rows["gold (SUPPORT)"].append(_best(claim, _chunks(*corpus[gold[0]])))
        found, _ = retriever.retrieve(bm25s.tokenize([claim], stopwords="en", show_progress=False), k=5,
                                      show_progress=False)
        other = next(ids[j] for j in found[0] if ids[j] not in gold)
        rows["BM25 top other paper"].append(_best(claim, _chunks(*corpus[other])))
        random_id = rng.choice([i for i in ids if i not in gold])
        rows["random paper"].append(_best(claim, _chunks(*corpus[random_id])))
    return rows


def bundled_rows(rng: random.Random) -> dict[str, list]:
    papers = load_papers(bundled_corpus_paths()).papers
    rows: dict[str, list] = {"extractive: own passage": [], "extractive: other paper": []}
    for paper in papers:
        chunks = _chunks(paper.title, paper.abstract)
        other = rng.choice([p for p in papers if p.paper_id != paper.paper_id])
        for start, end in passage_sentences(paper.abstract)[:3]:
            sentence = paper.abstract[start:end]
            rows["extractive: own passage"].append(_best(sentence, chunks))
            rows["extractive: other paper"].append(_best(sentence, _chunks(other.title, other.abstract)))
    return rows


def main() -> None:
    rng = random.Random(0)
    rows = {**scifact_rows(rng), **bundled_rows(rng)}
    table = Table(title="citations.support: overlap = share of the sentence's content words in the cited passage")
    for column in ["pair", "n", "p5", "p10", "p25", "median", "numbers missing",
                   *[f"accepted @{t}" for t in THRESHOLDS]]:
        table.add_column(column, justify="right" if column != "pair" else "left")
    for name, results in rows.items():
        overlaps = np.array([r.overlap for r in results])
        missing = np.mean([bool(r.missing_numbers) for r in results])
        accepted = [np.mean([r.ok(t) for r in results]) for t in THRESHOLDS]
        table.add_row(name, str(len(results)), *[f"{np.percentile(overlaps, q):.2f}" for q in (5, 10, 25, 50)],
                      f"{missing:.1%}", *[f"{a:.1%}" for a in accepted])
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
