"""Cost of the results table: extraction speed, SQLite write and query latency, ingest overhead.

    python benchmarks/results_bench.py store ../shared/data/ml-abstracts/ml_abstracts.jsonl
    python benchmarks/results_bench.py ingest --repeat 1

``store`` extracts every abstract of the corpus, writes the table as an ingest would, then times
``ResultsTable.query`` for every (dataset, metric) pair reported by at least two papers, with the
names typed as a user would (lower case, so each query also pays for lexicon resolution).
``ingest`` ingests the bundled corpus into fresh folders, alternately with and without the
results table (without = the version written exactly as before this feature), in one process
with one loaded embedding model, and prints both times and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from paperqa.eval.extraction import read_corpus
from paperqa.lexicon import get_lexicon
from paperqa.results import RuleExtractor
from paperqa.results_table import RESULTS_FILE, ResultsTable, write_results


def bench_store(corpus: str) -> None:
    papers = list(read_corpus(corpus).values())
    lexicon = get_lexicon()
    extractor = RuleExtractor(lexicon)
    started = time.perf_counter()
    rows = extractor.extract_many(papers)
    extract_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / RESULTS_FILE
        started = time.perf_counter()
        count = write_results(path, rows)
        write_s = time.perf_counter() - started
        started = time.perf_counter()
        table = ResultsTable.open(path, lexicon, {p.paper_id: p.title for p in papers})
        open_s = time.perf_counter() - started
        pairs = [(d, m) for d, _ in table.datasets() for m, n in table.metrics(d) if n >= 2]
        latencies, returned = [], []
        for dataset, metric in pairs:
            t = time.perf_counter()
            got = table.query(dataset=dataset.lower(), metric=metric.lower())
            latencies.append((time.perf_counter() - t) * 1000)
            returned.append(len(got))
        size_kb = path.stat().st_size / 1024
    latencies.sort()
    print("| corpus | papers | rows (with a figure) | extraction | SQLite write | file | open |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    valued = sum(1 for r in rows if r.value is not None)
    print(f"| {Path(corpus).name} | {len(papers)} | {count} ({valued}) | {extract_s:.1f} s "
          f"({len(papers) / extract_s:.0f} papers/s) | {write_s * 1000:.0f} ms | {size_kb:.0f} KB | {open_s * 1000:.1f} ms |")
    print()
    print(f"query(dataset, metric) over {len(pairs)} pairs reported by >= 2 papers "
          f"(rows returned: median {statistics.median(returned):.0f}, max {max(returned)}):")
    print(f"p50 {latencies[len(latencies) // 2]:.2f} ms, p95 {latencies[int(len(latencies) * 0.95)]:.2f} ms, "
          f"max {latencies[-1]:.2f} ms")


def bench_ingest(repeat: int) -> None:
    from paperqa.api import PaperQA
    from paperqa.config import load_config
    from paperqa.embedding import Embedder
    from paperqa.sources import bundled_corpus_paths

    embedder = Embedder(load_config().embedding).load()
    paths = bundled_corpus_paths()
    times: dict[str, list[float]] = {"with results": [], "without results": []}
    results_s = []
    for run in range(repeat):
        order = ("with results", "without results") if run % 2 == 0 else ("without results", "with results")
        for label in order:  # alternate which goes first: the machine's load drifts
            with tempfile.TemporaryDirectory() as tmp:
                qa = PaperQA(Path(tmp) / "index", embedder=embedder)
                if label == "without results":
                    qa._results_update = lambda store, new: None  # the version as written before
                report = qa.ingest(paths)
                times[label].append(report.timings_s["total"])
                if label == "with results":
                    results_s.append(report.timings_s["results"])
    with_s, without_s = statistics.median(times["with results"]), statistics.median(times["without results"])
    print("| bundled corpus ingest (123 papers) | total (median of runs) | runs |")
    print("| --- | --- | --- |")
    for label, values in times.items():
        print(f"| {label} | {statistics.median(values):.1f} s | {', '.join(f'{v:.1f}' for v in values)} |")
    print(f"\nthroughput ratio (with / without): {without_s / with_s:.3f}; results extraction + table inside the "
          f"'with' ingests: {', '.join(f'{s:.2f}' for s in results_s)} s "
          f"({', '.join(f'{s / w:.1%}' for s, w in zip(results_s, times['with results'], strict=True))} of each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    store = sub.add_parser("store")
    store.add_argument("corpus")
    ingest = sub.add_parser("ingest")
    ingest.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if args.command == "store":
        bench_store(args.corpus)
    else:
        bench_ingest(args.repeat)


if __name__ == "__main__":
    main()
