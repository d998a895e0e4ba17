"""The index on disk: FAISS vectors, a BM25 index, the papers, the chunks and a manifest.

Layout of an index folder::

    CURRENT              name of the live version (replaced atomically)
    versions/v000007/    manifest.json papers.jsonl chunks.jsonl faiss.index bm25/ results.sqlite
    .lock                held by a writer so two ingests never interleave

A version folder is never modified once CURRENT names it. An ingest writes a complete new
version beside the old one, then swaps CURRENT with ``os.replace``; an ingest killed at any
moment therefore leaves the previous version intact and loadable, and at worst an orphan folder
that the next ingest removes.
"""

from __future__ import annotations

import array
import fcntl
import hashlib
import itertools
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar, overload

import bm25s
import faiss
import numpy as np
from pydantic import BaseModel, ConfigDict

from .chunking import indexed_text
from .config import ChunkingConfig, IndexConfig, RetrievalConfig, Settings
from .errors import IndexCorruptError, IndexFormatError, IndexMismatchError, IndexTypeError, PaperQAError
from .models import Chunk, IndexInfo, Paper, ResultRow
from .records import JsonlRecords, PaperRecords, chunk_records
from .results_table import RESULTS_FILE, count_results, write_results
from .tokenization import bm25_tokenize

FORMAT_VERSION = 1
# Vectors handed to an index: one array, or an iterable of arrays (batches, in chunk order).
Vectors = np.ndarray | Iterable[np.ndarray]
_BATCH = 65_536  # rows reconstructed at a time when auto rebuilds an index as a bigger type
_CURRENT = "CURRENT"
_VERSIONS = "versions"
_BM25_SLICE = 20_000  # texts tokenised at a time
T = TypeVar("T")


class IndexPointerError(IndexCorruptError):
    """Version folders exist but ``CURRENT`` is missing or names none of them.

    paperqa refuses such a folder instead of guessing: starting a new index there would prune the
    old versions, the only copy of their papers. The message lists the versions and how to recover.
    """


class IndexLocationError(PaperQAError):
    """The index path cannot hold an index (it is a file, say)."""


class IndexWriteError(PaperQAError, OSError):
    """The operating system refused a write (read-only folder, full disk); the live version is unchanged.

    Still an ``OSError`` for callers that caught the raw error before it was wrapped.
    """

    exit_code = 1


def _write_error(root: Path, exc: OSError) -> IndexWriteError:
    where = f" ({exc.filename})" if exc.filename else ""
    return IndexWriteError(f"cannot write the index at {root}: {exc.strerror or exc}{where}; "
                           "the index is unchanged")


class IndexIdentity(BaseModel):
    """What decides whether vectors and chunks can share one index: the one definition used by the
    manifest (which stores it), the compatibility check on open, and every cache key
    (:func:`index_cache_key`: the bundled corpus's folder, the eval harness's index pool)."""

    model_config = ConfigDict(frozen=True)

    format_version: int = FORMAT_VERSION
    embedding_model: str
    text_prefix: str = ""  # part of every passage vector (absent from format-1 manifests: "")
    chunk_size: int
    chunk_overlap: int
    title_in_chunk: bool
    index_type: str

    @classmethod
    def of(cls, settings: Settings, embedding_model: str, index_type: str | None = None) -> IndexIdentity:
        """``index_type``: the concrete type built, when it differs from ``index.type`` (auto)."""
        c = settings.chunking
        return cls(embedding_model=embedding_model, text_prefix=settings.embedding.text_prefix,
                   chunk_size=c.chunk_size, chunk_overlap=c.chunk_overlap, title_in_chunk=c.title_in_chunk,
                   index_type=index_type or settings.index.type)

    def identity(self) -> IndexIdentity:
        """Just the identity (a :class:`Manifest` is one plus counts and dates)."""
        return IndexIdentity.model_validate({f: getattr(self, f) for f in IndexIdentity.model_fields})

    def differences(self, wanted: IndexIdentity) -> list[str]:
        """Each field where ``wanted`` (the config's identity) differs from this one, worded for a user."""
        mine, theirs = self.identity(), wanted.identity()
        return [f"{name.replace('_', ' ')} {getattr(mine, name)!r} (config: {getattr(theirs, name)!r})"
                for name in IndexIdentity.model_fields if getattr(mine, name) != getattr(theirs, name)]

    def settings_overrides(self) -> dict[str, object]:
        """Config overrides that make a Settings object agree with this identity."""
        return {
            "embedding.model": self.embedding_model,
            "embedding.text_prefix": self.text_prefix,
            "chunking.chunk_size": self.chunk_size,
            "chunking.chunk_overlap": self.chunk_overlap,
            "chunking.title_in_chunk": self.title_in_chunk,
            "index.type": self.index_type,
        }


def _paperqa_version() -> str:
    from . import __version__  # looked up on first use (see paperqa/__init__.py)

    return __version__


def index_cache_key(settings: Settings, embedding_model: str, **content: object) -> str:
    """A short hash naming an index built from these settings and this ``content`` (the corpus):
    its identity, plus what changes the content without changing compatibility (the index's build
    parameters, the model's input length, the ingest filters, paperqa's version)."""
    data = {
        "identity": IndexIdentity.of(settings, embedding_model).model_dump(mode="json"),
        "build": {"hnsw_m": settings.index.hnsw_m, "ivf_nlist": settings.index.ivf_nlist,
                  "ivfpq_nlist": settings.index.ivfpq_nlist, "ivfpq_m": settings.index.ivfpq_m,
                  "ivfpq_refine": settings.index.ivfpq_refine,
                  "auto_hnsw_from": settings.index.auto_hnsw_from, "auto_ivfpq_from": settings.index.auto_ivfpq_from,
                  "max_length": settings.embedding.max_length,
                  # Interchangeable but not identical vectors: an eval comparing dtypes or sentence
                  # vector modes must build one index each, not share the first one built.
                  "dtype": settings.embedding.dtype, "sentence_vectors": settings.embedding.sentence_vectors},
        "ingest": settings.ingest.model_dump(mode="json"),
        "paperqa_version": _paperqa_version(),
        "content": content,
    }
    return hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]


class Manifest(IndexIdentity):
    """``manifest.json`` of a version: its identity, plus what it holds and when it was written."""

    model_config = ConfigDict(frozen=False)

    paperqa_version: str
    dimension: int
    bm25_stemmer: str | None
    bm25_stopwords: str | None
    papers: int
    chunks: int
    created_at: str
    updated_at: str
    # For information only: vectors of every dtype are interchangeable, so none is refused.
    embedding_dtype: str | None = None
    # How the stored sentence vectors were made (pooled | encoded); "none": none stored.
    sentence_vectors: str = "none"


_SENTENCE_FILES = ("sentence_offsets.npy", "sentence_spans.npy", "sentence_vectors.npy")


@dataclass(frozen=True)
class SentenceVectors:
    """One vector per sentence of every chunk, for extractive answers without a second encoder pass.

    Chunk ``i``'s sentences are rows ``offsets[i]:offsets[i + 1]``; ``spans`` are character spans
    in ``chunk.text``. Vectors are stored as float16 (normalised, so half precision changes a
    cosine by ~1e-3); a NaN row is a sentence the model never read (cut by ``max_length``).
    """

    offsets: np.ndarray
    spans: np.ndarray
    vectors: np.ndarray
    spill: Path | None = None  # a file of ours holding exactly ``vectors``: save() moves it, never copies

    @classmethod
    def layout(cls, spans: Iterable[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, np.ndarray]:
        """``(offsets, flat spans)`` of chunks' sentence spans, as compact arrays."""
        counts, flat = array.array("q", [0]), array.array("i")  # 8 and 4 bytes an item, not a Python tuple per span
        for chunk_spans in spans:
            counts.append(len(chunk_spans))
            for start, end in chunk_spans:
                flat.extend((start, end))
        return np.cumsum(np.frombuffer(counts, dtype=np.int64)), np.frombuffer(flat, dtype=np.int32).reshape(-1, 2)

    @classmethod
    def from_flat(cls, spans: list[list[tuple[int, int]]], vectors: np.ndarray) -> SentenceVectors:
        """From one array with every chunk's sentence rows in chunk order (no per-chunk copies)."""
        offsets, flat_spans = cls.layout(spans)
        if int(offsets[-1]) != len(vectors):
            raise ValueError(f"{len(vectors)} sentence vectors for {int(offsets[-1])} sentence spans")
        return cls(offsets, flat_spans, np.asarray(vectors, dtype=np.float16))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def of_chunk(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """``(spans, vectors)`` of the chunk at ``row``."""
        start, end = int(self.offsets[row]), int(self.offsets[row + 1])
        return self.spans[start:end], self.vectors[start:end]

    def concat(self, other: SentenceVectors, folder: Path | None = None) -> SentenceVectors:
        """Both sets of rows; with ``folder``, written there file to file (no row is held in memory)."""
        offsets = np.concatenate([self.offsets, other.offsets[1:] + self.offsets[-1]])
        spans = np.concatenate([self.spans, other.spans])
        if folder is None:
            return SentenceVectors(offsets, spans, np.concatenate([self.vectors, other.vectors]))
        spill = SentenceSpill(folder / f"merged-{uuid.uuid4().hex}.npy", offsets, spans, self.vectors.shape[1])
        for part in (self, other):
            spill.copy_rows(part.vectors)
        return spill.finish()

    def save(self, folder: Path) -> None:
        for name, values in zip(_SENTENCE_FILES[:2], (self.offsets, self.spans), strict=True):
            np.save(folder / name, values, allow_pickle=False)
        if self.spill is not None and self.spill.is_file():
            os.replace(self.spill, folder / _SENTENCE_FILES[2])  # the memory map keeps the same file
        else:
            np.save(folder / _SENTENCE_FILES[2], self.vectors, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> SentenceVectors | None:
        """Memory-mapped: opening is instant, and the pages stay readable if a later ingest prunes the folder."""
        if not (folder / _SENTENCE_FILES[0]).is_file():
            return None
        arrays = [np.load(folder / name, mmap_mode="r", allow_pickle=False) for name in _SENTENCE_FILES]
        return cls(*arrays)


class SentenceSpill:
    """Sentence vectors written to a ``.npy`` file batch by batch as an ingest computes them.

    The header (the final shape) goes first, then rows in chunk order with plain writes: the
    rows are never held whole in memory, nor mapped while written (written pages of a memory map
    would count in the process's resident set).
    """

    def __init__(self, path: Path, offsets: np.ndarray, spans: np.ndarray, dimension: int) -> None:
        self.path, self.offsets, self.spans = path, offsets, spans
        self._handle = open(path, "wb")  # noqa: SIM115 -- closed by finish(), or with the spill folder
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float16)), "fortran_order": False,
                  "shape": (len(spans), dimension)}
        np.lib.format.write_array_header_1_0(self._handle, header)
        self._rows = 0

    def write(self, rows: np.ndarray) -> None:
        self._handle.write(np.ascontiguousarray(rows, dtype=np.float16).tobytes())
        self._rows += len(rows)

    def copy_rows(self, vectors: np.ndarray) -> None:
        """Append stored rows: straight from their file when memory-mapped, else from memory."""
        filename = getattr(vectors, "filename", None)
        if isinstance(vectors, np.memmap) and filename and vectors.dtype == np.float16:
            with open(filename, "rb") as source:
                source.seek(vectors.offset)
                remaining = vectors.nbytes
                while remaining:
                    block = source.read(min(remaining, 1 << 24))
                    if not block:
                        raise OSError(f"{filename} ends early")
                    self._handle.write(block)
                    remaining -= len(block)
            self._rows += len(vectors)
        else:
            for start in range(0, len(vectors), _BATCH):
                self.write(np.asarray(vectors[start : start + _BATCH]))

    def finish(self) -> SentenceVectors:
        self._handle.close()
        if self._rows != len(self.spans):
            raise ValueError(f"{self._rows} sentence vectors written for {len(self.spans)} sentence spans")
        return SentenceVectors(self.offsets, self.spans, np.load(self.path, mmap_mode="r"), spill=self.path)


def _finished(sentences: SentenceVectors | SentenceSpill | None) -> SentenceVectors | None:
    """A spill is complete once the passage vectors that fill it have been consumed (by the index build)."""
    return sentences.finish() if isinstance(sentences, SentenceSpill) else sentences


@contextmanager
def spill_folder(root: Path) -> Iterator[Path]:
    """A scratch folder beside the versions (same file system, so files move into a version by
    rename); removed on exit, and by the next ingest's pruning if this process is killed. An
    ``OSError`` inside becomes :class:`IndexWriteError`, which says the index is unchanged."""
    folder = root / _VERSIONS / f".tmp-spill-{uuid.uuid4().hex}"
    try:
        folder.mkdir(parents=True)
        yield folder
    except IndexWriteError:
        raise
    except OSError as exc:  # full disk, read-only folder while slices are written: the live version stays
        raise _write_error(root, exc) from exc
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Resident:
    """A version's records held in memory to serve searches (an ingest never builds this), with the
    lookups every search of the version shares."""

    papers: dict[str, Paper]
    chunks: list[Chunk]
    chunk_rows: dict[str, int]  # row (FAISS id) of each chunk id
    rows_of_paper: dict[str, list[int]]  # a paper's chunk rows, in order
    chunk_paper: np.ndarray  # position in ``papers`` of each chunk's paper (filters test papers, then spread)

    @classmethod
    def parse(cls, papers: PaperRecords, chunks: JsonlRecords[Chunk]) -> Resident:
        by_id = dict(zip(papers, papers.values(), strict=True))
        listed = list(chunks)
        position = {paper_id: i for i, paper_id in enumerate(by_id)}
        rows_of_paper: dict[str, list[int]] = {}
        for row, chunk in enumerate(listed):
            rows_of_paper.setdefault(chunk.paper_id, []).append(row)
        return cls(by_id, listed, {chunk.chunk_id: row for row, chunk in enumerate(listed)}, rows_of_paper,
                   np.array([position[c.paper_id] for c in listed], dtype=np.int64))


class IndexStore:
    """One loaded, immutable version of an index; :meth:`add` returns the next version.

    ``papers`` and ``chunks`` are read from the version's files on demand (an ingest of millions
    of passages holds none of them); :attr:`resident` holds them in memory for searching.
    """

    def __init__(
        self,
        root: Path,
        manifest: Manifest,
        papers: PaperRecords,
        chunks: JsonlRecords[Chunk],
        vectors: faiss.Index,
        bm25: bm25s.BM25,
        version_dir: Path | None = None,
        sentences: SentenceVectors | None = None,
        resident: Resident | None = None,
    ) -> None:
        self.root = root
        self.version_dir = version_dir
        self.manifest = manifest
        self.papers = papers
        self.chunks = chunks
        self.vectors = vectors
        self.bm25 = bm25
        self.sentences = sentences
        self._resident = resident

    @property
    def resident(self) -> Resident:
        """Every paper and passage parsed once, on first use, and shared by every view of this version."""
        if self._resident is None:
            self._resident = Resident.parse(self.papers, self.chunks)
        return self._resident

    def sentences_of(self, chunk: Chunk) -> tuple[np.ndarray, np.ndarray] | None:
        """The stored ``(spans, vectors)`` of a chunk's sentences, or None when the index has none."""
        row = self.resident.chunk_rows.get(chunk.chunk_id) if self.sentences is not None else None
        if row is None or self.sentences is None:
            return None
        return self.sentences.of_chunk(row)

    # ----- reading -------------------------------------------------------------------------

    @staticmethod
    def exists(root: Path) -> bool:
        """True when ``root`` holds an index: a CURRENT pointer, or version folders without one.

        The second case is not an empty folder: :meth:`open` refuses it with recovery
        instructions, so that nothing starts a fresh index over the old versions.
        """
        if root.exists() and not root.is_dir():
            raise IndexLocationError(f"{root} is a file, not an index folder: give --index-dir a folder "
                                     "(a new or existing paperqa index)")
        return (root / _CURRENT).is_file() or bool(_version_names(root))

    @classmethod
    def open(cls, root: Path) -> IndexStore:
        """Load the live version; raises IndexCorruptError if its files disagree."""
        version_dir = _live_version_dir(root)
        try:
            manifest = _read_manifest(version_dir)
            papers = PaperRecords(version_dir / "papers.jsonl")
            chunks = chunk_records(version_dir / "chunks.jsonl")
            vectors = faiss.read_index(str(version_dir / "faiss.index"))
            bm25 = bm25s.BM25.load(str(version_dir / "bm25"), show_progress=False, verbosity=0)
            sentences = SentenceVectors.load(version_dir)
        except (OSError, ValueError, RuntimeError) as exc:
            raise IndexCorruptError(f"cannot read index version {version_dir}: {exc}") from exc
        if vectors.d != manifest.dimension:
            raise IndexCorruptError(
                f"index version {version_dir} is inconsistent: manifest.json says dimension {manifest.dimension}, "
                f"faiss.index holds {vectors.d}-dimensional vectors; restore the folder from a backup or re-ingest"
            )
        if not (len(chunks) == vectors.ntotal == manifest.chunks and len(papers) == manifest.papers):
            raise IndexCorruptError(
                f"index version {version_dir} is inconsistent: manifest says {manifest.chunks} chunks / "
                f"{manifest.papers} papers, files hold {len(chunks)} chunks, {vectors.ntotal} vectors, "
                f"{len(papers)} papers"
            )
        if sentences is not None and (len(sentences) != len(chunks) or len(sentences.spans) != len(sentences.vectors)):
            raise IndexCorruptError(
                f"index version {version_dir} is inconsistent: sentence vectors cover {len(sentences)} chunks, "
                f"the index holds {len(chunks)}"
            )
        return cls(root, manifest, papers, chunks, vectors, bm25, version_dir, sentences)

    @property
    def results_path(self) -> Path | None:
        """This version's results table, or None for a version written before results existed."""
        if self.version_dir is None:
            return None
        path = self.version_dir / RESULTS_FILE
        return path if path.is_file() else None

    def check_compatible(self, settings: Settings, embedding_model: str) -> None:
        """Refuse to mix vectors of two models, or chunks of two chunkings, in one index."""
        # index.type auto accepts whatever concrete type the index was built as.
        built = self.manifest.index_type if settings.index.type == "auto" else None
        differences = self.manifest.differences(IndexIdentity.of(settings, embedding_model, index_type=built))
        if differences:
            raise IndexMismatchError(
                f"the index at {self.root} was built with " + "; ".join(differences) + ". Either re-ingest "
                "into a new folder (paperqa ingest PATH --index-dir NEW_DIR), or use the index's own "
                "settings (--use-index-settings on the CLI, use_index_settings=True in the API)."
            )

    def settings_overrides(self) -> dict[str, object]:
        """Config overrides that make a Settings object agree with this index."""
        return self.manifest.settings_overrides()

    def info(self) -> IndexInfo:
        sources: dict[str, int] = {}
        # the parsed records when a search loaded them, else one streamed read of papers.jsonl
        papers = self._resident.papers.values() if self._resident is not None else self.papers.values()
        for paper in papers:
            for source in paper.sources:
                sources[source] = sources.get(source, 0) + 1
        m = self.manifest
        return IndexInfo(
            index_dir=str(self.root),
            papers=m.papers,
            chunks=m.chunks,
            embedding_model=m.embedding_model,
            dimension=m.dimension,
            index_type=m.index_type,
            chunk_size=m.chunk_size,
            chunk_overlap=m.chunk_overlap,
            paperqa_version=m.paperqa_version,
            sources=dict(sorted(sources.items())),
            created_at=m.created_at,
            updated_at=m.updated_at,
            results=_count_results(self.results_path),
        )

    # ----- writing -------------------------------------------------------------------------

    def add(
        self, updated: list[Paper], new: Iterable[Paper], chunks: Sequence[Chunk], vectors: Vectors, settings: Settings,
        results: ResultsUpdate | None = None, sentences: SentenceVectors | SentenceSpill | None = None,
        embedding_dtype: str | None = None,
    ) -> IndexStore:
        """Write a new version holding this one with ``updated`` papers replaced, plus ``new`` papers
        and their ``chunks``; return it loaded.

        ``vectors`` is one array, or batches in chunk order (consumed once, never held together);
        ``sentences`` may be a :class:`SentenceSpill` that consuming them fills. Sentence vectors are kept only when both this version and the new chunks have them (an
        index made without them stays without: the answer then encodes sentences when asked).
        """
        replaced = {p.paper_id: p for p in updated}

        def merged_papers() -> Iterator[Paper | bytes]:  # stored lines copied unparsed, updated ones replaced
            for row, paper_id in enumerate(self.papers):
                yield replaced[paper_id] if paper_id in replaced else self.papers.records.raw(row)
            yield from new

        old_chunks = (self.chunks.raw(row) for row in range(len(self.chunks)))
        total = len(self.chunks) + len(chunks)
        kind = self.manifest.index_type
        grown = resolve_index_type(settings.index, total)
        if settings.index.type == "auto" and _TYPE_RANK.get(grown, 0) > _TYPE_RANK.get(kind, 0) and kind in (
            "flat", "hnsw"
        ):
            # index.type auto and the corpus crossed a threshold: rebuild from the stored vectors (flat
            # and HNSW hold them exactly), so nothing is re-embedded.
            kind = grown
            old = self.vectors
            stored = (old.reconstruct_n(i, min(_BATCH, old.ntotal - i)) for i in range(0, old.ntotal, _BATCH))
            index = build_faiss_index(itertools.chain(stored, _batches(vectors)), total, kind, settings.index)
        else:
            index = faiss.clone_index(self.vectors)
            for batch in _batches(vectors):
                _add_vectors(index, batch)
        sentences = _finished(sentences)
        folder = sentences.spill.parent if sentences is not None and sentences.spill is not None else None
        merged_sentences = self.sentences.concat(sentences, folder) if self.sentences and sentences else None
        return _write_version(self.root, self.manifest.created_at, merged_papers(), itertools.chain(old_chunks, chunks),
                              index, settings,
                              self.manifest.embedding_model, kind, results, merged_sentences, embedding_dtype,
                              self.manifest.sentence_vectors if merged_sentences else "none")

    @classmethod
    def create(
        cls, root: Path, papers: Iterable[Paper], chunks: Sequence[Chunk], vectors: Vectors, settings: Settings,
        embedding_model: str, results: ResultsUpdate | None = None, sentences: SentenceVectors | SentenceSpill | None = None,
        embedding_dtype: str | None = None,
    ) -> IndexStore:
        """Write the first version; ``vectors`` as in :meth:`add` (one row per chunk, in order)."""
        if _version_names(root):  # never start afresh beside versions CURRENT lost track of
            raise _pointer_error(root, f"{root / _CURRENT} is missing")
        kind = resolve_index_type(settings.index, len(chunks))
        index = build_faiss_index(_batches(vectors), len(chunks), kind, settings.index)
        sentences = _finished(sentences)
        return _write_version(root, _now(), papers, chunks, index, settings,
                              embedding_model, kind, results, sentences, embedding_dtype,
                              settings.embedding.sentence_vectors if sentences else "none")

    def with_bm25(self, retrieval: RetrievalConfig, chunking: ChunkingConfig) -> IndexStore:
        """This version with BM25 rebuilt in memory when the config tokenises differently."""
        m = self.manifest
        if (m.bm25_stemmer, m.bm25_stopwords) == (retrieval.bm25_stemmer, retrieval.bm25_stopwords):
            return self
        bm25 = build_bm25([indexed_text(c, chunking) for c in self.chunks], retrieval)
        manifest = m.model_copy(update={"bm25_stemmer": retrieval.bm25_stemmer,
                                        "bm25_stopwords": retrieval.bm25_stopwords})
        return IndexStore(self.root, manifest, self.papers, self.chunks, self.vectors, bm25, self.version_dir,
                          self.sentences, self._resident)


@dataclass(frozen=True)
class ResultsUpdate:
    """The results rows a new version adds to ``base`` (the previous version's table, copied).

    ``rows`` may be lazy (a generator): it is consumed once, while the table is written.
    """

    rows: Iterable[ResultRow]
    base: Path | None = None
    meta: dict[str, str] = field(default_factory=dict)


def _count_results(path: Path | None) -> int | None:
    return count_results(path) if path is not None else None


# ----- FAISS and BM25 construction ---------------------------------------------------------


# Order in which index.type auto moves up as a corpus grows; it never moves down.
_TYPE_RANK = {"flat": 0, "hnsw": 1, "ivf": 2, "ivfpq": 2}


def resolve_index_type(cfg: IndexConfig, total_vectors: int) -> str:
    """The concrete layout for ``index.type``; ``auto`` picks by corpus size (thresholds: docs/scale.md)."""
    if cfg.type != "auto":
        return cfg.type
    if total_vectors >= cfg.auto_ivfpq_from:
        return "ivfpq"
    if total_vectors >= cfg.auto_hnsw_from:
        return "hnsw"
    return "flat"


def build_faiss_index(batches: Iterable[np.ndarray], total: int, kind: str, cfg: IndexConfig) -> faiss.Index:
    """Add ``total`` vectors batch by batch, so no more than a batch (plus a training sample) is held.

    IVF layouts train first: on the first ``_train_size`` vectors, buffered, then added in order.
    """
    index: faiss.Index | None = None
    pending: list[np.ndarray] = []
    buffered = 0
    for batch in batches:
        if index is None:
            index = new_faiss_index(batch.shape[1], total, cfg, kind)
        if not len(batch):
            continue
        if index.is_trained:
            _add_vectors(index, batch)
            continue
        pending.append(np.asarray(batch, dtype=np.float32))
        buffered += len(batch)
        if buffered >= _train_size(index, total):
            _train_and_flush(index, pending)
            pending = []
    if index is None:
        raise ValueError("no vectors to index")
    if pending:
        _train_and_flush(index, pending)
    return index


def _train_size(index: faiss.Index, total: int) -> int:
    """64 points per inverted list (FAISS wants >= 39), at least 65,536 for the PQ codebooks."""
    nlist = faiss.extract_index_ivf(index).nlist
    return min(total, max(64 * nlist, 65_536))


def _train_and_flush(index: faiss.Index, pending: list[np.ndarray]) -> None:
    sample = np.concatenate(pending)
    index.train(sample)
    _add_vectors(index, sample)


def new_faiss_index(dimension: int, expected_vectors: int, cfg: IndexConfig, kind: str | None = None) -> faiss.Index:
    """Inner product on normalised vectors (cosine); approximate types for large corpora."""
    kind = kind or resolve_index_type(cfg, expected_vectors)
    if kind == "flat":
        return faiss.IndexFlatIP(dimension)
    if kind == "hnsw":
        return faiss.IndexHNSWFlat(dimension, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    if kind == "ivfpq":
        return _new_ivfpq(dimension, expected_vectors, cfg)
    # IVF needs ~39 training points per list; fewer lists on a small first ingest.
    nlist = max(1, min(cfg.ivf_nlist, expected_vectors // 39))
    quantizer = faiss.IndexFlatIP(dimension)
    return faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)


def _new_ivfpq(dimension: int, expected_vectors: int, cfg: IndexConfig) -> faiss.Index:
    """FAISS's own IVF-PQ ("IVF{nlist},PQ{m}[,Refine(SQ8)]"): ivfpq_m bytes a vector instead of 4 x
    dimension, plus the refine copy (one byte a dimension for SQ8) that candidates are re-scored from."""
    if dimension % cfg.ivfpq_m:
        raise IndexTypeError(
            f"index.ivfpq_m={cfg.ivfpq_m} does not divide the embedding dimension {dimension}; choose a divisor "
            f"of {dimension} (e.g. {dimension // 8}) or another index.type"
        )
    # 8-bit codes need 256 training points per sub-quantizer; below that FAISS cannot train.
    if expected_vectors < 256:
        raise IndexTypeError(
            f"index.type ivfpq needs at least 256 passages in the first ingest, got {expected_vectors}; "
            "use index.type auto or flat for small corpora"
        )
    nlist = max(1, min(cfg.ivfpq_nlist, expected_vectors // 39))
    refine = f",Refine({cfg.ivfpq_refine})" if cfg.ivfpq_refine != "none" else ""
    return faiss.index_factory(dimension, f"IVF{nlist},PQ{cfg.ivfpq_m}{refine}", faiss.METRIC_INNER_PRODUCT)


def _batches(vectors: Vectors) -> Iterable[np.ndarray]:
    return [vectors] if isinstance(vectors, np.ndarray) else vectors


def _add_vectors(index: faiss.Index, vectors: np.ndarray) -> None:
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))


def build_bm25(texts: Iterable[str], retrieval: RetrievalConfig) -> bm25s.BM25:
    """bm25s over ``texts``, tokenised a slice at a time into 4-byte ids (see :class:`_TokenIds`)."""
    vocab: dict[str, int] = {}
    docs: list[np.ndarray] = []
    for part in slices(texts, _BM25_SLICE):
        tokenized = bm25_tokenize(part, retrieval)
        local = np.empty(len(tokenized.vocab), dtype=np.int32)  # this slice's ids -> the corpus's ids
        for token, i in tokenized.vocab.items():
            local[i] = vocab.setdefault(token, len(vocab))
        docs.extend(local[np.asarray(ids, dtype=np.int64)] for ids in tokenized.ids)
    bm25 = bm25s.BM25()
    bm25.index(bm25s.tokenization.Tokenized(ids=_TokenIds(docs), vocab=vocab), show_progress=False)
    return bm25


class _TokenIds(Sequence[list[int]]):
    """Every document's token ids as int32 arrays, handed to bm25s one Python list at a time.

    bm25s indexes lists of Python ints (36 bytes a token with the list slot); at a million passages
    of ~100 tokens that alone is several GB. bm25s only iterates the corpus (three passes), so a
    sequence that builds each document's list on demand keeps 4 bytes a token.
    """

    def __init__(self, docs: list[np.ndarray]) -> None:
        self._docs = docs

    def __len__(self) -> int:
        return len(self._docs)

    @overload
    def __getitem__(self, i: int) -> list[int]: ...
    @overload
    def __getitem__(self, i: slice) -> list[list[int]]: ...
    def __getitem__(self, i: int | slice) -> list[int] | list[list[int]]:
        if isinstance(i, slice):
            return [d.tolist() for d in self._docs[i]]
        return self._docs[i].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        return (d.tolist() for d in self._docs)


def slices(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter), holding one at a time."""
    iterator = iter(items)
    while part := list(itertools.islice(iterator, size)):
        yield part


# ----- atomic versions ---------------------------------------------------------------------


@contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """Serialise writers (two ingests, or the UI and the CLI) on one index folder."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle = open(root / ".lock", "w")  # noqa: SIM115 - closed below, after the lock is released
    except OSError as exc:
        raise _write_error(root, exc) from exc
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_manifest(version_dir: Path) -> Manifest:
    """The version's manifest, refused with what to do when another format version wrote it."""
    raw = json.loads((version_dir / "manifest.json").read_text("utf-8"))
    found = raw.get("format_version") if isinstance(raw, dict) else None
    if found != FORMAT_VERSION:
        writer = raw.get("paperqa_version", "an unknown version") if isinstance(raw, dict) else "an unknown version"
        advice = ("upgrade paperqa to read it" if isinstance(found, int) and found > FORMAT_VERSION
                  else "re-ingest the papers into a new folder (paperqa ingest PATH --index-dir NEW_DIR)")
        raise IndexFormatError(
            f"the index version {version_dir} is in format {found!r} (written by paperqa {writer}); this paperqa "
            f"reads format {FORMAT_VERSION}: {advice}"
        )
    return Manifest.model_validate(raw)


def _live_version_dir(root: Path) -> Path:
    try:
        name = (root / _CURRENT).read_text("utf-8").strip()
    except FileNotFoundError as exc:
        if _version_names(root):
            raise _pointer_error(root, f"{root / _CURRENT} is missing") from None
        raise IndexCorruptError(f"no index at {root}: {exc}") from exc
    except OSError as exc:
        raise IndexCorruptError(f"no index at {root}: {exc}") from exc
    version_dir = root / _VERSIONS / name
    if not name or not version_dir.is_dir() or name.startswith("."):
        raise _pointer_error(root, f"{root / _CURRENT} names {name!r}, which is not a version folder")
    return version_dir


def _version_names(root: Path) -> list[str]:
    """The committed version folders (``v000001`` ...), oldest first; temporary folders excluded."""
    try:
        return sorted(p.name for p in (root / _VERSIONS).iterdir()
                      if p.is_dir() and p.name.startswith("v") and p.name[1:].isdigit())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _pointer_error(root: Path, problem: str) -> IndexPointerError:
    """Refusal with recovery instructions; recovering is the user's explicit step, never a guess.

    The newest version folder is the one to restore in the usual case (CURRENT deleted or lost in a
    copy); a version is listed as complete when its manifest reads and its file counts agree.
    """
    names = _version_names(root)
    if not names:
        return IndexPointerError(f"{problem}, and {root / _VERSIONS} holds no version: this is not a usable "
                                 "index; ingest into a new folder")
    complete = [n for n in names if _version_complete(root / _VERSIONS / n)]
    listed = ", ".join(f"{n}{'' if n in complete else ' (incomplete)'}" for n in names)
    advice = (f"to recover the newest complete version, run: echo {complete[-1]} > {root / _CURRENT}"
              if complete else "none of them is complete: restore the folder from a backup")
    return IndexPointerError(f"{problem}; the index holds versions {listed}. paperqa will not guess which one "
                             f"is live nor start a new index over them; {advice}")


def _version_complete(folder: Path) -> bool:
    try:
        manifest = Manifest.model_validate_json((folder / "manifest.json").read_text("utf-8"))
        with open(folder / "chunks.jsonl", "rb") as handle:
            chunks = sum(1 for line in handle if line.strip())
        return chunks == manifest.chunks and (folder / "faiss.index").is_file() and (folder / "bm25").is_dir()
    except (OSError, ValueError):
        return False


def _write_version(
    root: Path, created_at: str, papers: Iterable[Paper | bytes], chunks: Iterable[Chunk | bytes], index: faiss.Index,
    settings: Settings, embedding_model: str, index_type: str, results: ResultsUpdate | None = None,
    sentences: SentenceVectors | None = None, embedding_dtype: str | None = None, sentence_mode: str = "none",
) -> IndexStore:
    from . import __version__

    versions = root / _VERSIONS
    tmp = versions / f".tmp-{uuid.uuid4().hex}"
    try:
        versions.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        # Records stream to disk (a paper or passage as stored bytes or a model), BM25 reads the
        # passages back from the written file: none of them is held in memory.
        n_papers = _write_jsonl(tmp / "papers.jsonl", papers)
        n_chunks = _write_jsonl(tmp / "chunks.jsonl", chunks)
        written = chunk_records(tmp / "chunks.jsonl")
        bm25 = build_bm25((indexed_text(c, settings.chunking) for c in written), settings.retrieval)
        manifest = Manifest(
            **IndexIdentity.of(settings, embedding_model, index_type).model_dump(),
            paperqa_version=__version__,
            dimension=index.d,
            bm25_stemmer=settings.retrieval.bm25_stemmer,
            bm25_stopwords=settings.retrieval.bm25_stopwords,
            papers=n_papers,
            chunks=n_chunks,
            created_at=created_at,
            updated_at=_now(),
            embedding_dtype=embedding_dtype,
            sentence_vectors=sentence_mode,
        )
        _faiss_write(index, tmp / "faiss.index")
        bm25.save(str(tmp / "bm25"), show_progress=False)
        if sentences is not None:
            sentences.save(tmp)
        if results is not None:  # before the swap, so the table is atomic with the version
            write_results(tmp / RESULTS_FILE, results.rows, base=results.base, meta=results.meta)
        (tmp / "manifest.json").write_text(manifest.model_dump_json(indent=2), "utf-8")
        _fsync_tree(tmp)
        final = versions / _next_version_name(versions)
        os.rename(tmp, final)
        _replace_current(root, final.name)
    except OSError as exc:  # read-only folder, full disk: the old version stays live, the leftover goes
        shutil.rmtree(tmp, ignore_errors=True)
        raise _write_error(root, exc) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(versions, keep={final.name, _previous_version(versions, final.name)})
    return IndexStore(root, manifest, PaperRecords(final / "papers.jsonl"), chunk_records(final / "chunks.jsonl"),
                      index, bm25, final, sentences)


def _faiss_write(index: faiss.Index, path: Path) -> None:
    """faiss reports a failed write (full disk) as RuntimeError; it is an OSError like the others."""
    try:
        faiss.write_index(index, str(path))
    except RuntimeError as exc:
        raise OSError(f"faiss could not write the vectors: {str(exc).strip().splitlines()[-1]}") from exc


def _replace_current(root: Path, name: str) -> None:
    tmp = root / f".{_CURRENT}.{uuid.uuid4().hex}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, root / _CURRENT)
    _fsync_dir(root)


def _next_version_name(versions: Path) -> str:
    numbers = [int(p.name[1:]) for p in versions.iterdir() if p.name.startswith("v") and p.name[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1:06d}"


def _previous_version(versions: Path, current: str) -> str | None:
    older = sorted(p.name for p in versions.iterdir() if p.name.startswith("v") and p.name < current)
    return older[-1] if older else None


def _prune(versions: Path, keep: set[str | None]) -> None:
    """Remove old versions and leftovers of killed ingests; the previous version stays for readers."""
    for path in versions.iterdir():
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def _write_jsonl(path: Path, records: Iterable[BaseModel | bytes]) -> int:
    """Write records (models, or lines already serialised) one per line; return how many."""
    count = 0
    with open(path, "wb") as handle:
        for record in records:
            handle.write(record if isinstance(record, bytes) else record.model_dump_json().encode())
            handle.write(b"\n")
            count += 1
    return count


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
