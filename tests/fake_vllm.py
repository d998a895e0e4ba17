"""A stand-in for vLLM's OpenAI-compatible server, for tests and for trying paperqa by hand.

It is a real HTTP server on 127.0.0.1 (stdlib ``ThreadingHTTPServer``) that speaks the protocol
the way ``vllm serve`` does: ``GET /v1/models`` lists models with ``max_model_len``;
``POST /v1/chat/completions`` answers plain JSON or, with ``stream=true``, server-sent events
(a role chunk, content deltas, a chunk with ``finish_reason``, a usage chunk with empty
``choices`` when ``stream_options.include_usage`` is set, then ``data: [DONE]``) in chunked
transfer encoding; errors use vLLM's bodies (``{"object": "error", ...}`` or the newer
``{"error": {...}}``); a prompt plus ``max_tokens`` over the model length is refused with HTTP 400
(its token count is a rough word-and-punctuation count: the stand-in has no tokenizer).

Structured outputs: a request with ``response_format={"type": "json_schema", "json_schema":
{"schema": ...}}`` is checked the way vLLM checks it (the ``json_schema`` field must be there and the
schema must be a valid JSON schema, else HTTP 400), and the reply conforms to the schema, as
constrained decoding guarantees: the default responder writes a schema-shaped answer, and a
scripted reply that does not conform is refused with HTTP 500 (unless it is cut, or marked
``unconstrained`` to play a server that ignores the schema). A schema that does not compile is
refused as vLLM 0.32 does: HTTP 400 for a plain request, and for a streamed one HTTP 200 with an
error event carrying ``code: 400`` (observed on the real server). ``server.structured_outputs =
False`` plays a server without structured outputs (refused the same way).

It is NOT a language model. Tests script it: ``server.queue(Reply(...), ...)`` sets what the next
chat completions return (text, HTTP errors, malformed JSON, empty content, streams cut mid-way,
delays), and ``server.responder`` decides when the queue is empty. Every request is recorded in
``server.requests`` so tests can assert on what paperqa sent.

The default responder is deterministic and plainly a stand-in: for an answer prompt it echoes the
first sentence of passages [1] and [2] with their citations; for a relevance-judging prompt it
says every passage is relevant; for a follow-up rewrite it returns the follow-up unchanged.

Run it by hand: ``python tests/fake_vllm.py --port 8000`` then point paperqa at
``PAPERQA_LLM__BASE_URL=http://127.0.0.1:8000/v1``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import jsonschema

DEFAULT_MODEL = "fake/qwen-stand-in"


@dataclass
class Reply:
    """One scripted chat-completion outcome.

    ``content`` is the assistant text (streamed as ``chunk_chars``-sized deltas). ``status`` other
    than 200 sends an error body (``error_style`` picks vLLM's old or new shape). ``raw_body``
    replaces the whole response body (malformed JSON). ``cut_after`` closes the connection after
    that many content deltas (streams) or after half the body (plain responses), without finishing
    the response. ``error_after`` (streams) sends that many deltas, then an error event
    (``data: {"error": {...}}`` with ``message``, as vLLM does when generation fails mid-stream) and
    ends the stream. ``delay_s`` waits before the response starts; ``chunk_delay_s`` between deltas.
    """

    content: str = ""
    status: int = 200
    message: str = "error"
    error_style: Literal["vllm", "openai"] = "vllm"
    raw_body: bytes | None = None
    cut_after: int | None = None
    error_after: int | None = None
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    chunk_chars: int = 12
    finish_reason: str = "stop"
    usage: bool = True
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # A request with a JSON schema (response_format json_schema) gets replies that conform to it, as
    # vLLM's constrained decoding guarantees: a scripted reply that does not is refused with HTTP 500
    # (a broken test script), unless it is cut (finish_reason "length", cut_after) or marked
    # ``unconstrained`` (a server that ignores the schema).
    unconstrained: bool = False


@dataclass
class RecordedRequest:
    """What paperqa sent: method, path, headers and the decoded JSON body (None for GET)."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages", []))

    @property
    def prompt_text(self) -> str:
        """All message contents joined, for asserting on what the prompt contained."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


Responder = Callable[[dict[str, Any]], Reply]

# paperqa's fenced passage blocks: <passage key="N" fence="F">, a "[N] Title: ..." line, the text, </passage ...>.
_PASSAGE_RE = re.compile(r'<passage key="(\d+)" fence="[^"]*">\n[^\n]*\n(.+?)\n</passage fence=', re.DOTALL)
_SENTENCE_RE = re.compile(r"(.+?[.!?])(?:\s|$)", re.DOTALL)


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


def _system_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "system")


def _first_sentence(text: str) -> str:
    match = _SENTENCE_RE.match(text.strip())
    return (match.group(1) if match else text.strip()).strip()


def _is_answer_schema(schema: dict[str, Any]) -> bool:
    """paperqa's json answer format (paperqa.answer_json): alternatives with ``sentences`` and ``refused``."""
    return any("sentences" in (alt.get("properties") or {}) for alt in schema.get("anyOf", []) if isinstance(alt, dict))


def cite_passages_responder(body: dict[str, Any]) -> Reply:
    """Default behaviour: recognise the kind of prompt and answer it deterministically."""
    system = _system_text(body).lower()
    user = _last_user_text(body)
    schema = structured_schema(body)
    if schema is not None and _is_answer_schema(schema):
        return cite_passages_json(body)
    if "standalone question" in system:
        follow_up = re.search(r"Follow-up question:\s*(.+?)\s*(?:\n|$)", user)
        return Reply(content=follow_up.group(1) if follow_up else user.strip())
    if "judge" in system and "relevant" in system:
        return Reply(content='{"relevant": true, "figure": null}')
    if schema is not None:  # a stand-in has nothing to extract: the smallest answer the schema allows
        return Reply(content=json.dumps({key: [] for key in schema.get("required", [])}))
    passages = {int(n): text.strip() for n, text in _PASSAGE_RE.findall(user)}
    if not passages:
        refusal = re.search(r'"([^"]+)"', _system_text(body))
        return Reply(content=refusal.group(1) if refusal else "I cannot answer.")
    parts = []
    for key in sorted(passages)[:2]:
        sentence = _first_sentence(passages[key])
        body, end = (sentence[:-1], sentence[-1]) if sentence[-1:] in ".!?" else (sentence, ".")
        parts.append(f"{body} [{key}]{end}")
    return Reply(content=" ".join(parts))


def cite_passages_json(body: dict[str, Any]) -> Reply:
    """The JSON answer format: the first sentence of passages [1] and [2], each citing its passage."""
    passages = {int(n): text.strip() for n, text in _PASSAGE_RE.findall(_last_user_text(body))}
    if not passages:
        return Reply(content=json.dumps({"sentences": [], "refused": True}))
    sentences = [{"text": _first_sentence(passages[key]), "citations": [key]} for key in sorted(passages)[:2]]
    return Reply(content=json.dumps({"sentences": sentences, "refused": False}))


class FakeVLLM:
    """The server object: start/stop it, script replies, read what it received."""

    def __init__(
        self,
        models: tuple[str, ...] | list[str] = (DEFAULT_MODEL,),
        max_model_len: int | None = 8192,
        host: str = "127.0.0.1",
        port: int = 0,
        context_limit: int | None = None,
    ) -> None:
        self.models = list(models)
        self.max_model_len = max_model_len
        # Like vLLM, refuse (HTTP 400) a prompt + max_tokens over the model's length, even when the
        # length is not reported on /v1/models (max_model_len=None, context_limit set).
        self.context_limit = context_limit or max_model_len
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.responder: Responder = cite_passages_responder
        self.models_reply: Reply | None = None
        # False: refuse response_format json_schema with HTTP 400, as a server without structured outputs.
        self.structured_outputs = True
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> FakeVLLM:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _QuietServer((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-vllm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def kill(self) -> None:
        """Stop like a crashed process: also drop every open connection, mid-response or not."""
        self.stop()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FakeVLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """What paperqa's ``llm.base_url`` should be."""
        return f"http://{self.host}:{self.port}/v1"

    # -- scripting ------------------------------------------------------------------------------
    def queue(self, *replies: Reply) -> None:
        """Replies for the next chat completions, in order; then ``responder`` takes over."""
        with self._lock:
            self._queue.extend(replies)

    def next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.responder(body)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    def reset(self) -> None:
        """Forget recorded requests and queued replies; restore the default responder."""
        with self._lock:
            self.requests.clear()
            self._queue.clear()
        self.responder = cite_passages_responder
        self.models_reply = None
        self.structured_outputs = True


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (or a killed connection) is expected here, not a traceback."""


def _error_body(reply: Reply) -> dict[str, Any]:
    error_type = {400: "BadRequestError", 404: "NotFoundError"}.get(reply.status, "InternalServerError")
    if reply.error_style == "openai":
        return {"error": {"message": reply.message, "type": error_type, "param": None, "code": reply.status}}
    return {"object": "error", "message": reply.message, "type": error_type, "param": None, "code": reply.status}


def _structured_output_problem(body: dict[str, Any]) -> str | None:
    """What vLLM's request validation would reject in ``response_format`` or ``structured_outputs``.

    vLLM accepts ``response_format`` of type ``text``, ``json_object`` or ``json_schema`` (the latter
    with ``json_schema.schema`` an object), and, since 0.12, ``structured_outputs`` with exactly one of
    ``json``/``regex``/``choice``/``grammar``/``structural_tag`` (the old ``guided_json`` is gone).
    """
    fmt = body.get("response_format")
    if fmt is not None:
        if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
            return f"response_format: unsupported value {fmt!r}"
        if fmt["type"] == "json_schema":
            spec = fmt.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict) or not spec.get("name"):
                return "response_format.json_schema must have a 'name' and a 'schema' object"
    outputs = body.get("structured_outputs")
    if outputs is not None:
        kinds = [k for k in ("json", "regex", "choice", "grammar", "structural_tag") if k in (outputs or {})]
        if len(kinds) != 1:
            return "structured_outputs: exactly one of json, regex, choice, grammar, structural_tag"
    if "guided_json" in body:
        return "guided_json was removed in vLLM 0.12: use structured_outputs={'json': ...}"
    return None


def structured_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a request constrains its answer to, if any."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return fmt["json_schema"]["schema"]
    return (body.get("structured_outputs") or {}).get("json")


def _approx_tokens(text: str) -> int:
    """Roughly what a tokenizer would count; the stand-in has no real tokenizer."""
    return max(1, len(re.findall(r"\w+|[^\w\s]", text)))


def _check_response_format(body: dict[str, Any], supported: bool) -> str | None:
    """What vLLM's structured-output backend refuses in a well-formed request: a schema it cannot compile."""
    schema = structured_schema(body)
    if schema is None:
        return None
    if not supported:
        return "Structured outputs are not supported by this server."
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"Grammar error: {exc.message}"  # vLLM's wording for a schema its backend cannot compile
    return None


def _reply_violates_schema(body: dict[str, Any], reply: Reply) -> str | None:
    """Why a scripted reply could not have come from constrained decoding with this schema; else None."""
    schema = structured_schema(body)
    if (schema is None or reply.unconstrained or reply.status != 200 or reply.raw_body is not None
            or reply.finish_reason == "length" or reply.cut_after is not None or reply.error_after is not None):
        return None
    try:
        jsonschema.validate(json.loads(reply.content), schema)
    except (json.JSONDecodeError, jsonschema.ValidationError) as exc:
        message = exc.message if isinstance(exc, jsonschema.ValidationError) else str(exc)
        return f"fake_vllm: the scripted reply does not conform to the request's JSON schema: {message}"
    return None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeVLLM
    protocol_version = "HTTP/1.1"
    server_version = "fake-vllm/0.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``requests`` instead of a log."""

    def setup(self) -> None:
        super().setup()
        self.fake.track(self.connection, True)

    def finish(self) -> None:
        self.fake.track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    # -- routing --------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self.fake.record(RecordedRequest("GET", self.path, dict(self.headers), None))
        if self.path.rstrip("/") == "/v1/models":
            self._models()
        elif self.path.rstrip("/") in ("/health", "/v1/health"):
            self._send_json(200, {})
        else:
            self._send_json(404, _error_body(Reply(status=404, message=f"no route {self.path}")))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self.fake.record(RecordedRequest("POST", self.path, dict(self.headers), None))
            self._send_json(400, _error_body(Reply(status=400, message="request body is not JSON")))
            return
        self.fake.record(RecordedRequest("POST", self.path, dict(self.headers), body))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, _error_body(Reply(status=404, message=f"no route {self.path}")))
            return
        if body.get("model") not in self.fake.models:
            message = f"The model `{body.get('model')}` does not exist."
            self._send_json(404, _error_body(Reply(status=404, message=message)))
            return
        self._chat(body)

    # -- endpoints ------------------------------------------------------------------------------
    def _models(self) -> None:
        reply = self.fake.models_reply
        if reply is not None and self._special(reply):
            return
        now = int(time.time())
        data = []
        for model in self.fake.models:
            card: dict[str, Any] = {"id": model, "object": "model", "created": now, "owned_by": "vllm",
                                    "root": model, "parent": None, "permission": []}
            if self.fake.max_model_len is not None:
                card["max_model_len"] = self.fake.max_model_len
            data.append(card)
        self._send_json(200, {"object": "list", "data": data})

    def _chat(self, body: dict[str, Any]) -> None:
        measured = _approx_tokens("\n".join(str(m.get("content", "")) for m in body.get("messages", [])))
        limit, wanted = self.fake.context_limit, measured + int(body.get("max_tokens") or 0)
        if limit is not None and wanted > limit:
            message = (f"This model's maximum context length is {limit} tokens. However, you requested "
                       f"{wanted} tokens ({measured} in the messages, {body.get('max_tokens')} in the completion). "
                       "Please reduce the length of the messages or completion.")
            self._send_json(400, _error_body(Reply(status=400, message=message)))
            return
        problem = _structured_output_problem(body)
        if problem is not None:  # vLLM answers a malformed response_format / structured_outputs with 400
            self._send_json(400, _error_body(Reply(status=400, message=problem)))
            return
        schema_problem = _check_response_format(body, self.fake.structured_outputs)
        if schema_problem is not None:
            if body.get("stream"):
                # vLLM 0.32 (observed): a streamed request whose schema fails to compile gets HTTP 200 and
                # an error event with code 400, then [DONE].
                self._stream_error(Reply(status=400, message=schema_problem, error_style="openai"))
            else:
                self._send_json(400, _error_body(Reply(status=400, message=schema_problem)))
            return
        reply = self.fake.next_reply(body)
        if self._special(reply):
            return
        violation = _reply_violates_schema(body, reply)
        if violation is not None:
            self._send_json(500, _error_body(Reply(status=500, message=violation)))
            return
        prompt_tokens = reply.prompt_tokens or measured
        completion_tokens = reply.completion_tokens or _approx_tokens(reply.content)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and reply.usage
            self._stream(body["model"], reply, usage if include_usage else None)
            return
        completion = {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content},
                         "logprobs": None, "finish_reason": reply.finish_reason}],
            "usage": usage if reply.usage else None,
        }
        data = json.dumps(completion).encode()
        if reply.cut_after is not None:
            self._cut_plain(data)
            return
        self._send_bytes(200, data)

    def _special(self, reply: Reply) -> bool:
        """Delays, errors and malformed bodies; True when the response has been sent."""
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.status != 200:
            self._send_json(reply.status, _error_body(reply))
            return True
        if reply.raw_body is not None:
            self._send_bytes(200, reply.raw_body)
            return True
        return False

    def _stream(self, model: str, reply: Reply, usage: dict[str, int] | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        with_usage = usage is not None

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            out: dict[str, Any] = {"id": ident, "object": "chat.completion.chunk", "created": created,
                                   "model": model,
                                   "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                "finish_reason": finish}]}
            if with_usage:
                out["usage"] = None
            return out

        self._event(chunk({"role": "assistant", "content": ""}))
        pieces = [reply.content[i : i + reply.chunk_chars] for i in range(0, len(reply.content), reply.chunk_chars)]
        for n, piece in enumerate(pieces):
            if reply.cut_after is not None and n >= reply.cut_after:
                self._abort()
                return
            if reply.error_after is not None and n >= reply.error_after:
                error = Reply(status=500, message=reply.message, error_style="openai")
                self._event(_error_body(error))
                self._write_chunk(b"data: [DONE]\n\n")
                self._write_chunk(b"")
                return
            if reply.chunk_delay_s:
                time.sleep(reply.chunk_delay_s)
            self._event(chunk({"content": piece}))
        if reply.cut_after is not None:
            self._abort()
            return
        self._event(chunk({}, reply.finish_reason))
        if usage is not None:
            self._event({"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                         "choices": [], "usage": usage})
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _stream_error(self, reply: Reply) -> None:
        """A stream that carries only an error event (``{"error": {...}}``) and ``[DONE]``."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        body = _error_body(reply)
        self._event(body)
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    # -- wire helpers ---------------------------------------------------------------------------
    def _event(self, payload: dict[str, Any]) -> None:
        self._write_chunk(f"data: {json.dumps(payload)}\n\n".encode())

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _abort(self) -> None:
        """Close the socket without the terminating chunk: the client sees a cut stream."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _cut_plain(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self._abort()

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        self._send_bytes(status, json.dumps(payload).encode())

    def _send_bytes(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A stand-in for `vllm serve` (NOT a language model).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", action="append", help=f"served model id (repeatable; default {DEFAULT_MODEL})")
    parser.add_argument("--max-model-len", type=int, default=8192)
    args = parser.parse_args(argv)
    server = FakeVLLM(models=args.model or [DEFAULT_MODEL], max_model_len=args.max_model_len,
                      host=args.host, port=args.port).start()
    print(f"fake vLLM (stand-in, not a model) serving {server.models} at {server.base_url}", flush=True)
    print(f"try: PAPERQA_LLM__BASE_URL={server.base_url} paperqa ask 'your question'", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
