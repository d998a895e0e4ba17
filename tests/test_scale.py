"""index.type auto and IVF-PQ: the layouts the scale benchmark (benchmarks/scale.py) chooses between."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from paperqa.api import PaperQA
from paperqa.config import load_config
from paperqa.errors import IndexMismatchError, IndexTypeError, PaperQAError
from paperqa.index_store import IndexStore, new_faiss_index, resolve_index_type
from paperqa.retrieval import SearchFilters
from paperqa.sources import bundled_corpus_paths


def test_auto_picks_by_corpus_size_from_config_thresholds():
    cfg = load_config(overrides={"index.type": "auto", "index.auto_hnsw_from": 1000,
                                 "index.auto_ivfpq_from": 5000}).index
    assert [resolve_index_type(cfg, n) for n in (0, 999, 1000, 4999, 5000, 10**7)] == [
        "flat", "flat", "hnsw", "hnsw", "ivfpq", "ivfpq"]
    forced = cfg.model_copy(update={"type": "hnsw"})
    assert resolve_index_type(forced, 1) == "hnsw"


def test_auto_is_the_default_and_keeps_the_bundled_corpus_exact(bundled_qa):
    assert load_config().index.type == "auto"
    store = IndexStore.open(bundled_qa.index_dir)
    assert store.manifest.index_type == "flat"  # 263 passages: far below auto_hnsw_from
    assert type(store.vectors).__name__ == "IndexFlatIP"
    # An auto config opens an index of any type; an explicit other type is still refused.
    store.check_compatible(load_config(), bundled_qa.embedder.model_id)
    with pytest.raises(IndexMismatchError, match="index type 'flat'"):
        store.check_compatible(load_config(overrides={"index.type": "hnsw"}), bundled_qa.embedder.model_id)


def test_auto_moves_up_when_an_ingest_crosses_the_threshold_without_reembedding(bundled_qa, tmp_path):
    before = IndexStore.open(bundled_qa.index_dir)
    old_vectors = before.vectors.reconstruct_n(0, before.vectors.ntotal)
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({
        "id": "2401.00001", "title": "Panoptic segmentation with k-means mask transformers at scale",
        "abstract": "We revisit k-means cross-attention for panoptic segmentation and report 58.1 PQ on COCO.",
    }) + "\n", "utf-8")
    qa = PaperQA(bundled_qa.index_dir, overrides={"index.auto_hnsw_from": before.manifest.chunks + 1},
                 embedder=bundled_qa.embedder)
    report = qa.ingest([extra])
    assert report.added == 1
    after = IndexStore.open(bundled_qa.index_dir)
    assert after.manifest.index_type == "hnsw"
    assert after.vectors.ntotal == after.manifest.chunks == before.manifest.chunks + report.chunks_added
    # The old passages' vectors were carried over exactly, not re-embedded.
    np.testing.assert_array_equal(after.vectors.reconstruct_n(0, len(old_vectors)), old_vectors)
    titles = [h.title for h in qa.search("k-means mask transformer for panoptic segmentation", k=5, mode="dense")]
    assert any("kMaX" in t for t in titles)


def test_ivfpq_builds_searches_and_finds_what_flat_finds(bundled_qa, tmp_path, embedder):
    qa = PaperQA(tmp_path / "ivfpq", overrides={"index.type": "ivfpq"}, embedder=embedder)
    qa.ingest(bundled_corpus_paths())
    store = IndexStore.open(qa.index_dir)
    assert store.manifest.index_type == "ivfpq"
    # IVF-PQ codes pick candidates; an SQ8 copy (one byte a dimension) re-scores them (index.ivfpq_refine)
    assert isinstance(store.vectors, faiss.IndexRefine)
    ivfpq = faiss.downcast_index(store.vectors.base_index)
    assert "IVFPQ" in type(ivfpq).__name__
    assert ivfpq.code_size == load_config().index.ivfpq_m  # 48 bytes a vector, not 1536
    assert faiss.downcast_index(store.vectors.refine_index).code_size == 384
    query = "k-means mask transformer for panoptic segmentation"
    exact = [h.chunk.chunk_id for h in bundled_qa.search(query, k=10, mode="dense")]
    approx = [h.chunk.chunk_id for h in qa.search(query, k=10, mode="dense")]
    assert approx[0] == exact[0]
    assert len(set(approx) & set(exact)) >= 8
    source = bundled_qa.papers[exact_paper := bundled_qa.search(query, k=1, mode="dense")[0].paper_id].sources[0]
    filtered = qa.search(query, k=5, mode="dense", filters=SearchFilters(sources=[source]))
    assert filtered and all(source in h.paper.sources for h in filtered)  # the filter reaches the IVF inside
    assert exact_paper in {h.paper_id for h in filtered}
    plain = PaperQA(tmp_path / "ivfpq-plain", overrides={"index.type": "ivfpq", "index.ivfpq_refine": "none"},
                    embedder=embedder)
    plain.ingest(bundled_corpus_paths())
    assert "IVFPQ" in type(IndexStore.open(plain.index_dir).vectors).__name__
    assert plain.search(query, k=1, mode="dense")[0].chunk.chunk_id == exact[0]


def test_ivfpq_refuses_what_it_cannot_build_with_a_clear_error():
    cfg = load_config(overrides={"index.type": "ivfpq", "index.ivfpq_m": 50}).index
    with pytest.raises(IndexTypeError, match="ivfpq_m=50 does not divide the embedding dimension 384"):
        new_faiss_index(384, 10_000, cfg)
    cfg = cfg.model_copy(update={"ivfpq_m": 48})
    with pytest.raises(IndexTypeError, match="at least 256 passages") as info:
        new_faiss_index(384, 100, cfg)
    assert isinstance(info.value, PaperQAError)
