"""The index on disk: incremental and idempotent ingest, atomic versions, refusing mismatches."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED

from paperqa.api import PaperQA
from paperqa.index_store import IndexMismatchError, IndexStore
from paperqa.sources import bundled_corpus_paths


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _ml_sample(path: Path, n: int, offset: int = 0) -> Path:
    source = SHARED / "data" / "ml-abstracts" / "ml_abstracts.jsonl"
    if not source.exists():
        pytest.skip("../shared/data/ml-abstracts is not beside the checkout")
    with open(source, encoding="utf-8") as handle:
        lines = [line for _, line in zip(range(offset + n), handle, strict=False)][offset:]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _live_version(index_dir: Path) -> str:
    return (index_dir / "CURRENT").read_text().strip()


def test_bundled_corpus_index_holds_every_distinct_paper(bundled_qa):
    info = bundled_qa.info()
    assert info.papers == 123
    assert info.chunks >= 123
    assert info.embedding_model == "sentence-transformers/all-MiniLM-L6-v2"
    assert info.dimension == 384
    assert set(info.sources) == {p.name for p in bundled_corpus_paths()}
    store = bundled_qa.retriever.store
    for chunk in store.chunks:  # offsets let a citation highlight the exact passage
        assert store.papers[chunk.paper_id].abstract[chunk.start_char : chunk.end_char] == chunk.text


def test_reingest_changes_nothing(bundled_qa):
    before = _live_version(bundled_qa.index_dir)
    report = bundled_qa.ingest(bundled_corpus_paths())
    assert (report.added, report.chunks_added) == (0, 0)
    assert report.skipped == 134  # 123 known papers + 11 duplicates inside the two dumps
    assert _live_version(bundled_qa.index_dir) == before
    assert bundled_qa.info().papers == 123


def test_incremental_ingest_embeds_only_new_papers(bundled_qa, tmp_path):
    old = bundled_qa.retriever.store
    old_vectors = old.vectors.reconstruct_n(0, old.vectors.ntotal)
    report = bundled_qa.ingest([_ml_sample(tmp_path / "new.jsonl", 20)])
    assert report.added == 20
    new = bundled_qa.retriever.store
    assert new.vectors.ntotal == old.vectors.ntotal + report.chunks_added
    # Old vectors are carried over bit for bit, not re-embedded.
    assert np.array_equal(new.vectors.reconstruct_n(0, old.vectors.ntotal), old_vectors)
    assert bundled_qa.info().papers == 143
    # A new process sees the same index.
    assert PaperQA(bundled_qa.index_dir, embedder=bundled_qa.embedder).info().papers == 143


def test_same_paper_from_another_file_adds_its_source_without_reembedding(bundled_qa, tmp_path):
    moat = next(p for p in bundled_qa.papers.values() if p.title.startswith("MOAT"))
    copy = _write_jsonl(tmp_path / "again.jsonl", [{"title": moat.title, "abstract": moat.abstract}])
    report = bundled_qa.ingest([copy])
    assert (report.added, report.chunks_added, report.skipped) == (0, 0, 1)
    assert "again.jsonl" in bundled_qa.papers[moat.paper_id].sources


def test_other_chunking_is_refused_with_advice(bundled_index_dir, embedder):
    with pytest.raises(IndexMismatchError) as excinfo:
        PaperQA(bundled_index_dir, overrides={"chunking.chunk_size": 512}, embedder=None)
    message = str(excinfo.value)
    assert "chunk" in message and "--index-dir" in message and "--use-index-settings" in message
    qa = PaperQA(bundled_index_dir, overrides={"chunking.chunk_size": 512}, use_index_settings=True, embedder=embedder)
    assert qa.settings.chunking.chunk_size == qa.info().chunk_size != 512


def test_other_embedding_model_is_refused(bundled_index_dir):
    with pytest.raises(IndexMismatchError, match="embedding model"):
        PaperQA(bundled_index_dir, overrides={"embedding.model": "sentence-transformers/paraphrase-MiniLM-L3-v2"})


def test_two_instances_on_two_folders_do_not_interfere(bundled_qa, tmp_path, embedder):
    other = PaperQA(tmp_path / "other", embedder=embedder)
    other.ingest([_ml_sample(tmp_path / "a.jsonl", 5)])
    assert other.info().papers == 5
    assert bundled_qa.info().papers == 123
    assert {h.paper_id for h in other.search("neural network", k=5)} <= set(other.papers)


def test_leftovers_of_a_crashed_write_are_ignored_then_cleaned(bundled_qa, tmp_path):
    """The states a write can die in: a half-written temp folder, an orphan complete version."""
    index_dir = bundled_qa.index_dir
    live = _live_version(index_dir)
    versions = index_dir / "versions"
    (versions / ".tmp-deadbeef").mkdir()
    (versions / ".tmp-deadbeef" / "chunks.jsonl").write_text("{half a line")
    shutil.copytree(versions / live, versions / "v999999")  # renamed, but CURRENT never swapped
    (versions / "v999999" / "faiss.index").write_bytes(b"garbage")
    (index_dir / ".CURRENT.abc").write_text("v999999")
    assert PaperQA(index_dir, embedder=bundled_qa.embedder).info().papers == 123
    PaperQA(index_dir, embedder=bundled_qa.embedder).ingest([_ml_sample(tmp_path / "n.jsonl", 3)])
    assert not (versions / ".tmp-deadbeef").exists()
    assert PaperQA(index_dir, embedder=bundled_qa.embedder).info().papers == 126


@pytest.mark.slow
def test_ingest_killed_midway_leaves_the_previous_index_loadable(bundled_qa, tmp_path):
    index_dir = bundled_qa.index_dir
    before = _live_version(index_dir)
    data = _ml_sample(tmp_path / "big.jsonl", 400, offset=1000)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "paperqa", "ingest", str(data), "--index-dir", str(index_dir)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    seen = ""
    while time.monotonic() < deadline:  # wait until it is embedding, then kill it without warning
        line = process.stdout.readline()
        seen += line
        if "%" in line or not line:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, seen
    assert _live_version(index_dir) == before
    reopened = PaperQA(index_dir, embedder=bundled_qa.embedder)
    assert reopened.info().papers == 123
    assert reopened.search("semantic segmentation", k=3)


@pytest.mark.parametrize("index_type", ["hnsw", "ivf"])
def test_approximate_index_types_build_and_search(tmp_path, embedder, index_type):
    qa = PaperQA(tmp_path / index_type, overrides={"index.type": index_type}, embedder=embedder)
    qa.ingest(bundled_corpus_paths())
    assert IndexStore.open(qa.index_dir).manifest.index_type == index_type
    titles = [h.title for h in qa.search("k-means mask transformer for panoptic segmentation", k=5, mode="dense")]
    assert any("kMaX" in t for t in titles)
