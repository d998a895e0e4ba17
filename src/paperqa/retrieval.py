"""Dense (FAISS), keyword (BM25) and hybrid search over one index version, as composable parts.

- :class:`DenseRetriever` ranks passages by FAISS inner product (GPU placement and over-fetch);
- :class:`BM25Retriever` ranks them by BM25 (tokens from :mod:`paperqa.tokenization`);
- :func:`fuse` is a pure function of their two rankings (weighted RRF or relative-score fusion),
  like pyserini's ``HybridSearcher``;
- :class:`Retriever` composes them over one loaded index version and returns a
  :class:`SearchResult` carrying the hits and the seconds each stage took.

Fusion is done here rather than with llama-index's QueryFusionRetriever because paperqa needs
each hit's rank in each retriever (shown in the UI and used by evaluation), per-retriever
weights (dense retrieval nearly fails on "which papers report METRIC on DATASET" questions, so
equal-weight fusion falls below BM25 alone there), and metadata filters applied inside each
retriever so that filtering never empties a result list.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import bm25s
import faiss
import numpy as np
from pydantic import BaseModel, Field

from .config import IndexConfig, RetrievalConfig, Settings
from .embedding import Embedder
from .errors import ConfigError, QuestionError
from .index_store import IndexStore
from .models import Chunk, Hit, Paper
from .tokenization import tokenize_query

MODES = ("hybrid", "dense", "bm25")


class SearchFilters(BaseModel):
    """Metadata constraints; a paper with no year never matches a year range."""

    year_min: int | None = None
    year_max: int | None = None
    sources: list[str] = Field(default_factory=list, description="source file names (any of)")
    title_contains: str | None = None

    def is_empty(self) -> bool:
        return self.year_min is None and self.year_max is None and not self.sources and not self.title_contains

    def matches(self, paper: Paper) -> bool:
        if self.year_min is not None or self.year_max is not None:
            if paper.year is None:
                return False
            if self.year_min is not None and paper.year < self.year_min:
                return False
            if self.year_max is not None and paper.year > self.year_max:
                return False
        if self.sources and not set(self.sources) & set(paper.sources):
            return False
        return not self.title_contains or self.title_contains.casefold() in paper.title.casefold()


@dataclass(frozen=True)
class Ranked:
    """One retriever's result: chunk rows (FAISS ids) best first, with their scores."""

    rows: np.ndarray
    scores: np.ndarray

    @staticmethod
    def empty() -> Ranked:
        return Ranked(np.empty(0, np.int64), np.empty(0, np.float32))

    def __len__(self) -> int:
        return len(self.rows)

    def positions(self) -> dict[int, tuple[int, float]]:
        """row -> (1-based rank, score)."""
        return {int(row): (i + 1, float(score)) for i, (row, score) in enumerate(zip(self.rows, self.scores, strict=True))}


@dataclass
class SearchResult:
    """Hits best first, with the seconds each stage took (``embed_query``, ``dense``, ``bm25``,
    ``fuse``, ``total``; only the stages that ran)."""

    hits: list[Hit]
    timings: dict[str, float] = field(default_factory=dict)


def place_for_search(index: faiss.Index, cfg: IndexConfig) -> faiss.Index:
    """The same index on the GPU when the FAISS GPU build sees one (one code path for both)."""
    gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    if cfg.device == "gpu" and gpus == 0:
        raise ConfigError(
            "index.device is 'gpu' but FAISS sees no GPU: install the GPU build (pip install -e '.[gpu]', "
            "without faiss-cpu) on a CUDA host, or set index.device to auto or cpu"
        )
    # FAISS has no GPU HNSW and no GPU IndexRefine; the index itself says what it is (index.type may be auto).
    if cfg.device != "cpu" and gpus > 0 and not isinstance(index, (faiss.IndexHNSW, faiss.IndexRefine)):
        return faiss.index_cpu_to_all_gpus(index)
    return index


@contextmanager
def _omp_threads(count: int) -> Iterator[None]:
    """FAISS's OpenMP threads for this thread's searches (0: leave as is). OpenMP keeps the setting per
    thread, so concurrent searches and an ingest elsewhere in the process are not affected."""
    if count <= 0:
        yield
        return
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


class DenseRetriever:
    """Top rows by inner product of normalised vectors; ``allowed`` rows only when filtered."""

    def __init__(self, vectors: faiss.Index, cfg: IndexConfig) -> None:
        self.cfg = cfg
        self.size = int(vectors.ntotal)
        # What was built, not index.type (which may be auto): HNSW, an IVF family (ivf, ivfpq) or flat.
        self.is_hnsw = isinstance(vectors, faiss.IndexHNSW)
        self.is_ivf = faiss.try_extract_index_ivf(vectors) is not None
        self.is_refine = isinstance(vectors, faiss.IndexRefine)  # ivfpq with ivfpq_refine
        self.index = place_for_search(vectors, cfg)
        self.on_gpu = self.index is not vectors

    def search(self, vector: np.ndarray, depth: int, allowed: np.ndarray | None = None) -> Ranked:
        if self.size == 0 or (allowed is not None and len(allowed) == 0):
            return Ranked.empty()
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        if allowed is not None and self.on_gpu:
            return self._overfetch(query, depth, allowed)
        with _omp_threads(self.cfg.search_threads):
            scores, rows = self.index.search(query, min(depth, self.size), params=self._search_params(allowed))
        keep = rows[0] >= 0
        return Ranked(rows[0][keep], scores[0][keep])

    def _search_params(self, allowed: np.ndarray | None) -> faiss.SearchParameters | None:
        """Approximate-search knobs from config, and an IDSelector so filters never starve k."""
        selector = faiss.IDSelectorBatch(allowed) if allowed is not None else None
        if self.is_hnsw:
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # in FAISS, not its stubs
            params.efSearch = self.cfg.hnsw_ef_search
        elif self.is_ivf:
            params = faiss.SearchParametersIVF()
            params.nprobe = self.cfg.ivf_nprobe
            if self.is_refine:  # the IVF-PQ inside picks candidates (and applies the filter); the refine re-scores
                if selector is not None:
                    params.sel = selector
                refine = faiss.IndexRefineSearchParameters()
                refine.k_factor = self.cfg.refine_k_factor
                refine.base_index_params = params
                return refine
        elif selector is None:
            return None
        else:
            params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector
        return params

    def _overfetch(self, query: np.ndarray, depth: int, allowed: np.ndarray) -> Ranked:
        """GPU indexes take no IDSelector: widen the search until enough allowed rows come back."""
        allowed_set = np.zeros(self.size, dtype=bool)
        allowed_set[allowed] = True
        fetch = min(self.size, depth * 10)
        while True:
            scores, rows = self.index.search(query, fetch, params=None)
            keep = (rows[0] >= 0) & allowed_set[np.clip(rows[0], 0, None)]
            if keep.sum() >= min(depth, len(allowed)) or fetch >= self.size:
                return Ranked(rows[0][keep][:depth], scores[0][keep][:depth])
            fetch = min(self.size, fetch * 4)


class BM25Retriever:
    """Top rows by BM25 over the index's bm25s model; a passage sharing no query term never matches."""

    def __init__(self, bm25: bm25s.BM25, cfg: RetrievalConfig, size: int) -> None:
        self.bm25 = bm25
        self.cfg = cfg
        self.size = size  # passages indexed

    def search(self, query: str, depth: int, allowed: np.ndarray | None = None) -> Ranked:
        tokens = tokenize_query(query, self.cfg)
        if not tokens or self.size == 0:
            return Ranked.empty()
        scores = self.bm25.get_scores(tokens)
        if allowed is not None:
            masked = np.full_like(scores, -np.inf)
            masked[allowed] = scores[allowed]
            scores = masked
        depth = min(depth, len(scores))
        top = np.argpartition(-scores, depth - 1)[:depth]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]  # a passage sharing no query term is no keyword match
        return Ranked(top.astype(np.int64), scores[top].astype(np.float32))

    def term_weights(self, tokens: list[str]) -> np.ndarray:
        """BM25 IDF of each (already tokenised) term: rare terms like "ADE20K" weigh far more than
        "which" or "report". Terms the index has never seen get the highest weight."""
        vocab = self.bm25.vocab_dict
        indptr = self.bm25.scores["indptr"]
        n = self.bm25.scores["num_docs"]
        df = np.array([indptr[vocab[t] + 1] - indptr[vocab[t]] if t in vocab else 0 for t in tokens], dtype=np.float64)
        return np.log1p((n - df + 0.5) / (df + 0.5))


def fuse(
    rankings: dict[str, Ranked], weights: dict[str, float], k: int,
    method: Literal["rrf", "relative_score"] = "rrf", rrf_k: int = 60,
) -> Ranked:
    """The top ``k`` of several rankings fused into one; ties broken by row, so the result is
    deterministic. A single ranking is simply cut to ``k``."""
    if len(rankings) == 1:
        (only,) = rankings.values()
        return Ranked(only.rows[:k], only.scores[:k])
    fused = rrf(rankings, weights, rrf_k) if method == "rrf" else relative_score(rankings, weights)
    ordered = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
    return Ranked(np.array([row for row, _ in ordered], dtype=np.int64),
                  np.array([score for _, score in ordered], dtype=np.float32))


def rrf(rankings: dict[str, Ranked], weights: dict[str, float], rrf_k: int) -> dict[int, float]:
    """Weighted reciprocal rank fusion: sum over retrievers of weight / (rrf_k + rank)."""
    fused: dict[int, float] = {}
    for name, ranked in rankings.items():
        for rank, row in enumerate(ranked.rows.tolist(), start=1):
            fused[row] = fused.get(row, 0.0) + weights[name] / (rrf_k + rank)
    return fused


def relative_score(rankings: dict[str, Ranked], weights: dict[str, float]) -> dict[int, float]:
    """Min-max normalise each retriever's scores, then a weighted sum: keeps score gaps that RRF loses."""
    fused: dict[int, float] = {}
    total = sum(weights[name] for name in rankings) or 1.0
    for name, ranked in rankings.items():
        if len(ranked.scores) == 0:
            continue
        low, high = float(ranked.scores.min()), float(ranked.scores.max())
        spread = high - low
        for row, score in zip(ranked.rows.tolist(), ranked.scores.tolist(), strict=True):
            normalised = (score - low) / spread if spread > 0 else 1.0
            fused[row] = fused.get(row, 0.0) + weights[name] * normalised / total
    return fused


# Passages fetched per wanted paper when search returns distinct papers (abstracts of the corpora
# measured here split into 1-3 passages; fusion then keeps each paper's best).
PASSAGES_PER_PAPER = 3

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9+\-]*")
_STOP_TEXT = ("which what who how papers paper models model methods method report reports reported "
              "the a an of on in for and or to with by is are do does that")
_STOP = frozenset(_STOP_TEXT.split())


def names_share(query: str) -> float:
    """Share of the question's content words that look like names: ADE20K, mIoU, COCO, ImageNet, F1.

    A name has a digit, or a capital letter after its first character; dense embeddings of such
    tokens carry little of their identity, which is why names-heavy questions lean on BM25.
    """
    words = [w for w in _WORD.findall(query) if w.casefold() not in _STOP]
    if not words:
        return 0.0
    names = sum(any(c.isdigit() for c in w) or any(c.isupper() for c in w[1:]) for w in words)
    return names / len(words)


def fusion_weights(query: str, cfg: RetrievalConfig) -> dict[str, float]:
    """The configured weights, with BM25's raised by ``names_bm25_boost`` times the names share."""
    boost = 1.0 + cfg.names_bm25_boost * names_share(query) if cfg.names_bm25_boost else 1.0
    return {"dense": cfg.dense_weight, "bm25": cfg.bm25_weight * boost, "table": cfg.table_weight}


class Retriever:
    """Hybrid search over one loaded index version: filter, dense and/or BM25, fuse, build hits.
    Cheap to build, so each version gets its own."""

    def __init__(self, store: IndexStore, embedder: Embedder, settings: Settings) -> None:
        self.store = store.with_bm25(settings.retrieval, settings.chunking)
        self.embedder = embedder
        self.settings = settings
        self.dense = DenseRetriever(self.store.vectors, settings.index)
        resident = self.store.resident  # searches read records in memory, not from the files
        self.papers = resident.papers
        self.chunks = resident.chunks
        self.chunk_rows = resident.chunk_rows
        self._rows_of_paper = resident.rows_of_paper
        self._chunk_paper = resident.chunk_paper
        self.bm25 = BM25Retriever(self.store.bm25, settings.retrieval, len(self.chunks))

    @property
    def size(self) -> int:
        return len(self.chunks)

    def search(
        self, query: str, k: int | None = None, mode: str | None = None, filters: SearchFilters | None = None,
        query_vector: np.ndarray | None = None, distinct_papers: bool | None = None,
    ) -> list[Hit]:
        """Top-k passages (see :meth:`retrieve` for the timings too)."""
        return self.retrieve(query, k, mode, filters, query_vector, distinct_papers).hits

    def retrieve(
        self, query: str, k: int | None = None, mode: str | None = None, filters: SearchFilters | None = None,
        query_vector: np.ndarray | None = None, distinct_papers: bool | None = None,
        table_chunks: Sequence[str] | None = None,
    ) -> SearchResult:
        """Top-k passages and the seconds per stage; ``query_vector`` skips embedding the query.

        With ``distinct_papers`` (default ``retrieval.distinct_papers``), the best passage of each of
        the top-k papers instead of the top-k passages (which may come from fewer papers).
        ``table_chunks``: chunk ids ranked by the results table (a cross-paper question's answer,
        one cited passage per paper), fused as a third ranking with ``retrieval.table_weight``.
        """
        cfg = self.settings.retrieval
        k = k or cfg.k
        mode = mode or cfg.mode
        if mode not in MODES:
            raise QuestionError(f"retrieval mode must be one of {', '.join(MODES)}, not {mode!r}")
        if k < 1:
            raise QuestionError(f"k must be at least 1, not {k}")
        distinct = cfg.distinct_papers if distinct_papers is None else distinct_papers
        timings: dict[str, float] = {}
        start = time.perf_counter()
        allowed = self.allowed_rows(filters)
        # A paper has several passages: look deeper so that k distinct papers survive deduplication.
        depth = max(k * (PASSAGES_PER_PAPER if distinct else 1), cfg.candidates)
        rankings: dict[str, Ranked] = {}
        if mode in ("dense", "hybrid"):
            t = time.perf_counter()
            vector = query_vector if query_vector is not None else self.embedder.embed_query(query)
            timings["embed_query"] = time.perf_counter() - t
            t = time.perf_counter()
            rankings["dense"] = self.dense.search(vector, depth, allowed)
            timings["dense"] = time.perf_counter() - t
        if mode in ("bm25", "hybrid"):
            t = time.perf_counter()
            rankings["bm25"] = self.bm25.search(query, depth, allowed)
            timings["bm25"] = time.perf_counter() - t
        if table_chunks and cfg.table_weight > 0 and mode == "hybrid":
            rows = [self.chunk_rows[c] for c in dict.fromkeys(table_chunks) if c in self.chunk_rows]
            if allowed is not None:
                permitted = set(allowed.tolist())
                rows = [r for r in rows if r in permitted]
            rankings["table"] = Ranked(np.asarray(rows, dtype=np.int64),
                                       np.linspace(1.0, 0.5, num=len(rows), dtype=np.float32))
        t = time.perf_counter()
        fused = fuse(rankings, fusion_weights(query, cfg), depth if distinct else k, cfg.fusion, cfg.rrf_k)
        hits = self._hits(fused, rankings)
        if distinct:
            hits = [hit.model_copy(update={"rank": rank}) for rank, hit in enumerate(dedupe_by_paper(hits)[:k], 1)]
        timings["fuse"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - start
        return SearchResult(hits, timings)

    def term_weights(self, tokens: list[str]) -> np.ndarray:
        return self.bm25.term_weights(tokens)

    def chunks_of_paper(self, paper_id: str) -> list[Chunk]:
        """The passages of one paper, in order (a results-table row is cited inside one of them)."""
        return [self.chunks[row] for row in self._rows_of_paper.get(paper_id, [])]

    def with_sibling_passages(self, hits: list[Hit]) -> list[Hit]:
        """The hits plus the other passages of the same papers, each ranked with its paper's best hit.

        An abstract's figure often sits in a different passage than the one that matched the
        question's wording; quoting from the whole abstract finds it.
        """
        present = {hit.chunk.chunk_id for hit in hits}
        expanded = list(hits)
        for hit in dedupe_by_paper(hits):
            for row in self._rows_of_paper.get(hit.paper_id, []):
                chunk = self.chunks[row]
                if chunk.chunk_id not in present:
                    present.add(chunk.chunk_id)
                    expanded.append(hit.model_copy(update={"chunk": chunk, "dense_rank": None, "bm25_rank": None,
                                                           "dense_score": None, "bm25_score": None}))
        return expanded

    def allowed_rows(self, filters: SearchFilters | None) -> np.ndarray | None:
        """Rows whose paper passes the filters; None when nothing is filtered."""
        if filters is None or filters.is_empty():
            return None
        paper_ok = np.fromiter((filters.matches(p) for p in self.papers.values()), dtype=bool, count=len(self.papers))
        return np.flatnonzero(paper_ok[self._chunk_paper])

    def _hits(self, fused: Ranked, rankings: dict[str, Ranked]) -> list[Hit]:
        dense_pos = rankings["dense"].positions() if "dense" in rankings else {}
        bm25_pos = rankings["bm25"].positions() if "bm25" in rankings else {}
        hits = []
        for rank, (row, score) in enumerate(zip(fused.rows.tolist(), fused.scores.tolist(), strict=True), start=1):
            chunk = self.chunks[row]
            d = dense_pos.get(row)
            b = bm25_pos.get(row)
            hits.append(
                Hit(
                    chunk=chunk,
                    paper=self.papers[chunk.paper_id],
                    score=float(score),
                    rank=rank,
                    dense_rank=d[0] if d else None,
                    dense_score=d[1] if d else None,
                    bm25_rank=b[0] if b else None,
                    bm25_score=b[1] if b else None,
                )
            )
        return hits


def dedupe_by_paper(hits: Sequence[Hit]) -> list[Hit]:
    """Best passage per paper, in rank order (document-level views and metrics)."""
    seen: set[str] = set()
    unique = []
    for hit in hits:
        if hit.paper_id not in seen:
            seen.add(hit.paper_id)
            unique.append(hit)
    return unique
