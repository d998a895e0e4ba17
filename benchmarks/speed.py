"""Speed benchmarks for issue 10: before/after in ONE run, interleaved, so machine load hits both.

Kept apart from the tests: timings are printed as tables (and written as JSON), never asserted.
"before" is the configuration that reproduces the previous behaviour in this code (float32
weights, torch's default threads, sentences encoded at question time), or main's source tree for
the cold start; "after" is the default configuration.

    python benchmarks/speed.py query                    # one question's encoding: bare vs paperqa, threads, dtype
    python benchmarks/speed.py ask                      # extractive answers on the bundled corpus, before/after
    python benchmarks/speed.py ask --before-index /work/cache/ml-index --after-index DIR --corpus ml_abstracts.jsonl
    python benchmarks/speed.py ingest --limit 1000      # ingest vs bare sentence-transformers fp32
    python benchmarks/speed.py cold --before-src /work/main/src --index-dir DIR   # cold `paperqa search`
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ML_ABSTRACTS = SHARED / "data" / "ml-abstracts" / "ml_abstracts.jsonl"
BUNDLED_QA = ROOT / "eval" / "datasets" / "bundled_qa.jsonl"
WORK = Path(tempfile.gettempdir()) / "paperqa-speed"
BEFORE = {"embedding.dtype": "float32", "embedding.query_threads": 0, "embedding.sentence_vectors": "none"}

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()


def _machine() -> str:
    load = os.getloadavg()
    return (f"{platform.machine()} {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
            f"(shared machine: other processes compete for the cores)")


def _pct(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000.0, q)) if samples else float("nan")


def _questions(limit: int) -> list[str]:
    rows = [json.loads(line) for line in BUNDLED_QA.read_text("utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows][:limit]


def _latency_table(title: str, results: dict[str, dict[str, list[float]]], before: str, after: str) -> Table:
    table = Table(title=title)
    for col in ("stage", f"{before} p50 ms", f"{before} p95 ms", f"{after} p50 ms", f"{after} p95 ms", "p50 ratio"):
        table.add_column(col, justify="right" if col != "stage" else "left")
    for stage in results[after]:
        b, a = results[before].get(stage, []), results[after][stage]
        ratio = _pct(b, 50) / _pct(a, 50) if b and _pct(a, 50) > 0 else float("nan")
        table.add_row(stage, f"{_pct(b, 50):.1f}", f"{_pct(b, 95):.1f}", f"{_pct(a, 50):.1f}", f"{_pct(a, 95):.1f}",
                      f"{ratio:.1f}x")
    return table


def _write(out: Path | None, name: str, data: dict[str, Any]) -> None:
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}.json"
    path.write_text(json.dumps(data, indent=2), "utf-8")
    console.print(f"[dim]wrote {path}[/]")


OutOpt = Annotated[Path | None, typer.Option(help="Folder for the JSON results.")]


# ----- one question's encoding -----------------------------------------------------------------


@app.command()
def query(n: int = 100, out: OutOpt = None) -> None:
    """Single-question encoding: bare sentence-transformers vs paperqa's Embedder, threads and dtype."""
    import torch
    from sentence_transformers import SentenceTransformer

    from paperqa.config import load_config
    from paperqa.embedding import Embedder, resolve_model

    questions = _questions(10_000)
    questions = (questions * (n // len(questions) + 1))[:n]
    _, path = resolve_model("default")
    bare = {dt: SentenceTransformer(path, device="cpu", model_kwargs={"dtype": getattr(torch, dt)})
            for dt in ("float32", "bfloat16")}
    before = Embedder(load_config(overrides=BEFORE).embedding).load()
    after = Embedder(load_config().embedding).load()
    default_threads = torch.get_num_threads()

    def bare_encode(dt: str, threads: int):
        def run(q: str) -> None:
            torch.set_num_threads(threads)
            try:
                bare[dt].encode([q], normalize_embeddings=True, show_progress_bar=False)
            finally:
                torch.set_num_threads(default_threads)
        return run

    def paperqa_encode(embedder: Embedder):
        def run(q: str) -> None:
            embedder.clear_cache()
            embedder.embed_query(q)
        return run

    variants = {
        f"bare fp32, {default_threads} threads": bare_encode("float32", default_threads),
        "bare fp32, 1 thread": bare_encode("float32", 1),
        "bare bf16, 1 thread": bare_encode("bfloat16", 1),
        f"paperqa before (fp32, {default_threads} threads)": paperqa_encode(before),
        f"paperqa after ({after.dtype}, {after.cfg.query_threads} thread)": paperqa_encode(after),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():
        fn("warm up")
    for q in questions:  # interleaved: each question through every variant in turn
        for name, fn in variants.items():
            t = time.perf_counter()
            fn(q)
            samples[name].append(time.perf_counter() - t)

    # Under concurrent load: two questions at once, each with 1 thread vs each with 2 threads.
    concurrent = {}
    for threads in (default_threads, 1):
        emb = Embedder(load_config(overrides={"embedding.query_threads": threads}).embedding)
        emb._model = after._model  # same weights; only the thread setting differs
        times: list[float] = []

        def worker(chunk: list[str], emb: Embedder = emb, times: list[float] = times) -> None:
            for q in chunk:
                emb.clear_cache()
                t = time.perf_counter()
                emb.embed_query(q)
                times.append(time.perf_counter() - t)

        half = len(questions) // 2
        workers = [threading.Thread(target=worker, args=(part,)) for part in (questions[:half], questions[half:])]
        started = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        concurrent[f"2 concurrent questions, {threads} torch thread(s) each"] = (times, time.perf_counter() - started)

    table = Table(title=f"One question's encoding (n={n}, interleaved) — {_machine()}")
    for col in ("variant", "p50 ms", "p95 ms", "questions/s"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for name, values in samples.items():
        table.add_row(name, f"{_pct(values, 50):.1f}", f"{_pct(values, 95):.1f}", f"{len(values) / sum(values):.0f}")
    for name, (values, wall) in concurrent.items():
        table.add_row(name, f"{_pct(values, 50):.1f}", f"{_pct(values, 95):.1f}", f"{len(values) / wall:.0f}")
    console.print(table)
    _write(out, "query", {"machine": _machine(), "samples_s": samples,
                          "concurrent_s": {k: v[0] for k, v in concurrent.items()}})


# ----- extractive answers -----------------------------------------------------------------------


def _open(index_dir: Path, overrides: dict[str, Any], corpus: list[Path] | None, embedder=None):
    from paperqa.api import PaperQA

    qa = PaperQA(index_dir=index_dir, overrides={**overrides, "answer.mode": "extractive"}, embedder=embedder,
                 use_index_settings=False)
    if qa._retriever is None:
        if corpus is None:
            from paperqa.sources import bundled_corpus_paths

            corpus = bundled_corpus_paths()
        console.print(f"[dim]building {index_dir} ({overrides or 'defaults'})[/]")
        qa.ingest(corpus)
    return qa


@app.command()
def ask(
    before_index: Annotated[Path | None, typer.Option(help="Index for 'before' (default: built from the corpus).")] = None,
    after_index: Annotated[Path | None, typer.Option(help="Index for 'after' (default: built from the corpus).")] = None,
    corpus: Annotated[list[Path] | None, typer.Option(help="Corpus to build missing indexes from (default: bundled).")] = None,
    work: Annotated[Path, typer.Option(help="Where missing indexes are built.")] = WORK,
    n: int = 65,
    out: OutOpt = None,
) -> None:
    """Warm extractive `ask` and hybrid search latency, before vs after, question by question."""
    label = "-".join(p.stem for p in corpus) if corpus else "bundled"
    before_qa = _open(before_index or work / f"{label}-before", BEFORE, corpus)
    after_qa = _open(after_index or work / f"{label}-after", {}, corpus)
    questions = _questions(n)
    results: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    for qa in (before_qa, after_qa):
        qa.embedder.load()
        qa.ask("warm up the model and the caches")
    for q in questions:
        for name, qa in (("before", before_qa), ("after", after_qa)):
            qa.embedder.clear_cache()
            t = time.perf_counter()
            qa.ask(q)
            results[name].setdefault("extractive ask", []).append(time.perf_counter() - t)
        for name, qa in (("before", before_qa), ("after", after_qa)):
            qa.embedder.clear_cache()
            _, timings = qa.search_timed(q)
            for stage in ("embed_query", "total"):
                results[name].setdefault(f"hybrid search: {stage}", []).append(timings[stage])
    size = f"{len(after_qa.papers):,} papers, {after_qa.retriever.size:,} passages"
    console.print(_latency_table(f"Warm latency on {label} ({size}), {len(questions)} questions, interleaved — "
                                 f"{_machine()}", results, "before", "after"))
    _write(out, f"ask-{label}", {"machine": _machine(), "corpus": label, "size": size, "samples_s": results,
                                 "before": str(before_qa.index_dir), "after": str(after_qa.index_dir)})


# ----- ingest -----------------------------------------------------------------------------------


@app.command()
def ingest(
    data: Path = ML_ABSTRACTS,
    limit: int = 1000,
    variants: Annotated[str, typer.Option(help="Comma-separated: bare-fp32, bare-bf16, before, after, "
                                           "bf16-none, bf16-encoded, fp32-pooled, workers-1, char-sort")]
    = "bare-fp32,before,after",
    out: OutOpt = None,
) -> None:
    """Ingest of the first `limit` papers per configuration, against bare sentence-transformers fp32."""
    import torch
    from sentence_transformers import SentenceTransformer

    from paperqa.api import PaperQA
    from paperqa.config import load_config
    from paperqa.embedding import Embedder, resolve_model
    from paperqa.sources import load_papers

    work = Path(tempfile.mkdtemp(prefix="paperqa-ingest-bench-"))
    subset = work / data.name
    with open(data, encoding="utf-8") as src, open(subset, "w", encoding="utf-8") as dst:
        dst.writelines(line for _, line in zip(range(limit), src, strict=False))
    papers = load_papers([subset], cfg=load_config().ingest).papers
    texts = [f"{p.title}\n{p.abstract}" for p in papers]
    _, path = resolve_model("default")
    configs = {
        "before": BEFORE,
        "after": {},
        "bf16-none": {"embedding.dtype": "bfloat16", "embedding.sentence_vectors": "none"},
        "bf16-encoded": {"embedding.dtype": "bfloat16", "embedding.sentence_vectors": "encoded"},
        "fp32-pooled": {"embedding.dtype": "float32", "embedding.sentence_vectors": "pooled"},
        "workers-1": {"embedding.ingest_workers": 1},
        "char-sort": {},  # batches by character length, as before the token sort (a subclass below)
    }

    class CharSortEmbedder(Embedder):
        def _batch_order(self, texts: list[str]) -> np.ndarray:
            return np.argsort([len(t) for t in texts], kind="stable")

    names = [v.strip() for v in variants.split(",") if v.strip()]
    # One-time costs (importing llama-index, loading the splitter and punkt) are not ingest speed.
    from paperqa.chunking import chunk_papers, sentence_spans

    chunk_papers(papers[:5], load_config().chunking)
    sentence_spans("Warm up. The sentence splitter.")
    embedders: dict[str, Any] = {}
    for name in names:
        if name.startswith("bare-"):
            dt = {"bare-fp32": "float32", "bare-bf16": "bfloat16"}[name]
            embedders[name] = SentenceTransformer(path, device="cpu", model_kwargs={"dtype": getattr(torch, dt)})
            embedders[name].encode(texts[:8], show_progress_bar=False)
        else:
            kind = CharSortEmbedder if name == "char-sort" else Embedder
            embedders[name] = kind(load_config(overrides=configs[name]).embedding).load()
            embedders[name].embed_texts(texts[:8])
    rows = []
    for run, name in enumerate(names):  # one after another on the same texts; rerun to see the spread
        t = time.perf_counter()
        if name.startswith("bare-"):
            embedders[name].encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
            seconds, passages, timings = time.perf_counter() - t, None, {}
        else:
            qa = PaperQA(index_dir=work / f"{run}-{name}", overrides=configs[name], embedder=embedders[name])
            report = qa.ingest([subset])
            seconds, passages, timings = time.perf_counter() - t, report.chunks_added, report.timings_s
        rows.append({"variant": name, "papers": len(papers), "passages": passages, "seconds": seconds,
                     "timings_s": timings})
    base = next((r["seconds"] for r in rows if r["variant"] == "bare-fp32"), None)
    table = Table(title=f"Ingest of the first {len(papers):,} papers of {data.name} — {_machine()}")
    for col in ("variant", "seconds", "papers/s", "passages/s", "vs bare fp32", "embed s", "other s"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for r in rows:
        ratio = f"{base / r['seconds']:.2f}x" if base else "-"
        embed = r["timings_s"].get("embed")
        other = r["seconds"] - embed if embed is not None else None
        table.add_row(r["variant"], f"{r['seconds']:.1f}", f"{r['papers'] / r['seconds']:.1f}",
                      f"{r['passages'] / r['seconds']:.1f}" if r["passages"] else "-", ratio,
                      f"{embed:.1f}" if embed is not None else "-", f"{other:.1f}" if other is not None else "-")
    console.print(table)
    for name, cfg in configs.items():
        if name in names:
            console.print(f"[dim]{name}: {cfg or 'defaults'}[/]")
    _write(out, "ingest", {"machine": _machine(), "rows": rows, "configs": configs})
    shutil.rmtree(work, ignore_errors=True)


# ----- cold start -------------------------------------------------------------------------------


@app.command()
def cold(
    index_dir: Annotated[Path, typer.Option(help="Index to search.")],
    before_src: Annotated[Path, typer.Option(help="Source tree of the previous code (main's src).")] = Path("/work/main/src"),
    runs: int = 5,
    query: str = "Which papers report mIoU on ADE20K?",
    out: OutOpt = None,
) -> None:
    """`paperqa search` from a cold shell (new interpreter each time), previous code vs this code, alternating."""
    after_src = ROOT / "src"
    results: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    for _ in range(runs):
        for mode in ("hybrid", "bm25"):
            for name, src in (("before", before_src), ("after", after_src)):
                env = {**os.environ, "PYTHONPATH": str(src), "HF_HUB_OFFLINE": "1"}
                t = time.perf_counter()
                subprocess.run([sys.executable, "-m", "paperqa", "search", query, "--mode", mode, "--index-dir",
                                str(index_dir)], env=env, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                results[name].setdefault(f"paperqa search --mode {mode}", []).append(time.perf_counter() - t)
    table = Table(title=f"Cold `paperqa search` ({runs} runs each, alternating), index {index_dir} — {_machine()}")
    for col in ("command", "before median s", "after median s", "ratio"):
        table.add_column(col, justify="left" if col == "command" else "right")
    for stage, values in results["after"].items():
        b, a = statistics.median(results["before"][stage]), statistics.median(values)
        table.add_row(stage, f"{b:.2f}", f"{a:.2f}", f"{b / a:.1f}x")
    console.print(table)
    _write(out, "cold", {"machine": _machine(), "samples_s": results, "before_src": str(before_src)})


if __name__ == "__main__":
    app()
