"""answer.format json: the schema sent to the server, incremental sentences, refusal field, fallbacks."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from fake_vllm import FakeVLLM, Reply
from hit_factory import drain, llm_settings, sample_hits

from paperqa.answer_json import JsonAnswerReader, JsonSentence, answer_schema, render_sentence
from paperqa.config import ConfigError, load_config
from paperqa.generation import AnswerGenerator, LLMUnavailableError
from paperqa.models import Answer
from paperqa.prompting import fit_answer_prompt, load_prompts

QUESTION = "Which of these models are pure convnets?"
REFUSAL = "No passage in the index answers this question."


def json_generator(server: FakeVLLM, **llm: Any) -> AnswerGenerator:
    return AnswerGenerator(llm_settings(server.base_url, **llm).with_overrides({"answer.format": "json"}))


def run(gen: AnswerGenerator, n_hits: int = 3) -> tuple[list[str], Answer]:
    return drain(gen.stream(QUESTION, sample_hits(n_hits)))


def reply_json(*sentences: tuple[str, list[int]], refused: bool = False, **reply: Any) -> Reply:
    body = {"sentences": [{"text": t, "citations": c} for t, c in sentences], "refused": refused}
    return Reply(content=json.dumps(body), **reply)


def sent_schema(server: FakeVLLM) -> dict[str, Any]:
    body = server.chat_requests[-1].body or {}
    assert body["response_format"]["type"] == "json_schema"
    return body["response_format"]["json_schema"]["schema"]


def enum_schema_answer(schema: dict[str, Any]) -> dict[str, Any]:
    return next(alt for alt in schema["anyOf"] if alt["properties"]["refused"]["const"] is False)


def enum_keys(schema: dict[str, Any]) -> list[int]:
    return enum_schema_answer(schema)["properties"]["sentences"]["items"]["properties"]["citations"]["items"]["enum"]


def passage_keys(server: FakeVLLM) -> list[int]:
    user = server.chat_requests[-1].messages[-1]["content"]
    return [int(k) for k in re.findall(r'<passage key="(\d+)"', user)]


# -- the schema ---------------------------------------------------------------------------------
def test_schema_is_sent_and_its_enum_is_the_passages_in_the_prompt(fake_vllm: FakeVLLM) -> None:
    _, answer = run(json_generator(fake_vllm), n_hits=4)
    schema = sent_schema(fake_vllm)
    assert enum_keys(schema) == passage_keys(fake_vllm) == [1, 2, 3, 4]
    assert fake_vllm.chat_requests[-1].messages[0]["content"] == load_prompts()["answer_json"].system.format()
    assert list(enum_schema_answer(schema)["properties"]) == ["sentences", "refused"]  # measured: see answer_json
    assert answer.stats.answer_format == "json"
    assert answer.stats.prompt_version == load_prompts()["answer_json"].label
    assert [c.paper_id for c in answer.citations] == ["paper-1", "paper-2"]
    assert answer.uncited_sentences == [] and answer.invalid_citations == [] and not answer.refused


def test_enum_shrinks_with_the_passages_that_fit_the_window() -> None:
    hits = sample_hits(4)
    two = fit_answer_prompt(QUESTION, hits[:2], REFUSAL, 100_000, 128, fmt="json")
    with FakeVLLM(max_model_len=two.prompt_tokens + 128 + 5) as server:
        gen = AnswerGenerator(llm_settings(server.base_url, max_tokens=128).with_overrides({"answer.format": "json"}))
        answer = gen.answer(QUESTION, hits)
        assert enum_keys(sent_schema(server)) == passage_keys(server) == [1, 2]
    assert answer.stats.settings["passages_dropped"] == 2


def test_schema_rules_out_invented_and_missing_citations() -> None:
    schema = answer_schema(3)
    jsonschema.Draft202012Validator.check_schema(schema)
    ok = {"refused": False, "sentences": [{"text": "ViT is a transformer.", "citations": [1, 3]}]}
    jsonschema.validate(ok, schema)
    jsonschema.validate({"refused": True, "sentences": []}, schema)
    bad = [
        {"refused": False, "sentences": [{"text": "Invented.", "citations": [4]}]},     # not a passage
        {"refused": False, "sentences": [{"text": "Uncited.", "citations": []}]},       # no citation
        {"refused": False, "sentences": [{"text": "Uncited."}]},                        # citations missing
        {"refused": False, "sentences": []},                                            # an empty answer
        {"refused": True, "sentences": [{"text": "Both.", "citations": [1]}]},          # refusal with text
        {"refused": "no", "sentences": []},                                             # not a boolean
        {"sentences": [{"text": "x", "citations": [1]}]},                               # refusal field missing
        {"refused": False, "sentences": [{"text": "x", "citations": ["1"]}]},           # keys are integers
    ]
    for instance in bad:
        assert not jsonschema.Draft202012Validator(schema).is_valid(instance), instance


def test_the_stand_in_refuses_replies_the_schema_forbids(fake_vllm: FakeVLLM) -> None:
    """Like constrained decoding: a scripted reply citing passage 9 of 3 can never be sent."""
    fake_vllm.queue(*[reply_json(("Invented.", [9]))] * 3)
    with pytest.raises(LLMUnavailableError, match="does not conform"):
        run(json_generator(fake_vllm, retries=0))


# -- streaming ----------------------------------------------------------------------------------
def test_reader_reports_each_sentence_when_its_object_closes() -> None:
    text = json.dumps({"sentences": [{"text": "A is B.", "citations": [2]},
                                     {"text": "C is D.", "citations": [1, 2]}], "refused": False})
    reader = JsonAnswerReader()
    seen: list[tuple[int, JsonSentence]] = []
    for i, char in enumerate(text):
        seen += [(i, s) for s in reader.feed(char)]
    assert reader.close() == [] and reader.error is None and reader.refused is False
    closes = [i for i, c in enumerate(text) if c == "}"][:2]
    assert seen == [(closes[0], JsonSentence("A is B.", (2,))), (closes[1], JsonSentence("C is D.", (1, 2)))]


def test_deltas_are_finished_sentences_with_renumbered_marks(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(reply_json(("ConvNeXt is built from ConvNet modules.", [2]),
                               ("EfficientNet-B7 is convolutional", [4, 2]),
                               ("Both are convnets. Neither is a transformer.", [2]), chunk_chars=3))
    deltas, answer = run(json_generator(fake_vllm), n_hits=4)
    assert deltas == ["ConvNeXt is built from ConvNet modules [1].",
                      " EfficientNet-B7 is convolutional [2, 1].",
                      " Both are convnets [1]. Neither is a transformer [1]."]
    assert "".join(deltas) == answer.text
    assert [c.paper_id for c in answer.citations] == ["paper-2", "paper-4"]  # each claim in its passage
    assert answer.uncited_sentences == [] and answer.invalid_citations == []


def test_marks_typed_inside_the_text_do_not_cite(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(reply_json(("ViT [3] is a pure transformer [2].", [1])))
    _, answer = run(json_generator(fake_vllm))
    assert answer.text == "ViT is a pure transformer [1]."
    assert [c.paper_id for c in answer.citations] == ["paper-1"]


def test_refusal_is_a_field(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(reply_json(refused=True))
    deltas, answer = run(json_generator(fake_vllm))
    assert answer.refused and answer.text == REFUSAL and answer.citations == []
    assert deltas == [REFUSAL]


def test_refusal_sentence_in_text_is_not_a_refusal_flag(fake_vllm: FakeVLLM) -> None:
    """Only the field refuses: the magic sentence written as a cited claim is checked like any sentence
    (its passage does not support it, so it is dropped) and the supported claim beside it is the answer."""
    fake_vllm.queue(reply_json((REFUSAL, [1]), ("ConvNeXt is built from ConvNet modules.", [2])))
    _, answer = run(json_generator(fake_vllm))
    assert not answer.refused and [c.paper_id for c in answer.citations] == ["paper-2"]
    assert REFUSAL not in answer.text


def test_answer_cut_at_max_tokens_keeps_its_complete_sentences(fake_vllm: FakeVLLM) -> None:
    full = reply_json(("ConvNeXt is built from ConvNet modules.", [2]), ("EfficientNet is", [3])).content
    fake_vllm.queue(Reply(content=full[: full.index("EfficientNet") + 6], finish_reason="length"))
    deltas, answer = run(json_generator(fake_vllm))
    assert deltas == ["ConvNeXt is built from ConvNet modules [1]."] and answer.text == deltas[0]
    assert answer.notice and "max_tokens" in answer.notice
    assert answer.stats.settings["json_error"]


def test_whitespace_padding_is_stopped_and_keeps_complete_sentences(fake_vllm: FakeVLLM) -> None:
    """Seen on real vLLM with SmolLM2-135M: JSON grammars allow any whitespace, and the model pads until max_tokens."""
    start = '{"sentences": [{"text": "ConvNeXt is built from ConvNet modules.", "citations": [2]}, {"text": "It'
    fake_vllm.queue(Reply(content=start + '", "citations": [' + " " * 5000, chunk_chars=7, finish_reason="length"))
    deltas, answer = run(json_generator(fake_vllm))
    assert deltas == ["ConvNeXt is built from ConvNet modules [1]."] and answer.text == deltas[0]
    assert answer.stats.settings["finish_reason"] == "degenerate"
    assert answer.stats.completion_tokens < 200  # stopped long before the 5,000 spaces were sent
    assert answer.notice and "padding" in answer.notice
    fake_vllm.queue(Reply(content='{"sentences": [' + "\n" * 5000, finish_reason="length"))
    with pytest.raises(LLMUnavailableError, match="padded it with whitespace"):
        run(json_generator(fake_vllm))


def test_reader_whitespace_runs_span_deltas() -> None:
    reader = JsonAnswerReader()
    for delta in ['{"sentences": [', " " * 20, "\n" * 10, " ", " ]"]:
        reader.feed(delta)
    assert not reader.degenerate  # 32 in a row is still allowed
    reader.feed(" " * 33)
    assert reader.degenerate and reader.error


def test_answer_cut_before_its_first_sentence_is_unavailable(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(content='{"sentences": [{"text": "ConvNeXt', finish_reason="length"))
    with pytest.raises(LLMUnavailableError, match="no complete sentence"):
        run(json_generator(fake_vllm))


# -- servers without structured outputs -----------------------------------------------------------
def test_schema_rejected_falls_back_to_text_with_a_notice(fake_vllm: FakeVLLM) -> None:
    fake_vllm.structured_outputs = False
    deltas, answer = run(json_generator(fake_vllm))
    first, second = fake_vllm.chat_requests
    assert "response_format" in (first.body or {}) and "response_format" not in (second.body or {})
    assert second.messages[0]["content"].startswith(load_prompts()["answer_text"].system.split("\n")[0])
    assert answer.stats.answer_format == "text" and answer.stats.prompt_version == load_prompts()["answer_text"].label
    assert answer.notice and "refused the JSON answer format" in answer.notice and "HTTP 400" in answer.notice
    assert [c.paper_id for c in answer.citations] == ["paper-1", "paper-2"]
    assert "".join(deltas) == answer.text


def test_schema_that_does_not_compile_falls_back_to_text(fake_vllm: FakeVLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    """A streamed request gets HTTP 200 and an error event with code 400, as vLLM 0.32 sends it."""
    from paperqa import generation

    monkeypatch.setattr(generation, "response_format", lambda n: {
        "type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "nonsense"}}})
    _, answer = run(json_generator(fake_vllm, retries=0))
    assert answer.stats.answer_format == "text"
    assert answer.notice and "refused the JSON answer format (HTTP 400: Grammar error" in answer.notice
    assert len(fake_vllm.chat_requests) == 2


def test_server_ignoring_the_schema_is_checked_as_text(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(content="ConvNeXt is built from ConvNet modules [2]. It is great [7].", unconstrained=True))
    _, answer = run(json_generator(fake_vllm))
    assert answer.notice and "not JSON" in answer.notice
    assert [c.paper_id for c in answer.citations] == ["paper-2"] and answer.invalid_citations == ["[7]"]


# -- rendering and config -------------------------------------------------------------------------
@pytest.mark.parametrize(("sentence", "rendered"), [
    (JsonSentence("ViT is a transformer.", (2, 1, 2)), "ViT is a transformer [2, 1]."),
    (JsonSentence("no end punctuation", (1,)), "no end punctuation [1]."),
    (JsonSentence("Line\nbreak!", (1,)), "Line break [1]!"),
    (JsonSentence("   ", (1,)), ""),
    (JsonSentence("[1]", (1,)), ""),
])
def test_render_sentence(sentence: JsonSentence, rendered: str) -> None:
    assert render_sentence(sentence) == rendered


def test_format_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERQA_ANSWER__FORMAT", "json")
    assert load_config().answer.format == "json"
    monkeypatch.setenv("PAPERQA_ANSWER__FORMAT", "xml")
    with pytest.raises(ConfigError, match="answer.format"):
        load_config()
