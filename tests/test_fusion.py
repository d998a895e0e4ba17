"""The retrieval parts on their own: pure fusion, the dense retriever's filter paths, BM25, and
the search result carrying its timings. Real FAISS and bm25s, tiny inputs."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from paperqa.config import IndexConfig, load_config
from paperqa.index_store import build_bm25
from paperqa.retrieval import (
    BM25Retriever,
    DenseRetriever,
    Ranked,
    fuse,
    relative_score,
    rrf,
)
from paperqa.tokenization import tokenize_query, tokenize_words


def ranked(rows: list[int], scores: list[float]) -> Ranked:
    return Ranked(np.array(rows, dtype=np.int64), np.array(scores, dtype=np.float32))


def test_rrf_sums_weighted_reciprocal_ranks() -> None:
    lists = {"dense": ranked([7, 3], [0.9, 0.8]), "bm25": ranked([3, 5], [12.0, 4.0])}
    fused = rrf(lists, {"dense": 1.0, "bm25": 2.0}, rrf_k=10)
    assert fused[3] == pytest.approx(1 / 12 + 2 / 11)
    assert fused[7] == pytest.approx(1 / 11)
    assert fused[5] == pytest.approx(2 / 12)


def test_fuse_orders_by_score_then_row_and_cuts_to_k() -> None:
    lists = {"dense": ranked([1, 2], [0.9, 0.1]), "bm25": ranked([2, 1], [5.0, 1.0])}
    out = fuse(lists, {"dense": 1.0, "bm25": 1.0}, k=5, method="rrf", rrf_k=60)
    assert out.rows.tolist() == [1, 2]  # equal RRF scores: the lower row first, deterministically
    assert len(fuse(lists, {"dense": 1.0, "bm25": 1.0}, k=1)) == 1


def test_relative_score_keeps_score_gaps() -> None:
    lists = {"dense": ranked([1, 2, 3], [0.9, 0.89, 0.1]), "bm25": ranked([3], [4.0])}
    fused = relative_score(lists, {"dense": 1.0, "bm25": 1.0})
    assert fused[1] == pytest.approx(0.5) and fused[2] == pytest.approx(0.5 * 0.79 / 0.8, rel=1e-4)
    assert fused[3] == pytest.approx(0.5)  # last in dense (0) + the only BM25 hit (1), halved


def test_fuse_of_one_ranking_is_that_ranking_cut() -> None:
    only = ranked([4, 2, 9], [3.0, 2.0, 1.0])
    out = fuse({"bm25": only}, {"bm25": 1.0}, k=2, method="relative_score")
    assert out.rows.tolist() == [4, 2] and out.scores.tolist() == [3.0, 2.0]


@pytest.fixture
def flat_vectors() -> tuple[faiss.Index, np.ndarray]:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(16)
    index.add(vectors)
    return index, vectors


def test_dense_filter_paths_agree(flat_vectors) -> None:
    """The IDSelector path (CPU) and the over-fetch path (GPU indexes) return the same rows."""
    index, vectors = flat_vectors
    dense = DenseRetriever(index, IndexConfig.model_validate(load_config().index.model_dump() | {"device": "cpu"}))
    allowed = np.arange(0, 200, 7, dtype=np.int64)
    query = vectors[5]
    selected = dense.search(query, depth=10, allowed=allowed)
    overfetched = dense._overfetch(np.ascontiguousarray(query.reshape(1, -1)), 10, allowed)
    assert len(selected) == 10 and set(selected.rows.tolist()) <= set(allowed.tolist())
    assert selected.rows.tolist() == overfetched.rows.tolist()
    brute = allowed[np.argsort(-(vectors[allowed] @ query), kind="stable")][:10]
    assert selected.rows.tolist() == brute.tolist()
    assert len(dense.search(query, depth=10, allowed=np.empty(0, np.int64))) == 0


def test_one_search_thread_gives_the_same_rows_and_restores_faiss_threads(flat_vectors, monkeypatch) -> None:
    """index.search_threads runs one question's FAISS search on that many OpenMP threads, then puts
    the previous setting back; the rows do not depend on it."""
    index, vectors = flat_vectors
    base = load_config().index.model_dump() | {"device": "cpu"}
    seen: list[int] = []
    search = index.search

    def spy(*args, **kwargs):
        seen.append(faiss.omp_get_max_threads())
        return search(*args, **kwargs)

    monkeypatch.setattr(index, "search", spy)
    before = faiss.omp_get_max_threads()
    one = DenseRetriever(index, IndexConfig.model_validate(base | {"search_threads": 1})).search(vectors[3], depth=10)
    default = DenseRetriever(index, IndexConfig.model_validate(base | {"search_threads": 0})).search(vectors[3], depth=10)
    assert seen == [1, before] and faiss.omp_get_max_threads() == before
    assert one.rows.tolist() == default.rows.tolist() and one.rows[0] == 3


def test_bm25_retriever_matches_terms_and_filters() -> None:
    cfg = load_config().retrieval
    texts = ["ADE20K segmentation with transformers", "ImageNet classification", "ADE20K and COCO detection"]
    bm25 = BM25Retriever(build_bm25(texts, cfg), cfg, size=len(texts))
    assert sorted(bm25.search("ADE20K", depth=5).rows.tolist()) == [0, 2]
    assert bm25.search("ADE20K", depth=5, allowed=np.array([1, 2])).rows.tolist() == [2]
    assert len(bm25.search("the of and", depth=5)) == 0  # stopwords only: no keyword match
    rare, common = bm25.term_weights(tokenize_query("imagenet ade20k", cfg))
    assert rare > common


def test_tokenisation_is_shared_by_index_and_query() -> None:
    cfg = load_config().retrieval
    assert tokenize_words(["Transformers segmenting images"], cfg) == [tokenize_query("transformers segmenting images", cfg)]


def test_search_result_carries_stage_timings(bundled_qa) -> None:
    result = bundled_qa.retriever.retrieve("ADE20K mIoU", k=3, mode="hybrid")
    assert len(result.hits) == 3
    assert set(result.timings) == {"embed_query", "dense", "bm25", "fuse", "total"}
    bm25_only = bundled_qa.retriever.retrieve("ADE20K mIoU", k=3, mode="bm25")
    assert set(bm25_only.timings) == {"bm25", "fuse", "total"}
    plain = bundled_qa.retriever.retrieve("vision transformer scaling", k=3, mode="hybrid")
    hits, timings = bundled_qa.search_timed("vision transformer scaling", k=3)
    assert [h.chunk.chunk_id for h in hits] == [h.chunk.chunk_id for h in plain.hits] and "total" in timings
    _, cross_paper = bundled_qa.search_timed("ADE20K mIoU", k=3)  # a cross-paper question: the table is fused
    assert {"table", "total"} <= set(cross_paper)
