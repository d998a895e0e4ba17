"""Issue 10's streaming ingest: slices of passages go into the index and their sentence vectors to
disk one at a time, and BM25 is built from compact token ids. Checked for behaviour: the result is
the same index as one big batch, nothing is left behind, a failure loses nothing."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest

import paperqa.index_store as index_store
from paperqa.api import PaperQA
from paperqa.config import load_config
from paperqa.index_store import IndexStore, SentenceSpill, SentenceVectors, build_bm25, slices
from paperqa.sources import bundled_corpus_paths
from paperqa.tokenization import bm25_tokenize, tokenize_query

TEXTS = [
    "MOAT reaches 57.6 mIoU on ADE20K semantic segmentation.",
    "ConvNeXt reports 87.8% ImageNet top-1 accuracy and COCO box AP.",
    "A graph neural network for molecules, evaluated on QM9.",
    "Reinforcement learning agents play Atari games from pixels.",
    "We segment ADE20K and Cityscapes scenes with a hybrid CNN-transformer.",
    "",
    "Speech recognition on LibriSpeech with word error rate 1.9.",
]


def test_slices_cover_everything_in_order():
    assert list(slices(iter(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(slices([], 3)) == []


def test_bm25_built_a_slice_at_a_time_scores_like_one_bm25s_index(monkeypatch):
    cfg = load_config().retrieval
    reference = bm25s.BM25()
    reference.index(bm25_tokenize(TEXTS, cfg), show_progress=False)
    monkeypatch.setattr(index_store, "_BM25_SLICE", 2)  # four slices, each with its own vocabulary
    built = build_bm25(iter(TEXTS), cfg)
    for query in ("ADE20K mIoU", "ImageNet top-1 accuracy", "Atari pixels", "word error rate", "unseenword"):
        tokens = tokenize_query(query, cfg)
        assert np.allclose(built.get_scores(tokens), reference.get_scores(tokens), atol=1e-6), query


def _layout(counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return SentenceVectors.layout([[(i, i + 1)] * n for i, n in enumerate(counts)])


def test_sentence_spill_writes_rows_to_disk_and_moves_into_the_version(tmp_path):
    offsets, spans = _layout([2, 1, 3])
    rows = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float16)
    spill = SentenceSpill(tmp_path / "spill.npy", offsets, spans, 4)
    spill.write(rows[:2])
    spill.write(rows[2:])
    done = spill.finish()
    assert isinstance(done.vectors, np.memmap) and np.array_equal(np.asarray(done.vectors), rows)
    assert done.offsets.tolist() == [0, 2, 3, 6]
    version = tmp_path / "version"
    version.mkdir()
    done.save(version)
    assert not (tmp_path / "spill.npy").exists()  # moved, not copied
    loaded = SentenceVectors.load(version)
    assert loaded is not None and np.array_equal(np.asarray(loaded.vectors), rows)
    assert np.array_equal(np.asarray(done.vectors), rows)  # the map still reads the moved file


def test_sentence_spill_refuses_a_short_write(tmp_path):
    offsets, spans = _layout([2, 2])
    spill = SentenceSpill(tmp_path / "spill.npy", offsets, spans, 4)
    spill.write(np.zeros((3, 4), dtype=np.float16))
    with pytest.raises(ValueError, match="3 sentence vectors written for 4"):
        spill.finish()


def test_concat_on_disk_equals_concat_in_memory(tmp_path):
    rng = np.random.default_rng(1)
    first = SentenceVectors(*_layout([1, 2]), rng.standard_normal((3, 4)).astype(np.float16))
    first.save(tmp_path)
    stored = SentenceVectors.load(tmp_path)  # memory-mapped: copied file to file
    second = SentenceVectors(*_layout([2]), rng.standard_normal((2, 4)).astype(np.float16))
    assert stored is not None
    on_disk, in_memory = stored.concat(second, tmp_path), stored.concat(second)
    assert on_disk.spill is not None and on_disk.spill.parent == tmp_path
    assert np.array_equal(np.asarray(on_disk.vectors), in_memory.vectors)
    assert np.array_equal(on_disk.offsets, in_memory.offsets) and np.array_equal(on_disk.spans, in_memory.spans)


def test_small_slices_build_the_same_index_as_one_slice(tmp_path, embedder):
    paths = bundled_corpus_paths()[:1]
    one = PaperQA(tmp_path / "one", overrides={"embedding.ingest_slice": 100_000}, embedder=embedder)
    many = PaperQA(tmp_path / "many", overrides={"embedding.ingest_slice": 7}, embedder=embedder)
    one.ingest(paths)
    many.ingest(paths)
    a, b = IndexStore.open(tmp_path / "one"), IndexStore.open(tmp_path / "many")
    assert [c.chunk_id for c in a.chunks] == [c.chunk_id for c in b.chunks] and len(a.chunks) > 7
    assert np.allclose(a.vectors.reconstruct_n(0, a.vectors.ntotal), b.vectors.reconstruct_n(0, b.vectors.ntotal),
                       atol=2e-2)
    assert a.sentences is not None and b.sentences is not None
    assert np.array_equal(a.sentences.offsets, b.sentences.offsets)
    assert np.allclose(np.asarray(a.sentences.vectors, dtype=np.float32),
                       np.asarray(b.sentences.vectors, dtype=np.float32), atol=3e-2, equal_nan=True)
    leftovers = [p.name for p in (tmp_path / "many" / "versions").iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []


def test_a_failure_in_a_later_slice_keeps_the_previous_version(tmp_path, embedder, monkeypatch):
    paths = bundled_corpus_paths()
    qa = PaperQA(tmp_path / "idx", overrides={"embedding.ingest_slice": 16}, embedder=embedder)
    qa.ingest(paths[:1])
    before = IndexStore.open(tmp_path / "idx")
    calls = []
    real = embedder.embed_passages

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full while embedding")
        return real(*args, **kwargs)

    monkeypatch.setattr(embedder, "embed_passages", failing)
    with pytest.raises(OSError, match="disk full"):
        qa.ingest(paths[1:])
    _assert_unchanged(tmp_path / "idx", before)


def _assert_unchanged(root, before: IndexStore) -> None:
    """The failed ingest left the previous version live and no scratch folder behind."""
    after = IndexStore.open(root)
    assert after.version_dir == before.version_dir and len(after.chunks) == len(before.chunks)
    assert [p.name for p in (root / "versions").iterdir() if p.name.startswith(".tmp")] == []


def test_results_rows_are_extracted_a_slice_at_a_time_into_the_table(tmp_path, embedder, monkeypatch):
    import paperqa.api as api
    from paperqa.results import RuleExtractor
    from paperqa.results_table import count_results

    monkeypatch.setattr(api, "_RESULTS_SLICE", 5)
    qa = PaperQA(tmp_path / "idx", embedder=embedder)
    report = qa.ingest(bundled_corpus_paths()[:1])
    store = IndexStore.open(tmp_path / "idx")
    expected = RuleExtractor(qa.lexicon).extract_many(store.papers.values())
    assert store.results_path is not None and len(store.papers) > 5
    assert count_results(store.results_path) == sum(r.value is not None for r in expected) > 0
    assert report.timings_s["results"] > 0 and report.timings_s["index"] >= 0


def test_a_full_disk_while_slices_are_written_is_a_clear_error_and_loses_nothing(tmp_path, embedder, monkeypatch):
    from paperqa.errors import PaperQAError

    paths = bundled_corpus_paths()
    qa = PaperQA(tmp_path / "idx", overrides={"embedding.ingest_slice": 16}, embedder=embedder)
    qa.ingest(paths[:1])
    before = IndexStore.open(tmp_path / "idx")

    def full(self, rows):
        raise OSError(28, "No space left on device", str(self.path))

    monkeypatch.setattr(SentenceSpill, "write", full)
    with pytest.raises(PaperQAError, match="No space left on device.*the index is unchanged"):
        qa.ingest(paths[1:])
    _assert_unchanged(tmp_path / "idx", before)
