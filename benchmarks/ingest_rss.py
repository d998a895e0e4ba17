"""Peak RSS of `PaperQA.ingest` at 100k and 300k passages, projected to 1M with the measured slope.

Embedding 100k real passages takes hours on these 2 cores, so the transformer's forward pass is
replaced -- and only it: ``SyntheticEmbedder`` is the real :class:`paperqa.embedding.Embedder`
whose ``_encode_batch`` returns seeded random unit vectors (passages and sentence spans) instead
of running the model. Everything else is the real ingest path: reading the JSONL file, dedupe,
chunking with the real chunker, sentence spans, ``Embedder.embed_passages`` (length sort,
batches), the results extraction, the FAISS build, bm25s, the atomic version write. The hook is the public ``PaperQA(embedder=...)`` argument.

The corpus is synthetic text made of real sentences: each paper is a real ml_abstracts title and
3-6 sentences resampled from real abstracts (about one passage per paper at chunk_size 192).
Each size runs in its own child process; VmHWM (peak resident set) is read from /proc at the end.

    nice -n 10 python benchmarks/ingest_rss.py --sizes 100000 300000
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
SHARED = Path("/work/shared") if Path("/work/shared").is_dir() else HERE.parents[1] / "shared"
DEFAULT_ABSTRACTS = SHARED / "data" / "ml-abstracts" / "ml_abstracts.jsonl"
console = Console()
app = typer.Typer(add_completion=False)


def synthetic_embedder():
    """The real :class:`~paperqa.embedding.Embedder` with its encoder pass replaced by seeded random
    unit vectors: one per passage and one per sentence span, the shapes and dtype the real
    ``_encode_batch`` returns, so length sorting, batching, sentence vectors and the store run as in
    a real ingest."""
    from paperqa.config import load_config
    from paperqa.embedding import Embedder

    rng = np.random.default_rng(0)

    def unit(n: int, dimension: int) -> np.ndarray:
        v = rng.standard_normal((n, dimension), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    class SyntheticEmbedder(Embedder):
        dimension = 384  # no model to ask

        def _encode_batch(self, texts, spans):  # the only override: no transformer forward pass
            sentence_vectors = [unit(len(s), self.dimension) for s in spans] if spans is not None else None
            return unit(len(texts), self.dimension), sentence_vectors

    embedder = SyntheticEmbedder(load_config().embedding)
    embedder.model_id = "synthetic-random-unit-vectors"
    return embedder


def write_corpus(path: Path, n: int, abstracts: Path) -> None:
    records = [json.loads(line) for line in abstracts.read_text("utf-8").splitlines() if line.strip()]
    sentences = [s for r in records for s in re.split(r"(?<=[.!?])\s+", r["abstract"]) if len(s) > 20]
    titles = [r["title"] for r in records]
    rng = np.random.default_rng(0)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            picks = rng.integers(0, len(sentences), int(rng.integers(3, 7)))
            handle.write(json.dumps({
                "id": f"9{i // 100000:03d}.{i % 100000:05d}",
                "title": f"{titles[int(rng.integers(0, len(titles)))]} ({i})",
                "abstract": " ".join(sentences[int(p)] for p in picks),
            }) + "\n")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


@app.command()
def worker(corpus: Path, index_dir: Path, index_type: str = "flat") -> None:
    """(internal) ingest ``corpus`` into ``index_dir`` in this process; prints one JSON line."""
    from paperqa.api import PaperQA

    embedder = synthetic_embedder()
    rss0 = _status_mb("VmRSS")
    started = time.perf_counter()
    qa = PaperQA(index_dir, overrides={"index.type": index_type}, embedder=embedder)
    report = qa.ingest([corpus])
    seconds, after, peak = time.perf_counter() - started, _status_mb("VmRSS"), _status_mb("VmHWM")
    qa.search("neural network", k=1, mode="bm25")  # loads the version for searching (records in memory)
    print(json.dumps({
        "papers": report.added, "passages": report.chunks_added, "seconds": seconds,
        "timings_s": report.timings_s, "rss_before_mb": rss0, "rss_after_mb": after,
        "peak_rss_mb": peak, "index_type": index_type,
        "rss_loaded_mb": _status_mb("VmRSS"), "peak_rss_with_search_mb": _status_mb("VmHWM"),
    }))


@app.command()
def run(
    sizes: Annotated[list[int], typer.Option(help="papers per run")] = [100_000, 300_000],  # noqa: B006
    project_to: int = 1_000_000,
    abstracts: Path = DEFAULT_ABSTRACTS,
    out: Path = HERE / "results" / "ingest_rss.json",
    index_type: str = "flat",
) -> None:
    """Ingest each size in a fresh child process, then project peak RSS linearly to ``project_to``."""
    results = []
    with tempfile.TemporaryDirectory(prefix="paperqa-ingest-rss-") as tmp:
        for n in sizes:
            corpus = Path(tmp) / f"papers-{n}.jsonl"
            write_corpus(corpus, n, abstracts)
            console.print(f"{time.strftime('%H:%M:%S')} ingesting {n:,} papers ({corpus.stat().st_size / 2**20:.0f} MiB)")
            proc = subprocess.run(
                [sys.executable, __file__, "worker", str(corpus), str(Path(tmp) / f"index-{n}"),
                 "--index-type", index_type],
                check=False, capture_output=True, text=True,
            )
            if proc.returncode != 0:
                console.print(f"[red]failed[/]: {proc.stderr[-3000:]}")
                raise typer.Exit(1)
            record = json.loads(proc.stdout.strip().splitlines()[-1])
            record["input_mb"] = corpus.stat().st_size / 2**20
            results.append(record)
            console.print(record)
            corpus.unlink()
    summary: dict = {"runs": results, "python": sys.executable, "pythonpath": os.environ.get("PYTHONPATH")}
    if len(results) >= 2:
        a, b = results[0], results[-1]
        slope = (b["peak_rss_mb"] - a["peak_rss_mb"]) / (b["passages"] - a["passages"])
        summary["slope_mb_per_100k_passages"] = slope * 100_000
        summary["projected_peak_rss_mb"] = {project_to: b["peak_rss_mb"] + slope * (project_to - b["passages"])}
        console.print(f"slope {slope * 100_000:.0f} MiB per 100k passages; projected peak at {project_to:,}: "
                      f"{summary['projected_peak_rss_mb'][project_to]:.0f} MiB")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    app()
