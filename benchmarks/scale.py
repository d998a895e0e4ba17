"""Scale benchmark: FAISS flat / HNSW / IVF-PQ and bm25s on synthetic 1M and 5M passage corpora.

Kept apart from the tests: timings are measured here, never asserted. Each (index, size) is built
in its own child process, one at a time, so that its peak RSS is its own and memory is returned to
the machine between builds. Results are appended to ``<out>/scale.jsonl`` as they land (a crashed
or interrupted run keeps what it measured); the table is printed and written as
``<out>/scale.md`` and ``<out>/scale.json`` from that file.

    nice -n 10 python benchmarks/scale.py --sizes 1000000 5000000

Synthetic vectors (why they are realistic): every vector is a real all-MiniLM-L6-v2 passage
embedding of ml_abstracts (read from the prebuilt index, ``--base-index``) plus Gaussian noise drawn
from the covariance of those same real vectors, renormalised. The noise follows the directions in
which real abstracts differ, so the synthetic points stay on the embedding manifold (clusters,
anisotropy, hubness) instead of filling the sphere uniformly as i.i.d. Gaussian vectors would; the
noise scale is set so that a synthetic point keeps cosine ~0.8 to its real parent, which puts
its nearest-neighbour cosines in the range of the real corpus (printed as a check).
Queries are real: the 200 pwc-dev questions embedded with the same model.

Synthetic text for BM25: a passage is a real title plus real sentences resampled from
ml_abstracts abstracts, with the number of sentences drawn from the sentence counts of real
passages (the project's own chunker on a sample of papers). Sentences are tokenised once with
the project's BM25 tokeniser (stemmer + stopwords from the default config), so the vocabulary and
term statistics are those of real abstracts; passages are generated lazily and never all held as
Python lists.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
SHARED = Path("/work/shared") if Path("/work/shared").is_dir() else HERE.parents[1] / "shared"
DEFAULT_ABSTRACTS = SHARED / "data" / "ml-abstracts" / "ml_abstracts.jsonl"
DEFAULT_QUESTIONS = SHARED / "eval" / "pwc-dev" / "aggregate_questions.jsonl"
DEFAULT_BASE = Path("/work/cache/ml-index")
BLOCK = 65_536  # rows generated per deterministic block
K = 10
TARGET_PARENT_COSINE = 0.8

# FAISS index_factory strings, and the search-time knob swept for each (see docs/scale.md).
SPECS = {
    "flat": "Flat",
    "hnsw": "HNSW32",
    "ivfpq": "IVF1024,PQ48",
    # IVF-PQ whose candidates are re-scored from 8-bit scalar-quantised copies of the vectors
    # (384 bytes each): PQ48 alone ranks near-ties poorly (recall@10 ~0.3 at 1M).
    "ivfpq-refine": "IVF1024,PQ48,Refine(SQ8)",
}
SWEEPS = {"hnsw": ("efSearch", [64, 128, 256, 512, 1024]), "ivfpq": ("nprobe", [16, 32, 64, 128]),
          "ivfpq-refine": ("nprobe", [16, 32, 64])}
REFINE_K_FACTOR = 10  # candidates re-scored per result asked for
IVF_TRAIN = 65_536  # 64 per list for 1024 lists (FAISS wants >= 39, uses <= 256)

console = Console()
app = typer.Typer(add_completion=False)


# ----- measurement helpers ---------------------------------------------------------------------


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _du_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _percentiles_ms(samples: list[float]) -> tuple[float, float]:
    arr = np.asarray(samples) * 1000
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


# ----- inputs: real base vectors, real queries, real sentences ----------------------------------


def _live_version(base_index: Path) -> Path:
    return base_index / "versions" / (base_index / "CURRENT").read_text().strip()


def _embed_titles(abstracts: Path, count: int) -> np.ndarray:
    """Fallback base when no prebuilt passage index exists: titles are short, so embedding a few
    thousand takes a minute where the 18.7k passages take a quarter of an hour of both cores."""
    from paperqa.config import load_config
    from paperqa.embedding import Embedder

    titles = [json.loads(line)["title"] for line in abstracts.read_text("utf-8").splitlines() if line.strip()]
    rng = np.random.default_rng(3)
    picked = [titles[int(i)] for i in rng.choice(len(titles), min(count, len(titles)), replace=False)]
    return Embedder(load_config().embedding).embed_texts(picked)


def prepare(work: Path, base_index: Path, abstracts: Path, questions: Path, n_queries: int, vectors: bool,
            base_titles: int = 4000) -> None:
    """Write base.npy, queries.npy, queries.json and the BM25 sentence pool into ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    if vectors and not (work / "base.npy").exists():
        if (base_index / "CURRENT").exists():
            import faiss

            index = faiss.read_index(str(_live_version(base_index) / "faiss.index"))
            base = index.reconstruct_n(0, index.ntotal).astype(np.float32)
            source = f"the passage vectors of {base_index}"
        else:
            base = _embed_titles(abstracts, base_titles)
            source = f"all-MiniLM-L6-v2 embeddings of {len(base):,} random ml_abstracts titles"
        np.save(work / "base.npy", base)
        (work / "base.txt").write_text(source)
        console.print(f"base: {len(base):,} real vectors: {source}")
    if not (work / "queries.npy").exists():
        from paperqa.config import load_config
        from paperqa.embedding import Embedder

        texts = [json.loads(line)["question"] for line in questions.read_text("utf-8").splitlines() if line.strip()]
        texts = texts[:n_queries]
        embedder = Embedder(load_config().embedding)
        np.save(work / "queries.npy", np.stack([embedder.embed_query(t) for t in texts]))
        (work / "queries.json").write_text(json.dumps(texts))
        console.print(f"queries: {len(texts)} pwc-dev questions embedded")
    if not (work / "pool.json").exists():
        _prepare_pool(work, abstracts)


def _prepare_pool(work: Path, abstracts: Path) -> None:
    from paperqa.chunking import chunk_paper, sentence_spans
    from paperqa.config import load_config
    from paperqa.index_store import bm25_tokenize
    from paperqa.sources import load_papers

    settings = load_config()
    papers = load_papers([abstracts], cfg=settings.ingest).papers
    rng = np.random.default_rng(0)
    sentences: list[str] = []
    for paper in papers:
        sentences.extend(paper.abstract[a:b] for a, b in sentence_spans(paper.abstract))
    def chunk_papers_one(paper):
        return chunk_paper(paper, settings.chunking)

    counts: list[int] = []
    for i in rng.choice(len(papers), size=min(1000, len(papers)), replace=False):
        counts.extend(max(1, len(sentence_spans(c.text))) for c in chunk_papers_one(papers[int(i)]))
    titles = [p.title for p in papers]
    # Tokenise every sentence and title once, with one shared vocabulary.
    tokenized = bm25_tokenize(sentences + titles, settings.retrieval)
    ids = [list(map(int, doc)) for doc in tokenized.ids]
    pool = {
        "vocab": tokenized.vocab,
        "sentences": ids[: len(sentences)],
        "titles": ids[len(sentences):],
        "sentences_per_passage": counts,
    }
    (work / "pool.json").write_text(json.dumps(pool))
    console.print(
        f"pool: {len(sentences):,} sentences, {len(titles):,} titles, vocabulary {len(tokenized.vocab):,}, "
        f"mean {np.mean(counts):.2f} sentences per real passage"
    )


# ----- synthetic corpora -----------------------------------------------------------------------


class VectorSource:
    """Deterministic synthetic vectors: row i is the same in every process."""

    def __init__(self, work: Path, seed: int = 0) -> None:
        self.base = np.load(work / "base.npy")
        self.seed = seed
        cov = np.cov(self.base, rowvar=False).astype(np.float64)
        # Scale so that the expected cosine to the parent is TARGET_PARENT_COSINE:
        # |x + s z|^2 ~ 1 + s^2 tr(cov), cosine ~ 1 / sqrt(1 + s^2 tr(cov)).
        scale2 = (1 / TARGET_PARENT_COSINE**2 - 1) / np.trace(cov)
        self.chol = np.linalg.cholesky(cov * scale2 + 1e-9 * np.eye(len(cov))).astype(np.float32)

    @property
    def dim(self) -> int:
        return self.base.shape[1]

    def block(self, b: int) -> np.ndarray:
        rng = np.random.default_rng((self.seed, b))
        parents = rng.integers(0, len(self.base), BLOCK)
        noise = rng.standard_normal((BLOCK, self.dim), dtype=np.float32) @ self.chol.T
        out = self.base[parents] + noise
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def rows(self, start: int, stop: int, step: int = BLOCK):
        """Yield consecutive arrays covering rows [start, stop)."""
        row = start
        while row < stop:
            b, offset = divmod(row, BLOCK)
            take = min(BLOCK - offset, stop - row, step)
            yield self.block(b)[offset : offset + take]
            row += take


class TokenCorpus:
    """N synthetic passages as token-id lists, generated on every iteration (never all in memory).

    bm25s walks its corpus three times (lengths, document frequencies, scores) and accepts any
    object with ``ids`` and ``vocab``; ``ids`` here is this lazy sequence.
    """

    def __init__(self, pool: dict, n: int, seed: int = 1) -> None:
        self.sentences = pool["sentences"]
        self.titles = pool["titles"]
        self.counts = np.asarray(pool["sentences_per_passage"])
        self.n = n
        self.seed = seed

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        for b in range((self.n + BLOCK - 1) // BLOCK):
            size = min(BLOCK, self.n - b * BLOCK)
            rng = np.random.default_rng((self.seed, b))
            titles = rng.integers(0, len(self.titles), size)
            counts = self.counts[rng.integers(0, len(self.counts), size)]
            picks = rng.integers(0, len(self.sentences), int(counts.sum()))
            cursor = 0
            for title, count in zip(titles.tolist(), counts.tolist(), strict=True):
                doc = list(self.titles[title])
                for s in picks[cursor : cursor + count].tolist():
                    doc.extend(self.sentences[s])
                cursor += count
                yield doc


@dataclass
class Tokens:
    ids: TokenCorpus
    vocab: dict


# ----- workers (one child process each) ----------------------------------------------------------


def _search_latency(index, queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    for q in queries[:5]:  # warm-up
        index.search(q[None, :], K)
    ids = np.empty((len(queries), K), dtype=np.int64)
    times = []
    for i, q in enumerate(queries):
        t = time.perf_counter()
        _, found = index.search(q[None, :], K)
        times.append(time.perf_counter() - t)
        ids[i] = found[0]
    return ids, times


class _ExactTopK:
    """Exact inner-product top-k of every query over the corpus, merged block by block as it streams
    past: the ground truth for recall without holding the corpus (a 5M flat index is 7.7 GB)."""

    def __init__(self, queries: np.ndarray) -> None:
        self.queries = queries
        self.scores = np.full((len(queries), K), -np.inf, dtype=np.float32)
        self.ids = np.full((len(queries), K), -1, dtype=np.int64)
        self.seen = 0

    def update(self, block: np.ndarray) -> None:
        sims = self.queries @ block.T
        top = np.argpartition(-sims, K - 1, axis=1)[:, :K]
        scores = np.concatenate([self.scores, np.take_along_axis(sims, top, axis=1)], axis=1)
        ids = np.concatenate([self.ids, top + self.seen], axis=1)
        best = np.argsort(-scores, axis=1, kind="stable")[:, :K]
        self.scores = np.take_along_axis(scores, best, axis=1)
        self.ids = np.take_along_axis(ids, best, axis=1)
        self.seen += len(block)


def _recall_in_100(index, queries: np.ndarray, truth: np.ndarray) -> float:
    """Share of the true top-10 inside the top-100 returned: paperqa's dense retriever fetches
    retrieval.candidates=100 passages for fusion, so this is the recall that reaches the answer."""
    _, found = index.search(queries, 100)
    return float(np.mean([len(set(f[f >= 0]) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[f >= 0]) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


def worker_faiss(kind: str, n: int, work: Path, threads: int) -> dict:
    import faiss

    faiss.omp_set_num_threads(threads)
    source = VectorSource(work)
    queries = np.load(work / "queries.npy")
    rss0 = _status_mb("VmRSS")
    spec = SPECS[kind]
    index = faiss.index_factory(source.dim, spec, faiss.METRIC_INNER_PRODUCT)
    started = time.perf_counter()
    train_s = 0.0
    if not index.is_trained:
        sample = np.concatenate(list(source.rows(0, min(n, IVF_TRAIN))))
        index.train(sample)
        del sample
        train_s = time.perf_counter() - started
    truth_path = work / f"truth-{n}.npy"
    exact = None if truth_path.exists() else _ExactTopK(queries)
    add_s = 0.0
    for chunk in source.rows(0, n):
        t = time.perf_counter()
        index.add(chunk)
        add_s += time.perf_counter() - t
        if exact is not None:
            exact.update(chunk)
    build_s = train_s + add_s  # generating the synthetic vectors and the exact top-k are not build time
    if exact is not None:  # parallel workers may race here: write whole, then rename
        tmp = truth_path.with_suffix(f".{os.getpid()}.npy")
        np.save(tmp, exact.ids)
        os.replace(tmp, truth_path)
    gc.collect()
    rss_built = _status_mb("VmRSS")
    path = work / f"{kind}-{n}.index"
    faiss.write_index(index, str(path))
    disk_mb = _du_mb(path)
    path.unlink()

    faiss.omp_set_num_threads(1)  # one query, one thread: what a server under load gives it
    rows = []
    truth = np.load(truth_path)
    if kind == "flat":
        found, times = _search_latency(index, queries)
        rows.append({"param": None, "value": None, "p50_ms": _percentiles_ms(times)[0],
                     "p95_ms": _percentiles_ms(times)[1], "recall_at_10": _recall(found, truth),
                     "recall_10_in_100": 1.0})
    else:
        name, values = SWEEPS[kind]
        for value in values:
            if kind == "hnsw":
                index.hnsw.efSearch = value
            else:
                faiss.extract_index_ivf(index).nprobe = value
                if kind == "ivfpq-refine":
                    faiss.downcast_index(index).k_factor = REFINE_K_FACTOR
            found, times = _search_latency(index, queries)
            p50, p95 = _percentiles_ms(times)
            rows.append({"param": name, "value": value, "p50_ms": p50, "p95_ms": p95,
                         "recall_at_10": _recall(found, truth),
                         "recall_10_in_100": _recall_in_100(index, queries, truth)})
    extra = {}
    if kind == "flat" and n <= 2_000_000:
        extra = _neighbour_check(source, index)
    del index
    gc.collect()
    return {
        "kind": kind, "spec": spec, "n": n, "dim": source.dim, "build_s": build_s, "train_s": train_s,
        "build_threads": threads, "search_threads": 1, "queries": len(queries),
        "rss_before_mb": rss0, "rss_after_build_mb": rss_built, "index_mb": rss_built - rss0,
        "peak_rss_mb": _status_mb("VmHWM"), "disk_mb": disk_mb, "search": rows, **extra,
    }


def _neighbour_check(source: VectorSource, index) -> dict:
    """Median cosine to the nearest other vector: real corpus vs this synthetic corpus."""
    import faiss

    rng = np.random.default_rng(7)
    real = faiss.IndexFlatIP(source.dim)
    real.add(source.base)
    sample = source.base[rng.choice(len(source.base), min(1000, len(source.base)), replace=False)]
    real_nn = real.search(sample, 2)[0][:, 1]
    synth_ids = rng.choice(index.ntotal, 1000, replace=False)
    synth = np.stack([index.reconstruct(int(i)) for i in synth_ids])
    synth_nn = index.search(synth, 2)[0][:, 1]
    return {"nn_cosine_median_real": float(np.median(real_nn)),
            "nn_cosine_median_synthetic": float(np.median(synth_nn))}


def worker_bm25_build(n: int, work: Path) -> dict:
    import bm25s

    pool = json.loads((work / "pool.json").read_text())
    corpus = TokenCorpus(pool, n)
    vocab = dict(pool["vocab"])
    del pool
    gc.collect()
    rss0 = _status_mb("VmRSS")
    started = time.perf_counter()
    bm25 = bm25s.BM25()
    bm25.index(Tokens(corpus, vocab), show_progress=False)
    build_s = time.perf_counter() - started
    rss_built = _status_mb("VmRSS")
    path = work / f"bm25-{n}"
    bm25.save(str(path), show_progress=False)
    nnz = len(bm25.scores["data"])
    return {"kind": "bm25", "spec": "bm25s (robertson, english stemmer, en stopwords)", "n": n,
            "build_s": build_s, "build_threads": 1, "rss_before_mb": rss0, "rss_after_build_mb": rss_built,
            "index_mb": rss_built - rss0, "peak_rss_mb": _status_mb("VmHWM"), "disk_mb": _du_mb(path),
            "postings": nnz}


def worker_bm25_query(n: int, work: Path) -> dict:
    """Load with mmap=True in a fresh process and search as paperqa's retriever does."""
    import shutil

    import bm25s

    from paperqa.config import load_config
    from paperqa.index_store import bm25_tokenize

    retrieval = load_config().retrieval
    texts = json.loads((work / "queries.json").read_text())
    path = work / f"bm25-{n}"
    rss0 = _status_mb("VmRSS")
    t = time.perf_counter()
    bm25 = bm25s.BM25.load(str(path), mmap=True)
    load_s = time.perf_counter() - t
    rss_loaded = _status_mb("VmRSS")
    tokens = [bm25_tokenize([q], retrieval, return_ids=False)[0] for q in texts]
    times = []
    for i, toks in enumerate(tokens[:5] + tokens):
        t = time.perf_counter()
        scores = bm25.get_scores(toks)  # the call retrieval.Retriever._bm25 makes
        top = np.argpartition(-scores, K)[:K]
        top = top[np.argsort(-scores[top])]
        if i >= 5:
            times.append(time.perf_counter() - t)
    p50, p95 = _percentiles_ms(times)
    result = {"kind": "bm25-query", "n": n, "load_s": load_s, "rss_before_mb": rss0,
              "rss_after_mmap_load_mb": rss_loaded, "rss_after_queries_mb": _status_mb("VmRSS"),
              "peak_rss_mb": _status_mb("VmHWM"), "p50_ms": p50, "p95_ms": p95, "queries": len(times),
              "search_threads": 1}
    shutil.rmtree(path, ignore_errors=True)
    return result


# ----- orchestration ---------------------------------------------------------------------------


def _run_child(args: list[str], out: Path) -> None:
    console.print(f"[bold]{time.strftime('%H:%M:%S')}[/] running {' '.join(args)}")
    proc = subprocess.run([sys.executable, __file__, "worker", *args], check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        console.print(f"[red]failed ({proc.returncode})[/]: {proc.stderr[-2000:]}")
        return
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    record["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                         "load_avg_at_end": os.getloadavg()}
    with open(out / "scale.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    console.print(json.dumps(record)[:600])


@app.command()
def worker(kind: str, n: int, work: Path, threads: int = 1) -> None:
    """(internal) one measurement in this process; prints one JSON line."""
    if kind == "bm25":
        record = worker_bm25_build(n, work)
    elif kind == "bm25-query":
        record = worker_bm25_query(n, work)
    else:
        record = worker_faiss(kind, n, work, threads)
    print(json.dumps(record))


@app.command()
def run(
    sizes: Annotated[list[int], typer.Option(help="corpus sizes in passages")] = [1_000_000, 5_000_000],  # noqa: B006
    kinds: Annotated[list[str], typer.Option(help="flat, hnsw, ivfpq, bm25")] = ["flat", "hnsw", "ivfpq", "bm25"],  # noqa: B006
    work: Annotated[Path, typer.Option(help="scratch folder for base vectors and index files")] = Path(
        "/tmp/paperqa-scale"),
    out: Annotated[Path, typer.Option(help="where scale.jsonl/.json/.md go")] = HERE / "results",
    base_index: Annotated[Path, typer.Option(help="a paperqa index of real passages")] = DEFAULT_BASE,
    abstracts: Path = DEFAULT_ABSTRACTS,
    questions: Path = DEFAULT_QUESTIONS,
    queries: int = 200,
    base_titles: Annotated[int, typer.Option(help="titles to embed when --base-index has no index yet")] = 4000,
    threads: Annotated[int, typer.Option(help="FAISS threads while building; 1 on an oversubscribed machine, "
                                         "where OpenMP barriers spin")] = 1,
) -> None:
    """Build and measure every kind at every size, one child process at a time."""
    out.mkdir(parents=True, exist_ok=True)
    prepare(work, base_index, abstracts, questions, queries, vectors=any(k != "bm25" for k in kinds),
            base_titles=base_titles)
    for n in sizes:
        for kind in kinds:
            if kind == "bm25":
                _run_child(["bm25", str(n), str(work)], out)
                _run_child(["bm25-query", str(n), str(work)], out)
            else:
                _run_child([kind, str(n), str(work), "--threads", str(threads)], out)
    report(out)


@app.command()
def report(out: Annotated[Path, typer.Option()] = HERE / "results") -> None:
    """Print the table and write scale.json / scale.md from scale.jsonl (latest record wins)."""
    records: dict[tuple[str, int], dict] = {}
    for line in (out / "scale.jsonl").read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            records[(r["kind"], r["n"])] = r
    (out / "scale.json").write_text(json.dumps(list(records.values()), indent=2))
    header = ["passages", "index", "build s", "peak RSS MiB", "index MiB (RAM = disk)", "search param",
              "p50 ms", "p95 ms", "recall@10", "top-10 in 100"]
    rows = []
    for (kind, n), r in sorted(records.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if kind == "bm25-query":
            continue
        if kind == "bm25":
            q = records.get(("bm25-query", n), {})
            mmap_rss = q.get("rss_after_queries_mb", float("nan")) - q.get("rss_before_mb", 0)
            rows.append([f"{n:,}", r["spec"], f"{r['build_s']:.0f}", f"{r['peak_rss_mb']:.0f}",
                         f"{r['disk_mb']:.0f} on disk; {mmap_rss:.0f} resident after 200 mmap queries", "-",
                         f"{q.get('p50_ms', float('nan')):.1f}", f"{q.get('p95_ms', float('nan')):.1f}", "-", "-"])
            continue
        for s in r["search"]:
            param = f"{s['param']}={s['value']}" if s["param"] else "exact"
            recall = "-" if s["recall_at_10"] is None else f"{s['recall_at_10']:.3f}"
            in100 = f"{s['recall_10_in_100']:.3f}" if s.get("recall_10_in_100") is not None else "-"
            rows.append([f"{n:,}", r["spec"], f"{r['build_s']:.0f}", f"{r['peak_rss_mb']:.0f}",
                         f"{r['disk_mb']:.0f}", param, f"{s['p50_ms']:.2f}", f"{s['p95_ms']:.2f}", recall, in100])
    table = Table(*header, title="paperqa scale benchmark (384-d, k=10, one query at a time, 1 search thread)")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    md = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    md += ["| " + " | ".join(row) + " |" for row in rows]
    (out / "scale.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    app()
