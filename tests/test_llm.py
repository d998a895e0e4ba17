"""The LLM client against the stand-in vLLM server: model discovery, retries, timeouts, streams."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from fake_vllm import FakeVLLM, Reply
from hit_factory import llm_settings

from paperqa.config import ConfigError, load_config
from paperqa.llm import ChatResult, LLMClient, LLMUnavailableError, ModelNotServedError

MESSAGES = [{"role": "user", "content": "Say hello."}]


def client(base_url: str | None, **overrides: Any) -> LLMClient:
    return LLMClient(llm_settings(base_url, **overrides).llm)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_info_reads_models_and_max_model_len(fake_vllm: FakeVLLM) -> None:
    info = client(fake_vllm.base_url).server_info()
    assert info.model == "fake/qwen-stand-in" and info.served == ["fake/qwen-stand-in"]
    assert info.max_model_len == 8192 and info.context_window(fallback=1234) == 8192


def test_construction_does_no_network_io(fake_vllm: FakeVLLM) -> None:
    llm = client(fake_vllm.base_url)
    assert fake_vllm.requests == []
    llm.server_info()
    llm.server_info()
    assert [r.path for r in fake_vllm.requests] == ["/v1/models"]  # asked once, cached


def test_context_window_falls_back_to_config_without_max_model_len() -> None:
    with FakeVLLM(max_model_len=None) as server:
        info = client(server.base_url).server_info()
    assert info.max_model_len is None and info.context_window(fallback=4096) == 4096


def test_model_not_served_is_a_clear_error(fake_vllm: FakeVLLM) -> None:
    with pytest.raises(ModelNotServedError, match=r"'Qwen/Qwen2.5-7B-Instruct' is not served.*fake/qwen-stand-in"):
        client(fake_vllm.base_url, model="Qwen/Qwen2.5-7B-Instruct").server_info()


def test_null_model_with_several_served_asks_to_choose() -> None:
    with FakeVLLM(models=["a/one", "b/two"]) as server:
        with pytest.raises(ModelNotServedError, match="serves 2 models.*set llm.model"):
            client(server.base_url).server_info()
        assert client(server.base_url, model="b/two").server_info().model == "b/two"


def test_missing_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="llm.base_url is not set"):
        client(None)


def test_chat_returns_text_and_server_usage(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(content="Hello there.", prompt_tokens=11, completion_tokens=3))
    result = client(fake_vllm.base_url, max_tokens=77, temperature=0.3, api_key="sekret").chat(MESSAGES)
    assert result.text == "Hello there." and (result.prompt_tokens, result.completion_tokens) == (11, 3)
    sent = fake_vllm.chat_requests[0]
    assert sent.body is not None
    assert sent.body["model"] == "fake/qwen-stand-in" and sent.body["messages"] == MESSAGES
    assert sent.body["max_tokens"] == 77 and sent.body["temperature"] == 0.3
    assert sent.headers.get("Authorization") == "Bearer sekret"


def test_http_500_then_success_is_retried(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(status=500, message="engine hiccup"), Reply(content="Recovered."))
    result = client(fake_vllm.base_url).chat(MESSAGES)
    assert result.text == "Recovered." and result.attempts == 2
    assert len(fake_vllm.chat_requests) == 2


def test_persistent_500_gives_up_after_retries(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(*[Reply(status=503, message="overloaded", error_style="openai")] * 5)
    with pytest.raises(LLMUnavailableError, match=r"HTTP 503: overloaded.*after 3 attempts"):
        client(fake_vllm.base_url, retries=2).chat(MESSAGES)
    assert len(fake_vllm.chat_requests) == 3


def test_client_error_is_not_retried_and_names_the_server_message(fake_vllm: FakeVLLM) -> None:
    message = "This model's maximum context length is 8192 tokens."
    fake_vllm.queue(Reply(status=400, message=message))
    with pytest.raises(LLMUnavailableError, match="HTTP 400: This model's maximum context length"):
        client(fake_vllm.base_url).chat(MESSAGES)
    assert len(fake_vllm.chat_requests) == 1


def test_malformed_json_is_retried(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(raw_body=b'{"choices": [ oops'), Reply(content="Fine now."))
    assert client(fake_vllm.base_url).chat(MESSAGES).text == "Fine now."


def test_response_without_choices_is_malformed(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(*[Reply(raw_body=b'{"id": "x", "object": "chat.completion"}')] * 2)
    with pytest.raises(LLMUnavailableError, match="no choices"):
        client(fake_vllm.base_url, retries=1).chat(MESSAGES)


def test_empty_content_is_an_error_after_retries(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(*[Reply(content="")] * 3)
    with pytest.raises(LLMUnavailableError, match="empty answer"):
        client(fake_vllm.base_url, retries=2).chat(MESSAGES)
    assert len(fake_vllm.chat_requests) == 3


def test_server_down_is_unavailable() -> None:
    llm = client(f"http://127.0.0.1:{free_port()}/v1", retries=1)
    with pytest.raises(LLMUnavailableError, match="cannot connect.*vllm serve"):
        llm.server_info()


def test_slow_server_times_out_within_bounded_time(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(*[Reply(content="too late", delay_s=5.0)] * 2)
    llm = client(fake_vllm.base_url, timeout=0.4, retries=1)
    llm.server_info()
    started = time.monotonic()
    with pytest.raises(LLMUnavailableError, match="llm.timeout"):
        llm.chat(MESSAGES)
    assert time.monotonic() - started < 2.5


def _drain(llm: LLMClient) -> tuple[list[str], ChatResult]:
    deltas: list[str] = []
    final = None
    for item in llm.stream_chat(MESSAGES):
        if isinstance(item, ChatResult):
            final = item
        else:
            deltas.append(item)
    assert final is not None
    return deltas, final


def test_stream_yields_deltas_then_result_with_usage(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(content="Streaming works as it should.", chunk_chars=5, completion_tokens=6))
    deltas, final = _drain(client(fake_vllm.base_url))
    assert len(deltas) > 3 and "".join(deltas) == "Streaming works as it should." == final.text
    assert final.finish_reason == "stop" and final.completion_tokens == 6 and final.prompt_tokens
    body = fake_vllm.chat_requests[0].body
    assert body is not None and body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_stream_cut_before_first_token_is_retried(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(content="lost", cut_after=0), Reply(content="Second try."))
    deltas, final = _drain(client(fake_vllm.base_url))
    assert "".join(deltas) == "Second try." and final.attempts == 2


def test_stream_cut_mid_answer_raises_at_once(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(content="This answer will be cut in the middle.", chunk_chars=4, cut_after=3))
    seen: list[str] = []
    with pytest.raises(LLMUnavailableError, match="stream broke after 12 characters"):
        for item in client(fake_vllm.base_url).stream_chat(MESSAGES):
            seen.append(item)  # type: ignore[arg-type]  # noqa: PERF402 (collects up to the error)
    assert "".join(seen) == "This answer "
    assert len(fake_vllm.chat_requests) == 1  # text was shown: no silent retry


def test_stream_stalling_mid_answer_times_out(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(content="slow slow slow slow", chunk_chars=5, chunk_delay_s=3.0))
    llm = client(fake_vllm.base_url, timeout=0.5, retries=0)
    llm.server_info()
    started = time.monotonic()
    with pytest.raises(LLMUnavailableError):
        list(llm.stream_chat(MESSAGES))
    assert time.monotonic() - started < 2.5


def test_stream_error_status_is_retried(fake_vllm: FakeVLLM) -> None:
    fake_vllm.queue(Reply(status=500, message="boom"), Reply(content="ok then."))
    _, final = _drain(client(fake_vllm.base_url))
    assert final.text == "ok then." and final.attempts == 2


def test_vllm_overlay_is_a_valid_partial_config() -> None:
    import yaml

    from paperqa.config import configs_dir, default_config_path

    overlay_path = configs_dir() / "vllm.yaml"
    overlay = yaml.safe_load(overlay_path.read_text())
    defaults = yaml.safe_load(default_config_path().read_text())
    for section, values in overlay.items():
        assert set(values) <= set(defaults[section]), section
        assert all(defaults[section][key] != value for key, value in values.items()), "only changed keys"
    settings = load_config(overlay_path)
    assert settings.answer.mode == "generated"
    assert settings.llm.base_url == "http://127.0.0.1:8000/v1" and settings.llm.model == "Qwen/Qwen2.5-7B-Instruct"


def test_error_event_inside_a_stream(fake_vllm: FakeVLLM) -> None:
    """vLLM reports a failure during generation as an SSE ``{"error": ...}`` event."""
    fake_vllm.queue(Reply(content="never shown", error_after=0, message="engine dead"), Reply(content="Retried."))
    _, final = _drain(client(fake_vllm.base_url))
    assert final.text == "Retried." and final.attempts == 2
    fake_vllm.queue(Reply(content="Half an answer, then", chunk_chars=5, error_after=2, message="engine dead"))
    with pytest.raises(LLMUnavailableError, match="stream broke after 10 characters.*engine dead"):
        list(client(fake_vllm.base_url).stream_chat(MESSAGES))
