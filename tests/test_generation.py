"""AnswerGenerator end to end against the stand-in vLLM server, on real Hit objects."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fake_vllm import FakeVLLM, RecordedRequest, Reply, _approx_tokens, cite_passages_responder
from hit_factory import drain, llm_settings, sample_hits

from paperqa.generation import AnswerGenerator, LLMUnavailableError, parse_verdict
from paperqa.models import Answer
from paperqa.prompting import (
    ANSWER_SYSTEM,
    count_message_tokens,
    fit_answer_prompt,
    passage_block,
)

QUESTION = "Which of these models are pure convnets?"


def generator(server: FakeVLLM, **llm: Any) -> AnswerGenerator:
    return AnswerGenerator(llm_settings(server.base_url, **llm))


def with_answer(generator: AnswerGenerator, **answer: Any) -> AnswerGenerator:
    generator.settings = generator.settings.with_overrides({f"answer.{k}": v for k, v in answer.items()})
    return generator


def run(gen: AnswerGenerator, question: str = QUESTION, n_hits: int = 3, history: list | None = None
        ) -> tuple[list[str], Answer]:
    return drain(gen.stream(question, sample_hits(n_hits), history))


def is_answer_request(request: RecordedRequest) -> bool:
    return request.messages[0]["content"].startswith(ANSWER_SYSTEM.split("\n")[0])


def test_streamed_answer_with_valid_citations(fake_vllm: FakeVLLM) -> None:
    deltas, answer = run(generator(fake_vllm))
    assert len(deltas) > 2
    assert "".join(deltas) == answer.text
    assert answer.mode == "generated" and not answer.refused
    assert [c.key for c in answer.citations] == [1, 2]
    assert [c.paper_id for c in answer.citations] == ["paper-1", "paper-2"]
    for citation in answer.citations:
        assert citation.passage[citation.quote_start : citation.quote_end] == citation.quote
        assert citation.quote in answer.text.replace(" [1]", "").replace(" [2]", "")
    assert answer.invalid_citations == [] and answer.uncited_sentences == []
    assert len(answer.hits) == 3
    stats = answer.stats
    assert stats.model == "fake/qwen-stand-in" and stats.prompt_tokens and stats.completion_tokens
    assert stats.time_to_first_token_s is not None and stats.total_s >= stats.time_to_first_token_s
    assert stats.settings["token_counts"] == "server usage" and stats.settings["passages_dropped"] == 0
    assert stats.settings["context_window"] == 8192
    prompt = fake_vllm.chat_requests[0].prompt_text
    for hit in sample_hits(3):
        assert hit.text in prompt and hit.title in prompt
    assert "[1] Title: An Image is Worth 16x16 Words" in prompt
    assert "No passage in the index answers this question." in prompt


def test_answer_is_the_final_streamed_object(fake_vllm: FakeVLLM) -> None:
    answer = generator(fake_vllm).answer(QUESTION, sample_hits(2))
    assert isinstance(answer, Answer) and len(answer.citations) == 2


def test_invented_citations_are_removed_and_reported(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(content="ConvNeXt uses only ConvNet modules [2][7]. EfficientNet is convolutional [9]."))
    deltas, answer = run(generator(fake_vllm))
    assert answer.text == "ConvNeXt uses only ConvNet modules [1]."  # uncited: dropped (answer.keep_uncited false)
    assert answer.invalid_citations == ["[7]", "[9]"]
    assert [c.paper_id for c in answer.citations] == ["paper-2"]
    assert answer.uncited_sentences == ["EfficientNet is convolutional."]
    assert "[7]" not in "".join(deltas) and "[9]" not in "".join(deltas)


def test_answer_without_citations_lists_uncited_sentences(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(content="ConvNeXt is a pure ConvNet. EfficientNet is too."))
    _, answer = run(with_answer(generator(fake_vllm), keep_uncited=True))
    assert answer.citations == [] and not answer.refused
    assert answer.uncited_sentences == ["ConvNeXt is a pure ConvNet.", "EfficientNet is too."]


def test_uncited_sentences_dropped_when_keep_uncited_is_false(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(content="Good question. ConvNeXt is built from ConvNet modules [2]."))
    gen = with_answer(generator(fake_vllm), keep_uncited=False)
    _, answer = run(gen)
    assert answer.text == "ConvNeXt is built from ConvNet modules [1]."
    assert answer.uncited_sentences == ["Good question."]


def test_refusal_sets_refused_and_no_citations(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(content="No passage in the index answers this question."))
    _, answer = run(generator(fake_vllm), question="What is the boiling point of water on Mars?")
    assert answer.refused and answer.citations == []
    assert answer.text == "No passage in the index answers this question."


def test_no_hits_refuses_without_calling_the_model(fake_vllm: FakeVLLM) -> None:
    answer = generator(fake_vllm).answer(QUESTION, [])
    assert answer.refused and answer.stats.settings["refusal_reason"] == "no passage was retrieved"
    assert fake_vllm.chat_requests == []


def test_http_500_then_success(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(status=500, message="boom"))
    _, answer = run(generator(fake_vllm))
    assert len(answer.citations) == 2 and answer.stats.settings["attempts"] == 2


def test_stream_cut_mid_answer_raises_unavailable(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(content="ConvNeXt is a ConvNet [2]. And more text here.", chunk_chars=4, cut_after=3))
    with pytest.raises(LLMUnavailableError, match="stream broke"):
        run(generator(fake_vllm))


def test_server_killed_mid_stream(fake_vllm: FakeVLLM) -> None:
    """The whole server goes away while answering: no retry can succeed, the error is clear."""
    gen = generator(fake_vllm, retries=1)
    fake_vllm.queue(Reply(content="ConvNeXt is a ConvNet [2]. More.", chunk_chars=4, chunk_delay_s=0.05))
    stream = gen.stream(QUESTION, sample_hits(2))
    first = next(stream)
    assert isinstance(first, str)
    fake_vllm.kill()
    with pytest.raises(LLMUnavailableError):
        for _ in stream:
            pass


def test_answer_cut_at_max_tokens_carries_a_notice(fake_vllm: FakeVLLM) -> None:
    cut_short = "ConvNeXt is built from standard ConvNet modules [2]. It also"
    fake_vllm.queue(Reply(content=cut_short, finish_reason="length"))
    _, answer = run(generator(fake_vllm, max_tokens=64))
    assert answer.notice == "The model's answer reached llm.max_tokens (64 tokens) and was cut short."
    assert answer.stats.settings["finish_reason"] == "length" and answer.uncited_sentences == ["It also"]


def test_usage_counted_when_the_server_reports_none(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(content="ConvNeXt is a ConvNet [2].", usage=False))
    _, answer = run(generator(fake_vllm))
    assert answer.stats.settings["token_counts"] == "estimated (cl100k_base)"
    assert answer.stats.prompt_tokens and answer.stats.prompt_tokens > 100
    assert answer.stats.completion_tokens and answer.stats.completion_tokens >= 5


def test_model_not_served_is_a_clear_error(fake_vllm: FakeVLLM) -> None:
    gen = generator(fake_vllm, model="Qwen/Qwen2.5-7B-Instruct")
    with pytest.raises(LLMUnavailableError, match="not served"):
        gen.answer(QUESTION, sample_hits(2))


# -- prompt fitting ---------------------------------------------------------------------------
def test_fit_drops_lowest_ranked_passages_whole() -> None:
    hits = sample_hits(4)
    full = fit_answer_prompt(QUESTION, hits, "Refuse.", context_window=100_000, max_tokens=100)
    assert full.dropped == 0 and len(full.hits) == 4
    # A budget with room for exactly two passages.
    two = fit_answer_prompt(QUESTION, hits[:2], "Refuse.", context_window=100_000, max_tokens=100)
    window = two.prompt_tokens + 100 + 5
    fitted = fit_answer_prompt(QUESTION, list(reversed(hits)), "Refuse.", context_window=window, max_tokens=100)
    assert [h.rank for h in fitted.hits] == [1, 2] and fitted.dropped == 2
    assert fitted.prompt_tokens <= fitted.budget == window - 100
    prompt = fitted.messages[1]["content"]
    assert passage_block(1, hits[0], fence=fitted.fence) in prompt
    assert passage_block(2, hits[1], fence=fitted.fence) in prompt
    assert hits[2].text not in prompt and hits[3].title not in prompt


def test_small_server_window_drops_passages_and_reports_it() -> None:
    hits = sample_hits(4)
    two = fit_answer_prompt(QUESTION, hits[:2], "No passage in the index answers this question.",
                            context_window=100_000, max_tokens=128)
    with FakeVLLM(max_model_len=two.prompt_tokens + 128 + 5) as server:
        gen = generator(server, max_tokens=128)
        answer = gen.answer(QUESTION, hits)
        sent = server.chat_requests[0]
    assert answer.stats.settings["passages_dropped"] == 2
    assert answer.stats.settings["passages_in_prompt"] == 2
    assert answer.stats.settings["context_window_source"] == "server max_model_len"
    assert hits[0].text in sent.prompt_text and hits[1].text in sent.prompt_text
    assert hits[2].text not in sent.prompt_text and hits[3].text not in sent.prompt_text
    assert count_message_tokens(sent.messages) + sent.body["max_tokens"] <= server.max_model_len  # type: ignore[index]


def test_config_context_window_used_when_server_reports_none() -> None:
    with FakeVLLM(max_model_len=None) as server:
        answer = generator(server, context_window=3000, max_tokens=200).answer(QUESTION, sample_hits(2))
    assert answer.stats.settings["context_window"] == 3000
    assert answer.stats.settings["context_window_source"] == "llm.context_window"


def test_wrong_config_window_without_server_length_gives_a_clear_error() -> None:
    """A server that does not report max_model_len but enforces it, and llm.context_window set too high."""
    with FakeVLLM(max_model_len=None, context_limit=300) as server:
        gen = generator(server, context_window=8192, max_tokens=128)
        with pytest.raises(LLMUnavailableError, match="HTTP 400: This model's maximum context length is 300"):
            gen.answer(QUESTION, sample_hits(4))
        assert len(server.chat_requests) == 1  # a 400 is not retried


def test_window_too_small_for_any_passage_refuses_without_answer_call() -> None:
    with FakeVLLM(max_model_len=400) as server:
        answer = generator(server, max_tokens=256).answer(QUESTION, sample_hits(3))
        assert server.chat_requests == []
    assert answer.refused and answer.stats.settings["passages_dropped"] == 3
    assert "fits the context window" in answer.stats.settings["refusal_reason"]


# -- evidence step ----------------------------------------------------------------------------
def judge_convnets(body: dict[str, Any]) -> Reply:
    """Relevant when the passage mentions a ConvNet or convolution; figures for accuracy."""
    system = body["messages"][0]["content"]
    if "judge whether" not in system:
        return cite_passages_responder(body)
    passage = body["messages"][1]["content"]
    relevant = "ConvNet" in passage or "convolutional" in passage
    figure = "87.8%" if "87.8%" in passage else None
    return Reply(content=json.dumps({"relevant": relevant, "figure": figure}))


def test_evidence_step_filters_passages(fake_vllm: FakeVLLM) -> None:
    fake_vllm.responder = judge_convnets
    gen = with_answer(generator(fake_vllm, concurrency=2), evidence="llm")
    _, answer = run(gen, n_hits=4)
    judged = [r for r in fake_vllm.chat_requests if not is_answer_request(r)]
    answers = [r for r in fake_vllm.chat_requests if is_answer_request(r)]
    assert len(judged) == 4 and len(answers) == 1
    prompt = answers[0].prompt_text
    assert "A ConvNet for the 2020s" in prompt and "EfficientNet" in prompt
    assert "Swin Transformer" not in prompt and "An Image is Worth" not in prompt
    assert "(Figure relevant to the question: 87.8%)" in prompt
    assert answer.stats.settings["evidence_rejected"] == 2 and answer.stats.settings["llm_calls"] == 5
    assert {c.paper_id for c in answer.citations} == {"paper-2", "paper-4"}


def test_evidence_step_refuses_without_answer_call_when_nothing_survives(fake_vllm: FakeVLLM) -> None:
    fake_vllm.responder = lambda body: Reply(content='{"relevant": false, "figure": null}')
    gen = with_answer(generator(fake_vllm), evidence="llm")
    _, answer = run(gen, n_hits=3)
    assert answer.refused and answer.text == "No passage in the index answers this question."
    assert len(fake_vllm.chat_requests) == 3
    assert not any(is_answer_request(r) for r in fake_vllm.chat_requests)
    assert answer.stats.settings["refusal_reason"] == "the evidence step judged no passage relevant"


def test_evidence_off_makes_no_judge_calls(fake_vllm: FakeVLLM) -> None:
    run(generator(fake_vllm))
    assert len(fake_vllm.chat_requests) == 1 and is_answer_request(fake_vllm.chat_requests[0])


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ('{"relevant": true, "figure": "87.8%"}', (True, "87.8%")),
        ('Sure: {"relevant": false, "figure": null} done', (False, None)),
        ("Yes, it is relevant.", (True, None)),
        ("No.", (False, None)),
        ("I cannot tell", (None, None)),
    ],
)
def test_parse_verdict(reply: str, verdict: tuple) -> None:
    assert parse_verdict(reply) == verdict


# -- follow-up questions ----------------------------------------------------------------------
HISTORY = [
    {"role": "user", "content": "Which vision models reach over 87% ImageNet accuracy?"},
    {"role": "assistant", "content": "ViT [1], ConvNeXt [2] and Swin [3] do."},
]


def test_no_history_means_no_rewrite_call(fake_vllm: FakeVLLM) -> None:
    gen = generator(fake_vllm)
    assert gen.standalone_question("and which are convnets?", None) == "and which are convnets?"
    assert gen.standalone_question("and which are convnets?", []) == "and which are convnets?"
    assert fake_vllm.requests == []


def test_follow_up_rewritten_with_history(fake_vllm: FakeVLLM) -> None:
    rewritten = "Which vision models that reach over 87% ImageNet accuracy are pure convnets?"
    fake_vllm.queue(Reply(content=f'Standalone question: "{rewritten}"'))
    gen = generator(fake_vllm)
    assert gen.standalone_question("and which of them are pure convnets?", HISTORY) == rewritten
    sent = fake_vllm.chat_requests[0].prompt_text
    assert "User: Which vision models reach over 87% ImageNet accuracy?" in sent
    assert "Assistant: ViT [1], ConvNeXt [2] and Swin [3] do." in sent
    assert "Follow-up question: and which of them are pure convnets?" in sent
    # stream() with the same history reuses the rewrite and answers the standalone question.
    _, answer = run(gen, question="and which of them are pure convnets?", history=HISTORY)
    assert len(fake_vllm.chat_requests) == 2
    assert f"Question: {rewritten}" in fake_vllm.chat_requests[1].prompt_text
    assert answer.question == "and which of them are pure convnets?"
    assert answer.stats.settings["standalone_question"] == rewritten


def test_concurrent_answers_share_one_generator(fake_vllm: FakeVLLM) -> None:
    """The UI and the eval harness ask from several threads through one generator."""
    from concurrent.futures import ThreadPoolExecutor

    gen = generator(fake_vllm)
    histories = [[{"role": "user", "content": f"Tell me about model {i}."}] for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda h: gen.answer("and its accuracy?", sample_hits(2), h), histories))
    assert all(len(a.citations) == 2 for a in answers)
    assert len(fake_vllm.chat_requests) == 12  # one rewrite and one answer per history
    assert [r.path for r in fake_vllm.requests].count("/v1/models") == 1


# -- behaviour measured on real vLLM 0.32 (tests/test_vllm_real.py), mirrored by the stand-in ---------
def test_prompt_that_fits_but_leaves_less_than_max_tokens_is_cut_at_the_window() -> None:
    """vLLM 0.32 answers instead of refusing, stopping at the window's end; the notice names the window."""
    hits = sample_hits(1)
    fitted = fit_answer_prompt(QUESTION, hits, "No passage in the index answers this question.",
                               context_window=100_000, max_tokens=64)
    measured = _approx_tokens("\n".join(m["content"] for m in fitted.messages))  # the stand-in's own count
    window = fitted.prompt_tokens + 64
    with FakeVLLM(max_model_len=None, context_limit=measured + 3) as server:
        # The server's usage says the prompt filled the window but for 3 tokens (its tokenizer, not ours).
        server.queue(Reply(content="ViT attains 88.55% top-1 accuracy on ImageNet [1]. " * 5, prompt_tokens=window - 3))
        answer = generator(server, context_window=window, max_tokens=64).answer(QUESTION, hits)
    assert answer.stats.completion_tokens == 3
    assert answer.stats.settings["finish_reason"] == "length"
    assert answer.notice and "end of its context window" in answer.notice and "llm.max_tokens" not in answer.notice


def test_prompt_longer_than_the_window_gets_vllms_400() -> None:
    with (FakeVLLM(max_model_len=None, context_limit=50) as server,
          pytest.raises(LLMUnavailableError, match=r"HTTP 400: .*your prompt contains at least \d+ input tokens")):
        generator(server, context_window=8192, max_tokens=16).answer(QUESTION, sample_hits(2))


def test_repetition_control_is_sent_only_when_set() -> None:
    with FakeVLLM() as server:
        generator(server).answer(QUESTION, sample_hits(2))
        generator(server, frequency_penalty=1.0, repetition_penalty=1.1).answer(QUESTION, sample_hits(2))
        plain, penalised = server.chat_requests
    assert "frequency_penalty" not in plain.body and "repetition_penalty" not in plain.body
    assert penalised.body["frequency_penalty"] == 1.0 and penalised.body["repetition_penalty"] == 1.1
