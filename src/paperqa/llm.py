"""The client of an OpenAI-compatible LLM server (``vllm serve MODEL``): what it serves, chat, streams.

We use the ``openai`` client directly rather than llama-index's ``OpenAILike`` because we need
three things from the wire that OpenAILike hides: vLLM's ``max_model_len`` on ``/v1/models``, the
usage chunk of a stream (``stream_options={"include_usage": true}``, which has empty ``choices``),
and control over retries (the client's own retries are off; ours are tenacity with backoff, and
a stream is only retried before its first token, since text already shown cannot be taken back).

Every call is bounded: ``llm.timeout`` is the HTTP timeout of each attempt (connect, each read)
and also the total a streamed attempt may take (checked as chunks arrive, so a stalled attempt ends
within about twice ``llm.timeout``); ``llm.retries`` more attempts follow a transient
failure (connection refused, timeout, HTTP 5xx/429, malformed JSON, empty answer, cut stream).
When they are exhausted, :class:`LLMUnavailableError` says what went wrong and where.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from paperqa.config import LLMConfig
from paperqa.errors import ConfigError, LLMUnavailableError, ModelNotServedError, RequestRejectedError

Message = dict[str, str]


class _Transient(Exception):
    """A failure worth another attempt; converted to :class:`LLMUnavailableError` when attempts run out."""


@dataclass(frozen=True)
class ServerInfo:
    """What the server told us on ``/v1/models`` and which model we will talk to."""

    base_url: str
    model: str
    served: list[str]
    max_model_len: int | None = None

    def context_window(self, fallback: int) -> int:
        """The server's ``max_model_len`` when it reports one, else the configured fallback."""
        return self.max_model_len or fallback


@dataclass
class ChatResult:
    """A finished completion; token counts are the server's (None when it reported no usage)."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    model: str | None = None
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


class LLMClient:
    """One server, one model. Construction does no network I/O; :meth:`server_info` asks once and caches."""

    def __init__(self, cfg: LLMConfig) -> None:
        if not cfg.base_url:
            raise ConfigError("llm.base_url is not set: start `vllm serve MODEL` and set llm.base_url "
                              "(e.g. PAPERQA_LLM__BASE_URL=http://127.0.0.1:8000/v1)")
        self.cfg = cfg
        self.base_url = cfg.base_url.rstrip("/")
        self._client: openai.OpenAI | None = None
        self._info: ServerInfo | None = None
        self._lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def client(self) -> openai.OpenAI:
        """The openai client (thread-safe, shared), built on first use; its own retries are off (ours are below)."""
        if self._client is None:  # a race builds two clients at worst; one is kept
            timeout = httpx.Timeout(self.cfg.timeout, connect=min(self.cfg.timeout, 10.0))
            self._client = openai.OpenAI(
                base_url=self.base_url,
                # vLLM without --api-key accepts anything; "EMPTY" is its documented placeholder.
                api_key=self.cfg.api_key.get_secret_value() if self.cfg.api_key else "EMPTY",
                timeout=timeout,
                max_retries=0,
            )
        return self._client

    def _retrying(self) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(self.cfg.retries + 1),
            wait=wait_exponential(multiplier=self.cfg.backoff_s, max=max(self.cfg.backoff_s * 8, 0.0)),
            retry=retry_if_exception_type(_Transient),
            reraise=True,
        )

    def _unavailable(self, exc: _Transient, attempts: int) -> LLMUnavailableError:
        plural = "attempt" if attempts == 1 else "attempts"
        return LLMUnavailableError(f"LLM server at {self.base_url}: {exc} (gave up after {attempts} {plural})")

    def _call(self, fn: Any) -> tuple[Any, int]:
        """Run ``fn`` with retries on transient failures; returns (result, attempts)."""
        attempts = 0
        try:
            for attempt in self._retrying():
                with attempt:
                    attempts += 1
                    return _translate(fn, self.base_url), attempts
        except _Transient as exc:
            raise self._unavailable(exc, attempts) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    # -- what the server serves -----------------------------------------------------------------
    def server_info(self) -> ServerInfo:
        """Ask ``/v1/models`` (once); fail clearly when the configured model is not served."""
        with self._lock:
            if self._info is None:
                listing, _ = self._call(lambda: self.client.models.list())
                self._info = self._pick_model(listing)
            return self._info

    def _pick_model(self, listing: Any) -> ServerInfo:
        cards = list(getattr(listing, "data", None) or [])
        served = [card.id for card in cards]
        if not served:
            raise ModelNotServedError(f"LLM server at {self.base_url} lists no models on /v1/models")
        wanted = self.cfg.model
        if wanted is None:
            if len(served) > 1:
                raise ModelNotServedError(
                    f"LLM server at {self.base_url} serves {len(served)} models ({', '.join(served)}); "
                    "set llm.model to one of them")
            wanted = served[0]
        if wanted not in served:
            raise ModelNotServedError(
                f"model '{wanted}' is not served by {self.base_url}; it serves: {', '.join(served)} "
                "(set llm.model, or start vLLM with that model / --served-model-name)")
        card = cards[served.index(wanted)]
        max_len = (card.model_extra or {}).get("max_model_len")
        return ServerInfo(self.base_url, wanted, served, int(max_len) if isinstance(max_len, int) else None)

    # -- completions ----------------------------------------------------------------------------
    def _request(self, messages: list[Message], max_tokens: int | None, stream: bool,
                 response_format: dict[str, Any] | None = None) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.server_info().model,
            "messages": messages,
            "max_tokens": max_tokens or self.cfg.max_tokens,
            "temperature": self.cfg.temperature,
        }
        if response_format is not None:
            # vLLM turns {"type": "json_schema", ...} into structured outputs (constrained decoding).
            request["response_format"] = response_format
        if stream:
            request["stream"] = True
            request["stream_options"] = {"include_usage": True}
        return request

    def chat(self, messages: list[Message], max_tokens: int | None = None,
             response_format: dict[str, Any] | None = None) -> ChatResult:
        """One non-streamed completion, retried on transient failures; never returns empty text.

        ``response_format`` constrains the answer (vLLM structured output: ``{"type": "json_schema",
        "json_schema": {"name": ..., "schema": {...}}}``).
        """
        request = self._request(messages, max_tokens, stream=False, response_format=response_format)
        result, attempts = self._call(lambda: _parse_completion(self.client.chat.completions.create(**request)))
        result.attempts = attempts
        return result

    def stream_chat(self, messages: list[Message], max_tokens: int | None = None,
                    response_format: dict[str, Any] | None = None) -> Iterator[str | ChatResult]:
        """Text deltas as they arrive, then one :class:`ChatResult`.

        Failures before the first delta are retried; a stream that breaks after text was yielded
        raises :class:`LLMUnavailableError` at once (the caller has already shown that text).
        ``response_format`` (OpenAI API shape) asks the server to constrain the reply, e.g. to a JSON
        schema; a server that refuses it raises :class:`RequestRejectedError`.
        """
        request = self._request(messages, max_tokens, stream=True, response_format=response_format)
        attempts = 0
        try:
            for attempt in self._retrying():
                with attempt:
                    attempts += 1
                    state = _StreamState()
                    try:
                        yield from self._stream_once(request, state)
                    except _Transient as exc:
                        if state.yielded:
                            raise LLMUnavailableError(
                                f"LLM server at {self.base_url}: the answer stream broke after "
                                f"{len(state.text)} characters: {exc}") from exc
                        raise
                    yield state.result(attempts)
                    return
        except _Transient as exc:
            raise self._unavailable(exc, attempts) from exc

    def _stream_once(self, request: dict[str, Any], state: _StreamState) -> Iterator[str]:
        deadline = time.monotonic() + self.cfg.timeout
        stream = _translate(lambda: self.client.chat.completions.create(**request), self.base_url)
        try:
            chunks = iter(stream)
            while True:
                chunk = _translate(lambda: next(chunks, None), self.base_url)
                if chunk is None:
                    break
                delta = state.absorb(chunk)
                if delta:
                    state.yielded = True
                    yield delta
                if time.monotonic() > deadline:
                    raise _Transient(f"the answer took longer than llm.timeout={self.cfg.timeout:g}s")
        finally:
            stream.close()
        if state.finish_reason is None:
            raise _Transient("the stream ended before the model finished (connection closed mid-stream)")
        if not state.text.strip():
            raise _Transient("the model returned an empty answer")


class _StreamState:
    """Accumulates a stream: text, finish reason, usage (from the final usage chunk)."""

    def __init__(self) -> None:
        self.text = ""
        self.yielded = False
        self.finish_reason: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.model: str | None = None

    def absorb(self, chunk: Any) -> str:
        self.model = getattr(chunk, "model", None) or self.model
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.prompt_tokens, self.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        choices = getattr(chunk, "choices", None) or []
        if not choices:
            return ""
        choice = choices[0]
        if choice.finish_reason:
            self.finish_reason = choice.finish_reason
        delta = (choice.delta.content if choice.delta is not None else None) or ""
        self.text += delta
        return delta

    def result(self, attempts: int) -> ChatResult:
        return ChatResult(self.text, self.prompt_tokens, self.completion_tokens, self.finish_reason,
                          self.model, attempts)


def _parse_completion(completion: Any) -> ChatResult:
    """Check a non-streamed completion's shape; malformed or empty is transient (retry)."""
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list) or not choices or getattr(choices[0], "message", None) is None:
        raise _Transient("the server's response has no choices (malformed)")
    text = choices[0].message.content
    if not isinstance(text, str) or not text.strip():
        raise _Transient("the model returned an empty answer")
    usage = getattr(completion, "usage", None)
    return ChatResult(
        text=text,
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
        finish_reason=choices[0].finish_reason,
        model=getattr(completion, "model", None),
    )


def _server_message(exc: openai.APIStatusError) -> str:
    """The error text from vLLM's body, old (``{"object": "error", "message"}``) or new (``{"error": {...}}``)."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        inner: dict[str, Any] = error if isinstance(error, dict) else body
        message = inner.get("message")
        if message:
            return str(message)
    return exc.message


def _error_event_code(exc: openai.APIError) -> int | None:
    """The HTTP-like ``code`` of an error event inside a stream (``{"error": {"code": 400, ...}}``), if any."""
    body = exc.body
    code = body.get("code") if isinstance(body, dict) else None
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    return code if isinstance(code, int) else None


def _translate(fn: Any, base_url: str) -> Any:
    """Call ``fn`` and sort its failures: transient ones become :class:`_Transient`, others a clear error."""
    try:
        return fn()
    except openai.APITimeoutError as exc:
        raise _Transient("no response within llm.timeout") from exc
    except openai.APIConnectionError as exc:
        cause = exc.__cause__ or exc
        raise _Transient(f"cannot connect ({type(cause).__name__}: {cause}); is `vllm serve` running?") from exc
    except openai.NotFoundError as exc:
        raise ModelNotServedError(f"LLM server at {base_url}: HTTP 404: {_server_message(exc)}") from exc
    except openai.APIStatusError as exc:
        message = f"HTTP {exc.status_code}: {_server_message(exc)}"
        if exc.status_code == 429 or exc.status_code >= 500:
            raise _Transient(message) from exc
        raise RequestRejectedError(f"LLM server at {base_url} refused the request: {message}",
                                   exc.status_code, _server_message(exc)) from exc
    except (json.JSONDecodeError, openai.APIResponseValidationError) as exc:
        raise _Transient(f"malformed response ({exc})") from exc
    except openai.APIError as exc:  # e.g. an error event inside a stream
        code = _error_event_code(exc)
        if code is not None and 400 <= code < 500 and code != 429:
            # vLLM refuses a streamed request it cannot serve (e.g. "Grammar error: ..." for a JSON schema
            # its backend cannot compile) with HTTP 200 and an error event carrying code 400.
            raise RequestRejectedError(f"LLM server at {base_url} refused the request: HTTP {code}: {exc.message}",
                                       code, exc.message) from exc
        raise _Transient(f"server error: {exc.message}") from exc
    except httpx.TimeoutException as exc:
        raise _Transient("no data within llm.timeout") from exc
    except httpx.HTTPError as exc:
        raise _Transient(f"{type(exc).__name__}: {exc}") from exc
