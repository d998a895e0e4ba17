"""Configuration parsing, latency summaries, judge parsing: the harness's small pieces."""

import pytest

from paperqa.config import ConfigError
from paperqa.eval.judge import parse_verdict
from paperqa.eval.latency import StageTimes, summarize
from paperqa.eval.runner import (
    build_variants,
    canonical_key,
    harness_config,
    index_key,
    parse_assignments,
)


def test_parse_assignments_and_aliases():
    assert parse_assignments("mode=bm25,dense") == ("retrieval.mode", ["bm25", "dense"])
    assert parse_assignments("retrieval.dense_weight=0.5,1") == ("retrieval.dense_weight", [0.5, 1])
    assert parse_assignments("retrieval.bm25_stemmer=null,english")[1] == [None, "english"]
    assert canonical_key("rrf_k") == "retrieval.rrf_k"
    assert canonical_key("timeout") == "llm.timeout"
    with pytest.raises(ConfigError):
        parse_assignments("mode")


def test_ambiguous_bare_key():
    # 'device' is in index and embedding
    with pytest.raises(ConfigError, match="ambiguous"):
        canonical_key("device")


def test_build_variants_is_a_product_with_names():
    variants = build_variants(compare=["mode=bm25,hybrid", "retrieval.fusion=rrf,relative_score"],
                              fixed=["retrieval.k=20"])
    assert [v.name for v in variants] == [
        "mode=bm25 fusion=rrf", "mode=bm25 fusion=relative_score",
        "mode=hybrid fusion=rrf", "mode=hybrid fusion=relative_score",
    ]
    assert all(v.overrides["retrieval.k"] == 20 for v in variants)
    assert variants[3].settings().retrieval.fusion == "relative_score"


def test_build_variants_rejects_invalid_values_before_running():
    with pytest.raises(ConfigError):
        build_variants(compare=["mode=bm25,sparse"])


def test_config_set(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("retrieval:\n  mode: bm25\n")
    b.write_text("retrieval:\n  mode: dense\n")
    variants = build_variants(config_set=[a, b])
    assert [v.name for v in variants] == ["a", "b"]
    assert variants[1].settings().retrieval.mode == "dense"


def test_index_key_ignores_query_time_settings(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("{}\n")
    v = build_variants(compare=["mode=bm25,dense", "chunking.chunk_size=128,256"])
    keys = [index_key(x.settings(), [corpus]) for x in v]
    assert keys[0] != keys[1]  # chunk size changes the index
    assert keys[0] == keys[2]  # mode does not


def test_latency_summary_hand_values():
    s = summarize([0.001, 0.002, 0.003, 0.004])
    assert s.n == 4
    assert s.p50_ms == pytest.approx(2.5)
    assert s.p95_ms == pytest.approx(3.85)  # 1 + 0.95 * 3 (linear interpolation)
    assert s.max_ms == pytest.approx(4.0)
    assert summarize([]) is None
    stages = StageTimes()
    stages.add({"total": 0.01, "dense": None})
    assert set(stages.summary()) == {"total"}


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [('{"correct": true, "reason": "ok"}', True), ('Sure: {"correct": false}', False), ("No.", False),
     ("maybe", None)],
)
def test_parse_verdict(reply, verdict):
    assert parse_verdict(reply) is verdict


def test_harness_config_loads():
    cfg = harness_config()
    assert 10 in cfg.retrieval.ks and 100 in cfg.retrieval.ks
