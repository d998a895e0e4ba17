"""How well the results extractor reads abstracts: recall on PwC results, precision and recall on
the hand-made table of the bundled corpus, and extraction speed.

    python -m paperqa.eval.extraction pwc ../shared/eval/pwc-dev/results_in_abstracts.jsonl \\
        --corpus ../shared/data/ml-abstracts/ml_abstracts.jsonl
    python -m paperqa.eval.extraction bundled eval/datasets/bundled_results.jsonl
    python -m paperqa.eval.extraction sample ../shared/data/ml-abstracts/ml_abstracts.jsonl \\
        --exclude ../shared/eval/pwc-dev/results_in_abstracts.jsonl --n 100 --seed 8
    python -m paperqa.eval.extraction sample ../shared/eval/scifact/corpus.jsonl --n 100 --seed 51

A corpus is arXiv-style JSONL (id, title, abstract) or a BEIR corpus.jsonl (_id, title, text).

Matching is on (paper, dataset, value): the value must be equal as a number, and the dataset
names must resolve to the same canonical dataset through the lexicon (PwC writes
"WMT2014 English-German" where the abstract says "WMT 2014 English-to-German"); a name the
lexicon does not know matches when one normalised name contains the other.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..config import Settings, load_config
from ..lexicon import Lexicon, get_lexicon, normalise
from ..models import Paper, ResultRow
from ..results import RuleExtractor, format_value
from ..sources import bundled_corpus_paths, load_papers


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_corpus(path: str | Path, ids: set[str] | None = None) -> dict[str, Paper]:
    """Papers of an arXiv-style JSONL (id, title, abstract) or a BEIR corpus (_id, title, text),
    optionally only ``ids``."""
    papers = {}
    for record in read_jsonl(path):
        pid = str(record.get("id") or record.get("paper_id") or record.get("_id"))
        if ids is None or pid in ids:
            abstract = record.get("abstract") or record.get("text") or ""
            papers[pid] = Paper(paper_id=pid, title=record.get("title", ""), abstract=abstract)
    return papers


def dataset_names(lexicon: Lexicon, name: str) -> set[str]:
    """The canonical datasets a gold name stands for ("LibriSpeech test-clean" -> LibriSpeech)."""
    names = {m.name for m in lexicon.find_datasets(name)}
    resolved = lexicon.resolve_dataset(name)
    if resolved:
        names.add(resolved)
    return names


def same_dataset(lexicon: Lexicon, row: ResultRow, gold: str, gold_names: set[str] | None = None) -> bool:
    gold_names = dataset_names(lexicon, gold) if gold_names is None else gold_names
    if row.dataset in gold_names:
        return True
    a, b = normalise(row.dataset_surface or row.dataset), normalise(gold)
    return bool(a) and bool(b) and (a in b or b in a)


def _as_float(text: str) -> float | None:
    try:
        return float(str(text).replace(",", "").rstrip("%"))
    except ValueError:
        return None


def standalone(value: str, abstract: str) -> bool:
    """True when ``value`` is written in the abstract as a number of its own.

    PwC's file keeps results whose value string occurs anywhere in the abstract: "76" counts when
    the abstract says "76.5% mIoU", "1" when it says "Rank@1". Those cannot be read from the text.
    """
    return bool(re.search(r"(?<![\d.])" + re.escape(value) + r"(?!\.?\d)", abstract))


def score_pwc(gold: Sequence[dict], rows_by_paper: dict[str, list[ResultRow]], lexicon: Lexicon,
              abstracts: dict[str, str] | None = None) -> dict:
    """Recall of (paper, dataset, value) over the PwC results whose value is in the abstract."""
    hits, value_hits, misses = 0, 0, []
    reachable = reachable_hits = 0
    for g in gold:
        value = _as_float(g["value"])
        rows = [r for r in rows_by_paper.get(g["paper_id"], []) if r.value is not None]
        same_value = [r for r in rows if value is not None and r.value is not None and abs(r.value - value) < 1e-9]
        names = dataset_names(lexicon, g["dataset"])
        if same_value:
            value_hits += 1
        found = any(same_dataset(lexicon, r, g["dataset"], names) for r in same_value)
        if found:
            hits += 1
        else:
            misses.append(g)
        if abstracts is not None and value is not None and standalone(str(g["value"]), abstracts.get(g["paper_id"], "")):
            reachable += 1
            reachable_hits += found
    numeric = sum(1 for g in gold if _as_float(g["value"]) is not None)
    return {
        "results": len(gold), "papers": len({g["paper_id"] for g in gold}), "numeric_values": numeric,
        "recall": hits / len(gold) if gold else 0.0, "found": hits,
        "recall_of_numeric": hits / numeric if numeric else 0.0,
        "value_recall": value_hits / len(gold) if gold else 0.0,
        "standalone_values": reachable, "recall_of_standalone": reachable_hits / reachable if reachable else 0.0,
        "misses": misses,
    }


def score_table(gold: Sequence[dict], rows_by_paper: dict[str, list[ResultRow]], lexicon: Lexicon,
                papers: Iterable[str]) -> dict:
    """Precision and recall of (paper, dataset, value[, is_delta]) against a complete hand-made table."""
    paper_ids = set(papers)
    gold_keys = {(g["paper_id"], g["dataset"], float(g["value"])) for g in gold}
    extracted = [r for pid in paper_ids for r in rows_by_paper.get(pid, []) if r.value is not None]
    matched_gold: set[tuple] = set()
    correct = 0
    wrong = []
    for r in extracted:
        match = next((k for k in gold_keys if k[0] == r.paper_id and abs(k[2] - r.value) < 1e-9  # type: ignore[operator]
                      and same_dataset(lexicon, r, k[1])), None)
        if match:
            correct += 1
            matched_gold.add(match)
        else:
            wrong.append(r)
    missed = sorted(gold_keys - matched_gold)
    return {
        "gold_rows": len(gold_keys), "extracted_rows": len(extracted), "correct_rows": correct,
        "precision": correct / len(extracted) if extracted else 0.0,
        "recall": len(matched_gold) / len(gold_keys) if gold_keys else 0.0,
        "wrong": wrong, "missed": missed,
    }


def extract_timed(papers: Sequence[Paper], lexicon: Lexicon,
                  settings: Settings | None = None) -> tuple[dict[str, list[ResultRow]], float]:
    """Rows per paper and seconds; ``settings.results.extractor`` llm / both asks ``settings.llm``'s server."""
    extractor = RuleExtractor(lexicon)
    started = time.perf_counter()
    by_paper: dict[str, list[ResultRow]] = defaultdict(list)
    if settings is not None and settings.results.extractor != "rules":
        from ..results_llm import LLMExtractor

        llm = LLMExtractor(settings, lexicon)
        both = settings.results.extractor == "both"
        rows = llm.merge(extractor.extract_many(papers) if both else [], papers, keep_rules=both)
        for warning in llm.warnings:
            print("warning:", warning, file=sys.stderr)
        for row in rows:
            by_paper[row.paper_id].append(row)
        return by_paper, time.perf_counter() - started
    for paper in papers:
        by_paper[paper.paper_id].extend(extractor.extract(paper))
    return by_paper, time.perf_counter() - started


def _row_line(r: ResultRow) -> str:
    return (f"{r.paper_id} | {r.model or '-'} | {r.dataset} ({r.dataset_surface}) | {r.metric or '-'} | "
            f"{format_value(r)}{' Δ' if r.is_delta else ''} | {', '.join(r.qualifiers)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paperqa.eval.extraction", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    pwc = sub.add_parser("pwc", help="recall of (paper, dataset, value) on results_in_abstracts.jsonl")
    pwc.add_argument("gold")
    pwc.add_argument("--corpus", required=True, help="the JSONL holding the papers' abstracts")
    pwc.add_argument("--show-misses", type=int, default=0)
    bundled = sub.add_parser("bundled", help="precision/recall per split on the hand-made bundled table")
    bundled.add_argument("gold")
    bundled.add_argument("--show", type=int, default=0, help="print up to N wrong and missed rows per split")
    bundled.add_argument("--extractor", choices=["rules", "llm", "both"], default="rules",
                         help="llm / both: the LLM extractor on the server of --config's llm section")
    bundled.add_argument("--config", default=None, help="a paperqa YAML config (e.g. configs/vllm-cpu.yaml)")
    bundled.add_argument("--split", default=None, help="only the papers of this split (tune / heldout)")
    sample = sub.add_parser("sample", help="a random sample of extracted rows to check by hand")
    sample.add_argument("corpus")
    sample.add_argument("--exclude", action="append", default=[],
                        help="JSONL whose paper ids are left out (the PwC dev set; a sample already looked at)")
    sample.add_argument("--n", type=int, default=100)
    sample.add_argument("--seed", type=int, default=8)
    speed = sub.add_parser("speed", help="papers per second of extraction")
    speed.add_argument("corpus")
    speed.add_argument("--limit", type=int, default=0)
    args = parser.parse_args(argv)
    lexicon = get_lexicon()

    if args.command == "pwc":
        gold = read_jsonl(args.gold)
        papers = read_corpus(args.corpus, {g["paper_id"] for g in gold})
        rows, seconds = extract_timed(list(papers.values()), lexicon)
        result = score_pwc(gold, rows, lexicon, {pid: p.abstract for pid, p in papers.items()})
        print(f"PwC results in abstracts: {result['results']} results, {result['papers']} papers "
              f"({len(papers)} found in the corpus)")
        print(f"recall of (paper, dataset, value): {result['recall']:.3f} ({result['found']}/{result['results']}); "
              f"of the {result['numeric_values']} numeric values: {result['recall_of_numeric']:.3f}; "
              f"value alone: {result['value_recall']:.3f}; extraction {len(papers) / seconds:.0f} papers/s")
        print(f"of the {result['standalone_values']} results whose value is written as a number of its own in the "
              f"abstract: {result['recall_of_standalone']:.3f}")
        for g in result["misses"][: args.show_misses]:
            print("MISS", json.dumps(g))
            for r in rows.get(g["paper_id"], []):
                print("     ", _row_line(r))
        return 0

    if args.command == "bundled":
        gold = read_jsonl(args.gold)
        loaded = load_papers(bundled_corpus_paths())
        papers = {p.paper_id: p for p in loaded.papers}
        splits = defaultdict(set)
        for g in gold:
            if args.split is None or g["split"] == args.split:
                splits[g["split"]].add(g["paper_id"])
        chosen = set().union(*splits.values())
        settings = load_config(args.config, overrides={"results.extractor": args.extractor})
        rows, seconds = extract_timed([p for pid, p in papers.items() if pid in chosen], lexicon, settings)
        print(f"extractor {args.extractor}: {len(chosen)} papers in {seconds:.1f} s")
        listed = {g["paper_id"] for g in gold}  # papers without results have one value-less line
        print("| split | papers | gold rows | extracted | precision | recall |")
        print("| --- | --- | --- | --- | --- | --- |")
        for split in sorted(splits):
            ids = splits[split]
            split_gold = [g for g in gold if g["split"] == split and g.get("value") is not None]
            result = score_table(split_gold, rows, lexicon, ids)
            print(f"| {split} | {len(ids)} | {result['gold_rows']} | {result['extracted_rows']} | "
                  f"{result['precision']:.3f} | {result['recall']:.3f} |")
            for r in result["wrong"][: args.show]:
                print("  WRONG ", _row_line(r), "::", r.sentence[:200])
            for k in result["missed"][: args.show]:
                print("  MISSED", k)
        unlisted = set(papers) - listed
        if unlisted:
            print(f"warning: {len(unlisted)} bundled papers are not in the hand table", file=sys.stderr)
        return 0

    if args.command == "sample":
        # a gold file has "paper_id" per line; a checked sample has it under "row"
        exclude = {g.get("paper_id") or g["row"]["paper_id"] for path in args.exclude for g in read_jsonl(path)}
        candidates = [p for pid, p in read_corpus(args.corpus).items() if pid not in exclude]
        sampled, _ = extract_timed(candidates, lexicon)
        valued = [r for pid in sorted(sampled) for r in sampled[pid] if r.value is not None]
        picked = random.Random(args.seed).sample(valued, min(args.n, len(valued)))
        for r in picked:
            print(json.dumps({**r.model_dump(exclude={"citation", "title"}), "display": format_value(r)}))
        return 0

    if args.command == "speed":
        timed = list(read_corpus(args.corpus).values())
        if args.limit:
            timed = timed[: args.limit]
        extracted, seconds = extract_timed(timed, lexicon)
        total = sum(len(v) for v in extracted.values())
        n_valued = sum(1 for v in extracted.values() for r in v if r.value is not None)
        print(f"{len(timed)} papers in {seconds:.2f} s: {len(timed) / seconds:.0f} papers/s; "
              f"{total} rows ({n_valued} with a value, {total - n_valued} dataset mentions without a figure)")
        return 0
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
