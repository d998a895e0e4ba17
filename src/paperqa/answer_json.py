"""The structured answer format (``answer.format: json``): its JSON schema, and reading it as it streams.

The model is asked for one JSON object, and the server (vLLM's structured outputs, sent as the
OpenAI API's ``response_format={"type": "json_schema", ...}``) constrains decoding to this schema::

    {"sentences": [{"text": "...", "citations": [1, 3]}, ...], "refused": false}   # 1..8 sentences
    {"sentences": [], "refused": true}

Each citation key is an ``enum`` of the passage numbers actually in the prompt, and every sentence
has at least one, so a constrained model cannot write an invented key or an uncited sentence.
Refusal is a boolean field, not a magic sentence. The sentences come first: measured with
SmolLM2-135M on vLLM 0.32, a schema that opened with ``"refused"`` was answered ``true`` for every
question tried, while this order let the model write sentences (the field then follows from them).

A constrained model can still pad the JSON with whitespace (vLLM's JSON grammars allow any amount
between tokens unless the *server* runs with ``disable_any_whitespace``); the same model did so
until ``llm.max_tokens``. :data:`MAX_WHITESPACE_RUN` bounds that on our side.

:class:`JsonAnswerReader` parses the reply incrementally (``ijson``'s push parser; a JSON parser
that accepts input in pieces is exactly what ijson is) and reports each sentence as soon as its
object closes. :func:`render_sentence` turns one into the text format's ``sentence [n, m].`` so
that both formats end in the same citation checker (:func:`paperqa.citations.check_answer`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import ijson

from paperqa.citations import split_answer_sentences
from paperqa.prompting import strip_bracketed_numbers

# Bounds of the schema (a weak model may otherwise loop inside one string until llm.max_tokens).
MAX_SENTENCES = 8
MAX_SENTENCE_CHARS = 400
MAX_CITATIONS_PER_SENTENCE = 3
SCHEMA_NAME = "cited_answer"
# Consecutive whitespace characters after which a JSON answer is degenerate and the stream is stopped
# (valid JSON never needs more than a newline and some indentation).
MAX_WHITESPACE_RUN = 32


def answer_schema(n_passages: int) -> dict[str, Any]:
    """The JSON schema of an answer over passages ``[1]..[n_passages]`` (n >= 1).

    Two alternatives: a refusal with no sentences, or 1..MAX_SENTENCES sentences each citing
    1..MAX_CITATIONS_PER_SENTENCE keys from the enum. Only keywords that vLLM's default
    structured-output backend (xgrammar) compiles are used (no uniqueItems, no pattern).
    """
    if n_passages < 1:
        raise ValueError("a JSON answer needs at least one passage to cite")
    sentence = {
        "type": "object",
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": MAX_SENTENCE_CHARS},
            "citations": {
                "type": "array",
                "items": {"type": "integer", "enum": list(range(1, n_passages + 1))},
                "minItems": 1,
                "maxItems": min(MAX_CITATIONS_PER_SENTENCE, n_passages),
            },
        },
        "required": ["text", "citations"],
        "additionalProperties": False,
    }
    refusal = {
        "type": "object",
        "properties": {"sentences": {"type": "array", "maxItems": 0}, "refused": {"const": True}},
        "required": ["sentences", "refused"],
        "additionalProperties": False,
    }
    answer = {
        "type": "object",
        "properties": {
            "sentences": {"type": "array", "items": sentence, "minItems": 1, "maxItems": MAX_SENTENCES},
            "refused": {"const": False},
        },
        "required": ["sentences", "refused"],
        "additionalProperties": False,
    }
    return {"anyOf": [answer, refusal]}


def response_format(n_passages: int) -> dict[str, Any]:
    """The OpenAI API's ``response_format`` for :func:`answer_schema` (vLLM maps it to structured outputs)."""
    return {"type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "schema": answer_schema(n_passages), "strict": True}}


@dataclass(frozen=True)
class JsonSentence:
    """One finished sentence of a JSON answer: its text and the passage keys it cites."""

    text: str
    citations: tuple[int, ...]


@dataclass
class JsonAnswerReader:
    """Feed the reply's text as it streams; get finished sentences (and the refusal flag) back.

    ``feed`` never raises on bad JSON: it records the problem in ``error`` and stops reading, so
    the caller can still use the sentences that were complete before it.
    """

    refused: bool | None = None
    sentences: list[JsonSentence] = field(default_factory=list)
    error: str | None = None
    degenerate: bool = False
    _whitespace_run: int = 0
    _events: Any = None
    _parser: Any = None
    _current: dict[str, Any] | None = None
    _done: bool = False

    def __post_init__(self) -> None:
        self._events = ijson.sendable_list()
        self._parser = ijson.parse_coro(self._events)

    def feed(self, delta: str) -> list[JsonSentence]:
        """The sentences completed by this piece of the reply (often none)."""
        if self.error is not None or self._done or not delta:
            return []
        if self._longest_whitespace_run(delta) > MAX_WHITESPACE_RUN:
            self.degenerate = True
            self.error = f"more than {MAX_WHITESPACE_RUN} whitespace characters in a row"
            return self._drain()
        try:
            self._parser.send(delta.encode("utf-8", "surrogatepass"))
        except ijson.JSONError as exc:
            self.error = _one_line(exc)
        return self._drain()

    def _longest_whitespace_run(self, delta: str) -> int:
        """The longest run of whitespace this delta is part of (runs continue across deltas)."""
        if not delta.strip():
            self._whitespace_run += len(delta)
            return self._whitespace_run
        leading = len(delta) - len(delta.lstrip())
        longest = max(self._whitespace_run + leading, _longest_space_run(delta))
        self._whitespace_run = len(delta) - len(delta.rstrip())
        return longest

    def close(self) -> list[JsonSentence]:
        """End of the reply: the last sentences, and ``error`` set when the JSON is incomplete."""
        if self.error is None and not self._done:
            try:
                self._parser.close()
            except ijson.JSONError as exc:  # IncompleteJSONError: cut by max_tokens or a broken stream
                self.error = _one_line(exc)
            self._done = True
        return self._drain()

    def _drain(self) -> list[JsonSentence]:
        finished: list[JsonSentence] = []
        for prefix, event, value in self._events:
            if prefix == "refused" and event == "boolean":
                self.refused = bool(value)
            elif prefix == "sentences.item" and event == "start_map":
                self._current = {"text": "", "citations": []}
            elif prefix == "sentences.item.text" and event == "string" and self._current is not None:
                self._current["text"] = value
            elif (prefix == "sentences.item.citations.item" and event == "number" and self._current is not None
                  and int(value) == value):
                self._current["citations"].append(int(value))
            elif prefix == "sentences.item" and event == "end_map" and self._current is not None:
                sentence = JsonSentence(str(self._current["text"]), tuple(self._current["citations"]))
                self._current = None
                self.sentences.append(sentence)
                finished.append(sentence)
        del self._events[:]
        return finished


def _longest_space_run(text: str) -> int:
    runs = re.findall(r"\s+", text)
    return max((len(r) for r in runs), default=0)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


_END = re.compile(r"([.!?]+[\"')\]]*)\s*$")


def render_sentence(sentence: JsonSentence) -> str:
    """A JSON sentence in the text format: ``claim [1, 3].``, every sentence inside it carrying the marks.

    Bracketed numbers the model typed inside ``text`` are removed (only the schema's keys cite), line
    breaks become spaces, and a text the checker would split in several sentences gets the marks
    on each, so no piece of it is left uncited. Empty text renders as "".
    """
    text = " ".join(strip_bracketed_numbers(sentence.text).split())
    if not re.search(r"\w", text) or not sentence.citations:
        return ""
    keys: list[int] = []
    for key in sentence.citations:
        if key not in keys:
            keys.append(key)
    mark = "[" + ", ".join(str(k) for k in keys) + "]"
    pieces = []
    for piece in split_answer_sentences(text):
        if not re.search(r"\w", piece):
            continue
        match = _END.search(piece)
        if match:
            pieces.append(f"{piece[: match.start()].rstrip()} {mark}{match.group(1)}")
        else:
            pieces.append(f"{piece} {mark}.")
    return " ".join(pieces)
