"""Issue 10's speed levers, checked for behaviour (timings live in benchmarks/speed.py, never here):
the embedding dtype, stored sentence vectors, the question-vector cache, and lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from paperqa.api import PaperQA
from paperqa.chunking import sentence_spans
from paperqa.config import ConfigError, load_config
from paperqa.embedding import Embedder, cpu_has_native_bf16, resolve_dtype
from paperqa.index_store import IndexStore, SentenceVectors
from paperqa.sources import bundled_corpus_paths

SRC = Path(__file__).resolve().parents[1] / "src"


# ----- dtype -------------------------------------------------------------------------------------


def test_dtype_auto_follows_the_cpu_flags(tmp_path):
    with_bf16 = tmp_path / "bf16"
    with_bf16.write_text("flags\t\t: fpu sse avx512f avx512_bf16 amx_tile\n")
    without = tmp_path / "plain"
    without.write_text("flags\t\t: fpu sse avx2 avx512f\n")
    assert cpu_has_native_bf16(str(with_bf16))
    assert not cpu_has_native_bf16(str(without))
    assert not cpu_has_native_bf16(str(tmp_path / "missing"))
    assert resolve_dtype("auto", "cuda") == "bfloat16"
    assert resolve_dtype("float32", "cuda") == "float32"
    assert resolve_dtype("float16", "cpu") == "float16"
    expected = "bfloat16" if cpu_has_native_bf16() else "float32"
    assert resolve_dtype("auto", "cpu") == expected


def test_unknown_dtype_is_a_config_error():
    with pytest.raises(ConfigError, match="embedding.dtype"):
        load_config(overrides={"embedding.dtype": "int4"})


def test_an_index_of_one_dtype_is_searched_with_another(bundled_qa, embedder):
    """Vectors are interchangeable: the dtype is recorded for information, never refused."""
    other = "float32" if embedder.dtype != "float32" else "bfloat16"
    manifest = json.loads(next((bundled_qa.index_dir / "versions").glob("v*/manifest.json")).read_text())
    assert manifest["embedding_dtype"] == embedder.dtype
    qa = PaperQA(bundled_qa.index_dir, overrides={"embedding.dtype": other})
    assert qa.embedder.dtype == other
    question = "Which papers report mIoU on ADE20K?"
    theirs = [h.paper_id for h in qa.search(question, mode="dense", k=5)]
    ours = [h.paper_id for h in bundled_qa.search(question, mode="dense", k=5)]
    assert theirs[:3] == ours[:3]


def test_bf16_vectors_stay_close_to_float32(embedder):
    texts = ["Swin Transformer reaches 53.5 mIoU on ADE20K.", "We study lane detection in traffic scenes."]
    fp32 = Embedder(load_config(overrides={"embedding.dtype": "float32"}).embedding)
    bf16 = Embedder(load_config(overrides={"embedding.dtype": "bfloat16"}).embedding)
    cosine = (fp32.embed_texts(texts) * bf16.embed_texts(texts)).sum(axis=1)
    assert cosine.min() > 0.99


# ----- question vectors ----------------------------------------------------------------------------


def test_question_vector_is_cached_and_read_only(embedder):
    first = embedder.embed_query("What is attention?")
    assert embedder.embed_query("What is attention?") is first  # search and answer share one encoding
    with pytest.raises(ValueError):
        first[0] = 1.0
    embedder.clear_cache()
    again = embedder.embed_query("What is attention?")
    assert again is not first
    assert np.allclose(again, first, atol=1e-5)


def test_query_encoder_without_sentence_transformers_gives_the_same_vector():
    """The cold-start path (transformers alone) and sentence-transformers agree on a question's vector."""
    fp32 = Embedder(load_config(overrides={"embedding.dtype": "float32"}).embedding)
    assert fp32._light_pooling == "mean"
    questions = ["Which papers report mIoU on ADE20K?", "attention " * 400]  # the second is truncated
    light = np.stack([fp32.embed_query(q) for q in questions])
    assert "_model" not in fp32.__dict__  # sentence-transformers was not loaded for it
    assert fp32._query_encoder._traced is not None  # on CPU the frozen TorchScript trace runs
    fp32.load()
    full = fp32._model.encode(questions, batch_size=1, normalize_embeddings=True, convert_to_numpy=True)
    assert np.allclose(light, full, atol=1e-5)


def test_query_encoder_trace_is_cached_on_disk(tmp_path, monkeypatch):
    """A second cold start loads the frozen trace and tokenizer from the cache: no transformers
    model is loaded, and the question's vector is the same as sentence-transformers gives."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    questions = ["Which papers report mIoU on ADE20K?", "Ünïcode naïve café", "attention " * 400]
    first = Embedder(load_config(overrides={"embedding.dtype": "float32"}).embedding)
    built = np.stack([first.embed_query(q) for q in questions])
    assert first._query_encoder.model is not None
    entries = list((tmp_path / "paperqa" / "query-encoder").iterdir())
    assert len(entries) == 1 and {p.name for p in entries[0].iterdir()} == {"encoder.pt", "tokenizer.json"}
    second = Embedder(load_config(overrides={"embedding.dtype": "float32"}).embedding)
    cached = np.stack([second.embed_query(q) for q in questions])
    assert second._query_encoder.model is None and second._query_encoder._traced is not None
    assert np.allclose(built, cached, atol=1e-6)
    reference = second.load()._model.encode(questions, normalize_embeddings=True, convert_to_numpy=True)
    assert np.allclose(cached, reference, atol=1e-5)
    (entries[0] / "encoder.pt").write_bytes(b"not a torchscript file")  # damaged: rebuilt, not fatal
    third = Embedder(load_config(overrides={"embedding.dtype": "float32"}).embedding)
    assert np.allclose(third.embed_query(questions[0]), built[0], atol=1e-6)
    assert third._query_encoder.model is not None
    fourth = Embedder(load_config(overrides={"embedding.dtype": "float32"}).embedding)  # the entry was replaced
    assert np.allclose(fourth.embed_query(questions[0]), built[0], atol=1e-6)
    assert fourth._query_encoder.model is None


def test_query_encoder_shares_loaded_weights_and_matches_eager():
    """With sentence-transformers loaded first, the question encoder reuses its transformer; the
    traced path and the eager model give the same vector for questions of any length."""
    fp32 = Embedder(load_config(overrides={"embedding.dtype": "float32"}).embedding).load()
    encoder = fp32._query_encoder
    assert encoder.model is fp32._model[0].auto_model
    questions = ["ADE20K?", "Which papers report mIoU on ADE20K with a hybrid CNN-transformer backbone?"]
    traced = np.stack([encoder.encode(q) for q in questions])
    encoder._traced = None  # the eager fallback
    eager = np.stack([encoder.encode(q) for q in questions])
    assert np.allclose(traced, eager, atol=1e-5)


# ----- sentence vectors ------------------------------------------------------------------------------


def test_sentence_vectors_round_trip(tmp_path):
    spans = [[(0, 5), (6, 12)], [], [(0, 3)]]
    vectors = [np.eye(3, dtype=np.float32)[:2], np.zeros((0, 3), np.float32), np.full((1, 3), np.nan, np.float32)]
    built = SentenceVectors.from_flat(spans, np.concatenate(vectors))
    assert built.vectors.dtype == np.float16
    with pytest.raises(ValueError, match="2 sentence vectors for 3"):
        SentenceVectors.from_flat(spans, np.concatenate(vectors)[:2])
    assert len(built) == 3
    assert built.of_chunk(1)[0].shape == (0, 2)
    both = built.concat(built)
    assert len(both) == 6
    assert both.of_chunk(3)[0].tolist() == [[0, 5], [6, 12]]
    both.save(tmp_path)
    loaded = SentenceVectors.load(tmp_path)
    assert loaded is not None
    assert loaded.offsets.tolist() == both.offsets.tolist()
    assert np.isnan(loaded.of_chunk(5)[1]).all()
    assert SentenceVectors.load(tmp_path / "nothing-here") is None


def test_ingest_workers_give_the_same_vectors_as_one_batch_at_a_time():
    """Batches encoded side by side (embedding.ingest_workers) land in their own rows: passage and
    sentence vectors equal those of one batch at a time, whatever order the batches finish in."""
    texts = [f"Paper {i}. " + "We report results on ADE20K. " * (1 + i % 7) + "It works." for i in range(23)]
    spans = [[(0, len(f"Paper {i}."))] for i in range(23)]
    overrides = {"embedding.dtype": "float32", "embedding.batch_size": 4}
    serial = Embedder(load_config(overrides={**overrides, "embedding.ingest_workers": 1}).embedding)
    parallel = Embedder(load_config(overrides={**overrides, "embedding.ingest_workers": 3}).embedding)
    assert parallel.ingest_workers == 3 and serial.ingest_workers == 1
    one, many = serial.embed_passages(texts, spans), parallel.embed_passages(texts, spans)
    assert np.allclose(one.passages, many.passages, atol=1e-5)
    assert many.sentences is not None and one.sentences is not None
    assert np.allclose(one.sentences.astype(np.float32), many.sentences.astype(np.float32), atol=2e-3)
    assert np.allclose(many.passages, parallel.embed_texts(texts), atol=1e-5)  # no spans: same passages


def test_batches_are_sorted_by_token_count_and_rows_come_back_in_order(monkeypatch):
    """Ingest batches group texts of the same token count (padded to a multiple of 8, so few shapes
    reach the kernels), and every vector lands in its text's row: equal to encoding the text alone."""
    texts = ["ADE20K " * n + f"end {n}." for n in (30, 2, 17, 2, 45, 9, 30, 1)]
    embedder = Embedder(load_config(overrides={"embedding.dtype": "float32", "embedding.batch_size": 3,
                                                "embedding.ingest_workers": 1}).embedding)
    lengths = [len(embedder._model.tokenizer(t)["input_ids"]) for t in texts]
    order = embedder._batch_order(texts)
    assert [lengths[i] for i in order] == sorted(lengths)
    shapes: list[tuple[int, ...]] = []
    forward = embedder._model.forward

    def spy(features, **kwargs):
        shapes.append(tuple(features["input_ids"].shape))
        return forward(features, **kwargs)

    monkeypatch.setattr(embedder._model, "forward", spy)
    vectors = embedder.embed_passages(texts).passages
    assert shapes and all(width % 8 == 0 for _, width in shapes)
    alone = np.stack([embedder.embed_passages([t]).passages[0] for t in texts])
    assert np.allclose(vectors, alone, atol=1e-5)


def test_pooled_sentence_vectors_match_the_sentences(bundled_qa, embedder):
    """Stored spans are the sentences of each chunk; each pooled vector is closest to its own sentence."""
    store = bundled_qa.retriever.store
    assert store.manifest.sentence_vectors == "pooled"
    assert store.sentences is not None and len(store.sentences) == len(store.chunks)
    chunk = next(c for c in store.chunks if len(sentence_spans(c.text)) >= 4)
    spans, vectors = store.sentences_of(chunk)
    assert [tuple(s) for s in spans.tolist()] == sentence_spans(chunk.text)
    alone = embedder.embed_texts([chunk.text[a:b] for a, b in spans.tolist()])
    similarity = np.asarray(vectors, dtype=np.float32) @ alone.T
    # Pooled from tokens that saw the whole passage, so only near their sentence, not equal to it
    # (hence the re-scoring of a shortlist, answer.rescore_sentences).
    assert np.diag(similarity).mean() > 0.5
    assert (similarity.argmax(axis=1) == np.arange(len(spans))).mean() >= 0.5


def test_extractive_answer_encodes_only_the_shortlist(bundled_qa, monkeypatch):
    calls: list[int] = []
    original = bundled_qa.embedder.embed_texts

    def counting(texts, progress=False, query_time=False):
        calls.append(len(texts))
        return original(texts, progress, query_time)

    monkeypatch.setattr(bundled_qa.embedder, "embed_texts", counting)
    question = "Which papers report mIoU on ADE20K?"
    for rescore, encoded in ((5, [5]), (0, [])):  # 0: every sentence vector comes from the index
        calls.clear()
        # the passage path (cross-paper questions otherwise go to the results table, which encodes nothing)
        overrides = {"answer.rescore_sentences": rescore, "answer.table_questions": False}
        answer = bundled_qa.with_settings(overrides).ask(question)
        assert not answer.refused
        assert any("ADE20K" in c.quote for c in answer.citations)
        assert calls == encoded  # never every candidate sentence (the question goes through embed_query)


def test_index_without_sentence_vectors_still_answers(tmp_path, embedder):
    """An index made before sentence vectors existed (or with them off) encodes sentences when asked."""
    folder = tmp_path / "none"
    qa = PaperQA(folder, overrides={"embedding.sentence_vectors": "none"}, embedder=embedder)
    qa.ingest([bundled_corpus_paths()[0]])
    store = IndexStore.open(folder)
    assert store.sentences is None and store.manifest.sentence_vectors == "none"
    assert not list((folder / "versions").glob("v*/sentence_*.npy"))
    answer = qa.ask("Which papers report mIoU on ADE20K?")
    assert answer.citations or answer.refused
    # Adding papers keeps the index consistent: still without sentence vectors.
    qa.ingest(bundled_corpus_paths()[1:])
    assert IndexStore.open(folder).sentences is None


def test_incremental_ingest_extends_sentence_vectors(tmp_path, embedder):
    paths = bundled_corpus_paths()
    qa = PaperQA(tmp_path / "idx", embedder=embedder)
    qa.ingest(paths[:1])
    first = IndexStore.open(tmp_path / "idx")
    qa.ingest(paths[1:])
    store = IndexStore.open(tmp_path / "idx")
    assert store.sentences is not None and len(store.sentences) == len(store.chunks)
    assert len(store.chunks) > len(first.chunks)
    for chunk in (store.chunks[0], store.chunks[-1]):
        spans, _ = store.sentences_of(chunk)
        assert [tuple(s) for s in spans.tolist()] == sentence_spans(chunk.text)


# ----- lazy imports ------------------------------------------------------------------------------------


def test_bm25_search_imports_no_model_llm_or_ui_library(bundled_index_dir):
    """`paperqa search --mode bm25` and `info` must not pay for torch, llama-index, openai or Gradio."""
    script = f"""
import json, sys
from typer.testing import CliRunner
from paperqa.cli import app
for args in (["search", "mIoU ADE20K", "--mode", "bm25"], ["info"]):
    result = CliRunner().invoke(app, [*args, "--index-dir", {str(bundled_index_dir)!r}])
    assert result.exit_code == 0, result.output
heavy = ("torch", "sentence_transformers", "transformers", "llama_index.core", "openai", "gradio", "matplotlib")
print(json.dumps([m for m in heavy if m in sys.modules]))
"""
    assert _heavy_modules_loaded(script) == []


def test_hybrid_search_loads_no_sentence_transformers(bundled_index_dir):
    """A search needs its question's vector only: torch and transformers, not sentence-transformers,
    scikit-learn, llama-index or the LLM client."""
    script = f"""
import json, sys
from paperqa.api import PaperQA
hits = PaperQA({str(bundled_index_dir)!r}).search("Which papers report mIoU on ADE20K?")
assert hits and hits[0].dense_rank is not None
heavy = ("sentence_transformers", "sklearn", "llama_index.core", "openai", "gradio", "matplotlib")
print(json.dumps([m for m in heavy if m in sys.modules]))
"""
    assert _heavy_modules_loaded(script) == []


def _heavy_modules_loaded(script: str) -> list[str]:
    """Run ``script`` (which prints a JSON list of the heavy modules it loaded) in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
