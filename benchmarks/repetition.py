"""Degenerate repetition of generated answers, with and without vLLM's penalties, on a real server.

For each sampling setting (``repetition_penalty`` / ``frequency_penalty``) the same questions are
answered by the model behind ``--base-url`` (their passages retrieved once, from the bundled
corpus); the raw model text is scored:

- distinct-4: unique word 4-grams / all word 4-grams (1.0 = no phrase repeated; a loop drives it to 0);
- repeated sentences: sentences that are an exact (normalised) copy of an earlier one;
- cut: answers that ran into ``max_tokens`` (finish_reason ``length``);
- cited: sentences carrying a valid citation mark, of all sentences (penalties can also discourage
  repeating ``[1]``, which is why this is measured too).

Timings are printed, never asserted. Questions of one setting are sent at once (vLLM batches them).

    paperqa llm serve --port 8000
    python benchmarks/repetition.py --base-url http://127.0.0.1:8000/v1 --questions 4 --max-tokens 256
"""

from __future__ import annotations

import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from paperqa.api import PaperQA
from paperqa.citations import check_answer, split_answer_sentences
from paperqa.generation import AnswerGenerator

QA_FILE = Path(__file__).resolve().parents[1] / "eval" / "datasets" / "bundled_qa.jsonl"
DEFAULT_SETTINGS = "1.0:0,1.1:0,1.2:0,1.0:0.5,1.1:0.3"
console = Console(width=150)


def distinct_4(text: str) -> float:
    words = re.findall(r"\w+", text.lower())
    grams = [tuple(words[i : i + 4]) for i in range(len(words) - 3)]
    return len(set(grams)) / len(grams) if grams else 1.0


def repeated_sentences(text: str) -> int:
    seen: set[str] = set()
    repeats = 0
    for sentence in split_answer_sentences(text):
        key = " ".join(re.findall(r"\w+", re.sub(r"\[[\d,\s-]*\]", "", sentence).lower()))
        if not key:
            continue
        repeats += key in seen
        seen.add(key)
    return repeats


def main(
    base_url: Annotated[str, typer.Option(help="The vLLM server's /v1 URL.")] = "http://127.0.0.1:8000/v1",
    questions: Annotated[int, typer.Option(help="How many answerable questions of bundled_qa.jsonl.")] = 4,
    max_tokens: Annotated[int, typer.Option(help="llm.max_tokens for every answer.")] = 256,
    settings: Annotated[str, typer.Option(help="repetition_penalty:frequency_penalty pairs, comma-separated.")] =
    DEFAULT_SETTINGS,
    k: Annotated[int, typer.Option(help="Passages per question.")] = 5,
    out: Annotated[Path | None, typer.Option(help="Write the per-answer rows as JSON here.")] = None,
) -> None:
    rows = [json.loads(line) for line in QA_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    asked = [r["question"] for r in rows if r.get("gold_titles")][:questions]
    qa = PaperQA(overrides={"answer.mode": "generated", "llm.base_url": base_url, "llm.max_tokens": max_tokens,
                            "llm.timeout": 600.0, "llm.retries": 0})
    hits = {q: qa.search(q, k=k) for q in asked}
    table = Table(title=f"repetition over {len(asked)} questions, max_tokens={max_tokens}, {base_url}")
    for column in ("repetition_penalty", "frequency_penalty", "distinct-4", "repeated sentences", "cut (length)",
                   "cited sentences", "completion tokens", "wall s"):
        table.add_column(column, justify="right")
    results = []
    for pair in settings.split(","):
        rp, fp = (float(x) for x in pair.split(":"))
        view = qa.settings.with_overrides({"llm.repetition_penalty": rp, "llm.frequency_penalty": fp})
        generator = AnswerGenerator(view)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(asked)) as pool:
            answers = list(pool.map(lambda q: generator.answer(q, hits[q]), asked))  # noqa: B023
        wall = time.monotonic() - started
        per = []
        for question, answer in zip(asked, answers, strict=True):
            raw = answer.text
            sentences = split_answer_sentences(raw)
            checked = check_answer(raw, hits[question], view.answer.refusal_text)
            per.append({
                "question": question, "text": raw, "distinct_4": distinct_4(raw),
                "repeated_sentences": repeated_sentences(raw),
                "cut": answer.stats.settings.get("finish_reason") == "length",
                "sentences": len(sentences), "cited_sentences": len(sentences) - len(checked.uncited_sentences),
                "completion_tokens": answer.stats.completion_tokens,
            })
        n_sent = sum(p["sentences"] for p in per)
        table.add_row(f"{rp:g}", f"{fp:g}", f"{sum(p['distinct_4'] for p in per) / len(per):.2f}",
                      str(sum(p["repeated_sentences"] for p in per)), f"{sum(p['cut'] for p in per)}/{len(per)}",
                      f"{sum(p['cited_sentences'] for p in per)}/{n_sent}",
                      str(sum(p["completion_tokens"] for p in per)), f"{wall:.0f}")
        results.append({"repetition_penalty": rp, "frequency_penalty": fp, "wall_s": wall, "answers": per})
        console.print(table)
    if out is not None:
        out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    typer.run(main)
