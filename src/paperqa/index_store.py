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

import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import bm25s
import faiss
import numpy as np
from pydantic import BaseModel, ConfigDict

from . import __version__
from .chunking import indexed_text
from .config import ChunkingConfig, IndexConfig, RetrievalConfig, Settings
from .errors import IndexCorruptError, IndexFormatError, IndexMismatchError
from .models import Chunk, IndexInfo, Paper, ResultRow
from .results_table import RESULTS_FILE, count_results, write_results
from .tokenization import bm25_tokenize

FORMAT_VERSION = 1
_CURRENT = "CURRENT"
_VERSIONS = "versions"


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
    def of(cls, settings: Settings, embedding_model: str) -> IndexIdentity:
        c = settings.chunking
        return cls(embedding_model=embedding_model, text_prefix=settings.embedding.text_prefix,
                   chunk_size=c.chunk_size, chunk_overlap=c.chunk_overlap, title_in_chunk=c.title_in_chunk,
                   index_type=settings.index.type)

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


def index_cache_key(settings: Settings, embedding_model: str, **content: object) -> str:
    """A short hash naming an index built from these settings and this ``content`` (the corpus):
    its identity, plus what changes the content without changing compatibility (the index's build
    parameters, the model's input length, the ingest filters, paperqa's version)."""
    data = {
        "identity": IndexIdentity.of(settings, embedding_model).model_dump(mode="json"),
        "build": {"hnsw_m": settings.index.hnsw_m, "ivf_nlist": settings.index.ivf_nlist,
                  "max_length": settings.embedding.max_length},
        "ingest": settings.ingest.model_dump(mode="json"),
        "paperqa_version": __version__,
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


class IndexStore:
    """One loaded, immutable version of an index; :meth:`add` returns the next version."""

    def __init__(
        self,
        root: Path,
        manifest: Manifest,
        papers: dict[str, Paper],
        chunks: list[Chunk],
        vectors: faiss.Index,
        bm25: bm25s.BM25,
        version_dir: Path | None = None,
    ) -> None:
        self.root = root
        self.version_dir = version_dir
        self.manifest = manifest
        self.papers = papers
        self.chunks = chunks
        self.vectors = vectors
        self.bm25 = bm25

    # ----- reading -------------------------------------------------------------------------

    @staticmethod
    def exists(root: Path) -> bool:
        return (root / _CURRENT).is_file()

    @classmethod
    def open(cls, root: Path) -> IndexStore:
        """Load the live version; raises IndexCorruptError if its files disagree."""
        version_dir = _live_version_dir(root)
        try:
            manifest = _read_manifest(version_dir)
            papers = {p.paper_id: p for p in _read_jsonl(version_dir / "papers.jsonl", Paper)}
            chunks = list(_read_jsonl(version_dir / "chunks.jsonl", Chunk))
            vectors = faiss.read_index(str(version_dir / "faiss.index"))
            bm25 = bm25s.BM25.load(str(version_dir / "bm25"), show_progress=False, verbosity=0)
        except (OSError, ValueError, RuntimeError) as exc:
            raise IndexCorruptError(f"cannot read index version {version_dir}: {exc}") from exc
        if not (len(chunks) == vectors.ntotal == manifest.chunks and len(papers) == manifest.papers):
            raise IndexCorruptError(
                f"index version {version_dir} is inconsistent: manifest says {manifest.chunks} chunks / "
                f"{manifest.papers} papers, files hold {len(chunks)} chunks, {vectors.ntotal} vectors, "
                f"{len(papers)} papers"
            )
        return cls(root, manifest, papers, chunks, vectors, bm25, version_dir)

    @property
    def results_path(self) -> Path | None:
        """This version's results table, or None for a version written before results existed."""
        if self.version_dir is None:
            return None
        path = self.version_dir / RESULTS_FILE
        return path if path.is_file() else None

    def check_compatible(self, settings: Settings, embedding_model: str) -> None:
        """Refuse to mix vectors of two models, or chunks of two chunkings, in one index."""
        differences = self.manifest.differences(IndexIdentity.of(settings, embedding_model))
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
        for paper in self.papers.values():
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

    def add(self, papers: list[Paper], chunks: list[Chunk], vectors: np.ndarray, settings: Settings,
            results: ResultsUpdate | None = None) -> IndexStore:
        """Write a new version holding this one plus the given papers; return it loaded."""
        merged_papers = dict(self.papers)
        merged_papers.update((p.paper_id, p) for p in papers)
        all_chunks = self.chunks + chunks
        index = faiss.clone_index(self.vectors)
        _add_vectors(index, vectors)
        return _write_version(self.root, self.manifest.created_at, merged_papers, all_chunks, index, settings,
                              self.manifest.embedding_model, results)

    @classmethod
    def create(
        cls, root: Path, papers: list[Paper], chunks: list[Chunk], vectors: np.ndarray, settings: Settings,
        embedding_model: str, results: ResultsUpdate | None = None,
    ) -> IndexStore:
        index = new_faiss_index(vectors.shape[1], len(vectors), settings.index)
        if not index.is_trained:
            index.train(vectors)
        _add_vectors(index, vectors)
        return _write_version(root, _now(), {p.paper_id: p for p in papers}, chunks, index, settings,
                              embedding_model, results)

    def with_bm25(self, retrieval: RetrievalConfig, chunking: ChunkingConfig) -> IndexStore:
        """This version with BM25 rebuilt in memory when the config tokenises differently."""
        m = self.manifest
        if (m.bm25_stemmer, m.bm25_stopwords) == (retrieval.bm25_stemmer, retrieval.bm25_stopwords):
            return self
        bm25 = build_bm25([indexed_text(c, chunking) for c in self.chunks], retrieval)
        manifest = m.model_copy(update={"bm25_stemmer": retrieval.bm25_stemmer,
                                        "bm25_stopwords": retrieval.bm25_stopwords})
        return IndexStore(self.root, manifest, self.papers, self.chunks, self.vectors, bm25, self.version_dir)


class ResultsUpdate(BaseModel):
    """The results rows a new version adds to ``base`` (the previous version's table, copied)."""

    rows: list[ResultRow]
    base: Path | None = None
    meta: dict[str, str] = {}


def _count_results(path: Path | None) -> int | None:
    return count_results(path) if path is not None else None


# ----- FAISS and BM25 construction ---------------------------------------------------------


def new_faiss_index(dimension: int, expected_vectors: int, cfg: IndexConfig) -> faiss.Index:
    """Inner product on normalised vectors (cosine); approximate types for large corpora."""
    if cfg.type == "flat":
        return faiss.IndexFlatIP(dimension)
    if cfg.type == "hnsw":
        return faiss.IndexHNSWFlat(dimension, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    # IVF needs ~39 training points per list; fewer lists on a small first ingest.
    nlist = max(1, min(cfg.ivf_nlist, expected_vectors // 39))
    quantizer = faiss.IndexFlatIP(dimension)
    return faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)


def _add_vectors(index: faiss.Index, vectors: np.ndarray) -> None:
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))


def build_bm25(texts: list[str], retrieval: RetrievalConfig) -> bm25s.BM25:
    bm25 = bm25s.BM25()
    bm25.index(bm25_tokenize(texts, retrieval), show_progress=False)
    return bm25


# ----- atomic versions ---------------------------------------------------------------------


@contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """Serialise writers (two ingests, or the UI and the CLI) on one index folder."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
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
    except OSError as exc:
        raise IndexCorruptError(f"no index at {root}: {exc}") from exc
    version_dir = root / _VERSIONS / name
    if not name or not version_dir.is_dir():
        raise IndexCorruptError(f"{root / _CURRENT} names {name!r}, which is not a version folder")
    return version_dir


def _write_version(
    root: Path, created_at: str, papers: dict[str, Paper], chunks: list[Chunk], index: faiss.Index,
    settings: Settings, embedding_model: str, results: ResultsUpdate | None = None,
) -> IndexStore:
    versions = root / _VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    tmp = versions / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    manifest = Manifest(
        **IndexIdentity.of(settings, embedding_model).model_dump(),
        paperqa_version=__version__,
        dimension=index.d,
        bm25_stemmer=settings.retrieval.bm25_stemmer,
        bm25_stopwords=settings.retrieval.bm25_stopwords,
        papers=len(papers),
        chunks=len(chunks),
        created_at=created_at,
        updated_at=_now(),
    )
    bm25 = build_bm25([indexed_text(c, settings.chunking) for c in chunks], settings.retrieval)
    try:
        _write_jsonl(tmp / "papers.jsonl", papers.values())
        _write_jsonl(tmp / "chunks.jsonl", chunks)
        faiss.write_index(index, str(tmp / "faiss.index"))
        bm25.save(str(tmp / "bm25"), show_progress=False)
        if results is not None:  # before the swap, so the table is atomic with the version
            write_results(tmp / RESULTS_FILE, results.rows, base=results.base, meta=results.meta)
        (tmp / "manifest.json").write_text(manifest.model_dump_json(indent=2), "utf-8")
        _fsync_tree(tmp)
        final = versions / _next_version_name(versions)
        os.rename(tmp, final)
        _replace_current(root, final.name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(versions, keep={final.name, _previous_version(versions, final.name)})
    return IndexStore(root, manifest, papers, chunks, index, bm25, final)


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


def _write_jsonl(path: Path, records) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(record.model_dump_json() + "\n" for record in records)


def _read_jsonl(path: Path, model: type[BaseModel]):
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield model.model_validate(json.loads(line))


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
