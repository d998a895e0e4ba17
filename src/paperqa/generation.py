"""Generated answers: rewrite a follow-up, judge evidence, stream a grounded answer, check its citations.

:class:`AnswerGenerator` is what ``api.PaperQA`` uses in generated mode. It talks to the server
only when asked (construction is free), and everything it produces is checked by
:mod:`paperqa.citations` before it becomes an :class:`~paperqa.models.Answer`: the text streamed
to the user already has its citation marks renumbered and invented ones removed; the final
``Answer.text`` is authoritative (it also drops uncited sentences when ``answer.keep_uncited`` is
false), so a UI should replace the streamed text with it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from paperqa.answer_json import JsonAnswerReader, JsonSentence, render_sentence, response_format
from paperqa.citations import StreamRewriter, check_answer
from paperqa.config import Settings
from paperqa.llm import (
    ChatResult,
    LLMClient,
    LLMUnavailableError,
    ModelNotServedError,
    RequestRejectedError,
    ServerInfo,
)
from paperqa.models import Answer, AnswerStats, AnswerStream, GenerationInfo, Hit
from paperqa.prompting import (
    EVIDENCE_MAX_TOKENS,
    AnswerFormat,
    FittedPrompt,
    count_message_tokens,
    count_tokens,
    evidence_messages,
    fit_answer_prompt,
    prompt_budget,
    rewrite_messages,
)

# Follow-up rewrites remembered (so api's rewrite before retrieval and stream() share one call).
_REWRITE_CACHE_SIZE = 256

__all__ = ["AnswerGenerator", "LLMUnavailableError", "ModelNotServedError", "ServerInfo", "checked_answer",
           "rejected_summary", "uncited_reason"]


@dataclass
class _Usage:
    """Tokens over every call made for one answer; ``estimated`` when a server reported no usage."""

    prompt: int = 0
    completion: int = 0
    calls: int = 0
    estimated: bool = False

    def add(self, result: ChatResult, messages: list[dict[str, str]]) -> None:
        self.calls += 1
        if result.prompt_tokens is None or result.completion_tokens is None:
            self.estimated = True
        self.prompt += result.prompt_tokens if result.prompt_tokens is not None else count_message_tokens(messages)
        self.completion += (result.completion_tokens if result.completion_tokens is not None
                            else count_tokens(result.text))


@dataclass
class Evidence:
    """The evidence step's verdicts: passages judged relevant, figures they state, and the rest."""

    relevant: list[Hit] = field(default_factory=list)
    rejected: list[Hit] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)
    unreadable: int = 0


class AnswerGenerator:
    """Generated answers from an OpenAI-compatible server (vLLM); see the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._llm: LLMClient | None = None
        self._rewrites: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()  # one generator serves concurrent asks (UI sessions, eval threads)

    @property
    def llm(self) -> LLMClient:
        with self._lock:
            if self._llm is None:
                self._llm = LLMClient(self.settings.llm)
            return self._llm

    def server_info(self) -> ServerInfo:
        """What the server serves (asked once, cached); raises when ``llm.model`` is not there."""
        return self.llm.server_info()

    def context_window(self) -> int:
        """The served model's ``max_model_len``, else ``llm.context_window``."""
        return self.server_info().context_window(self.settings.llm.context_window)

    # -- follow-ups -----------------------------------------------------------------------------
    def standalone_question(self, question: str, history: list[dict] | None) -> str:
        """The follow-up rewritten to stand alone, from the chat history; no history, no LLM call."""
        if not history or not any(m.get("content") for m in history):
            return question
        key = (question, json.dumps(history, sort_keys=True, default=str))
        with self._lock:
            cached = self._rewrites.get(key)
        if cached is not None:
            return cached
        budget = prompt_budget(self.context_window(), self.settings.llm.max_tokens)
        messages = rewrite_messages(question, history, budget)
        rewritten = _clean_rewrite(self.llm.chat(messages).text) or question
        with self._lock:
            while len(self._rewrites) >= _REWRITE_CACHE_SIZE:
                self._rewrites.pop(next(iter(self._rewrites)))
            self._rewrites[key] = rewritten
        return rewritten

    # -- evidence -------------------------------------------------------------------------------
    def judge_evidence(self, question: str, hits: list[Hit], usage: _Usage | None = None) -> Evidence:
        """Ask the model about each passage in parallel (at most ``llm.concurrency`` at once)."""
        evidence = Evidence()
        if not hits:
            return evidence
        workers = min(self.settings.llm.concurrency, len(hits))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="paperqa-evidence") as pool:
            futures = [pool.submit(self._judge_one, question, hit) for hit in hits]
            try:
                verdicts = [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        for hit, (verdict, messages, result) in zip(hits, verdicts, strict=True):
            if usage is not None:
                usage.add(result, messages)
            relevant, figure = verdict
            if relevant is None:
                evidence.unreadable += 1
            if relevant is False:
                evidence.rejected.append(hit)
                continue
            evidence.relevant.append(hit)
            if figure:
                evidence.figures[hit.chunk.chunk_id] = figure
        return evidence

    def _judge_one(self, question: str, hit: Hit) -> tuple[tuple[bool | None, str | None], list, ChatResult]:
        messages = evidence_messages(question, hit)
        result = self.llm.chat(messages, max_tokens=min(EVIDENCE_MAX_TOKENS, self.settings.llm.max_tokens))
        return parse_verdict(result.text), messages, result

    # -- answers --------------------------------------------------------------------------------
    def stream(self, question: str, hits: list[Hit], history: list[dict] | None = None) -> AnswerStream:
        """Text deltas as the model writes them (marks already renumbered), then the checked Answer."""
        return AnswerStream(self._stream(question, hits, history))

    def _stream(self, question: str, hits: list[Hit], history: list[dict] | None) -> Generator[str, None, Answer]:
        started = time.monotonic()
        info = self.server_info()
        standalone = self.standalone_question(question, history)
        usage = _Usage()
        settings = self._base_settings(info, standalone, question, len(hits))
        evidence_started = time.monotonic()
        evidence = self._evidence(standalone, hits, usage, settings)
        settings["timings_s"] = {"evidence": time.monotonic() - evidence_started}  # read by paperqa eval
        if not evidence.relevant:
            why = "no passage was retrieved" if not hits else "the evidence step judged no passage relevant"
            return self._refusal(question, hits, info, usage, settings, started, why)
        fmt = self.settings.answer.format
        fitted = self._fit(standalone, evidence, fmt)
        settings.update(passages_in_prompt=len(fitted.hits), passages_dropped=fitted.dropped,
                        prompt_budget_tokens=fitted.budget, prompt_tokens_estimated=fitted.prompt_tokens)
        if not fitted.hits:
            why = f"not one passage fits the context window of {self.context_window()} tokens"
            return self._refusal(question, hits, info, usage, settings, started, why)
        if fmt == "json":
            try:
                return (yield from self._stream_json(question, hits, fitted, info, usage, settings, started))
            except RequestRejectedError as exc:
                # Raised when the request is made, before any text was shown: ask again in text format.
                notice = (f"The server refused the JSON answer format (HTTP {exc.status}: {exc.server_message}); "
                          "the answer was written in the text format and its citations checked afterwards.")
                settings["json_rejected"] = exc.server_message
                fitted = self._fit(standalone, evidence, "text")
                settings.update(passages_in_prompt=len(fitted.hits), passages_dropped=fitted.dropped,
                                prompt_budget_tokens=fitted.budget, prompt_tokens_estimated=fitted.prompt_tokens)
                answer = yield from self._stream_text(question, hits, fitted, info, usage, settings, started)
                answer.notice = f"{notice} {answer.notice}" if answer.notice else notice
                return answer
        return (yield from self._stream_text(question, hits, fitted, info, usage, settings, started))

    def _fit(self, question: str, evidence: Evidence, fmt: AnswerFormat) -> FittedPrompt:
        return fit_answer_prompt(question, evidence.relevant, self.settings.answer.refusal_text,
                                 self.context_window(), self.settings.llm.max_tokens, evidence.figures, fmt)

    def _stream_text(self, question: str, hits: list[Hit], fitted: FittedPrompt, info: ServerInfo, usage: _Usage,
                     settings: dict, started: float) -> Generator[str, None, Answer]:
        """The free-text format: deltas with their marks renumbered as they arrive; returns the checked Answer."""
        rewriter = StreamRewriter(len(fitted.hits))
        first_token_s: float | None = None
        result: ChatResult | None = None
        for item in self.llm.stream_chat(fitted.messages):
            if isinstance(item, ChatResult):
                result = item
                break
            if first_token_s is None:
                first_token_s = time.monotonic() - started
            shown = rewriter.feed(item)
            if shown:
                _first_text(settings, started)
                yield shown
        tail = rewriter.flush()
        if tail:
            _first_text(settings, started)
            yield tail
        if result is None:  # stream_chat always ends with a ChatResult or raises
            raise LLMUnavailableError(f"LLM server at {self.llm.base_url}: the stream ended without a result")
        usage.add(result, fitted.messages)
        settings["attempts"] = result.attempts
        settings["finish_reason"] = result.finish_reason
        if result.finish_reason == "length":
            settings["cut_by"] = _cut_by(result, self.settings.llm.max_tokens, self.context_window())
        return self._answer(question, hits, fitted, result.text, info, usage, settings, started, first_token_s,
                            "text")

    def _stream_json(self, question: str, hits: list[Hit], fitted: FittedPrompt, info: ServerInfo, usage: _Usage,
                     settings: dict, started: float) -> Generator[str, None, Answer]:
        """The JSON format: each sentence is shown, with its marks, once its object is complete."""
        reader = JsonAnswerReader()
        rewriter = StreamRewriter(len(fitted.hits))
        rendered: list[str] = []
        first_token_s: float | None = None
        result: ChatResult | None = None
        refusal_shown = False

        def show(sentences: list[JsonSentence]) -> Iterator[str]:
            nonlocal refusal_shown
            if reader.refused and not refusal_shown and not rendered:
                refusal_shown = True
                _first_text(settings, started)
                yield self.settings.answer.refusal_text
            if reader.refused:
                return
            for sentence in sentences:
                text = render_sentence(sentence)
                if not text:
                    continue
                shown = rewriter.feed((" " if rendered else "") + text)
                rendered.append(text)
                if shown:
                    _first_text(settings, started)
                    yield shown

        stream = self.llm.stream_chat(fitted.messages, response_format=response_format(len(fitted.hits)))
        raw = ""
        for item in stream:
            if isinstance(item, ChatResult):
                result = item
                break
            if first_token_s is None:
                first_token_s = time.monotonic() - started
            raw += item
            yield from show(reader.feed(item))
            if reader.degenerate:  # padding whitespace until max_tokens: stop generating (closes the request)
                stream.close()
                result = ChatResult(raw, finish_reason="degenerate", model=info.model)
                break
        yield from show(reader.close())
        tail = rewriter.flush()
        if tail:
            yield tail
        if result is None:  # stream_chat always ends with a ChatResult or raises
            raise LLMUnavailableError(f"LLM server at {self.llm.base_url}: the stream ended without a result")
        usage.add(result, fitted.messages)
        settings.update(attempts=result.attempts, finish_reason=result.finish_reason,
                        json_sentences=len(reader.sentences), json_error=reader.error)
        notice = None
        if reader.refused:
            text = self.settings.answer.refusal_text
        elif rendered:
            text = " ".join(rendered)
            if reader.degenerate:
                notice = (f"The model's JSON answer turned into padding after {len(reader.sentences)} sentence(s) "
                          "and was stopped; the complete sentences are shown.")
            elif reader.error and result.finish_reason != "length":
                notice = (f"The model's JSON answer broke off after {len(reader.sentences)} sentence(s) "
                          f"({reader.error}); the complete sentences are shown.")
        elif reader.error and not result.text.lstrip().startswith("{"):
            # The server ignored the schema (not vLLM, or structured outputs off): read the reply as text.
            text = result.text
            notice = ("The server did not constrain the reply to the JSON schema (the reply is not JSON); "
                      "it was checked as free text.")
        else:
            cut = {"length": " (cut at llm.max_tokens)",
                   "degenerate": " (stopped: the model padded it with whitespace)"}.get(result.finish_reason or "", "")
            raise LLMUnavailableError(
                f"LLM server at {self.llm.base_url}: the model's JSON answer has no complete sentence{cut}"
                + (f": {reader.error}" if reader.error else ""))
        answer = self._answer(question, hits, fitted, text, info, usage, settings, started, first_token_s, "json")
        if notice:
            answer.notice = f"{notice} {answer.notice}" if answer.notice else notice
        return answer

    def _evidence(self, question: str, hits: list[Hit], usage: _Usage, settings: dict) -> Evidence:
        """The passages the answer prompt may use: all of them, or those the evidence step keeps."""
        if self.settings.answer.evidence != "llm" or not hits:
            return Evidence(relevant=list(hits))
        evidence = self.judge_evidence(question, hits, usage)
        settings.update(evidence_rejected=len(evidence.rejected), evidence_unreadable=evidence.unreadable)
        return evidence

    def answer(self, question: str, hits: list[Hit], history: list[dict] | None = None) -> Answer:
        """The same as :meth:`stream`, without the deltas."""
        return self.stream(question, hits, history).get_response()

    # -- assembling answers ---------------------------------------------------------------------
    def _base_settings(self, info: ServerInfo, standalone: str, question: str, n_hits: int) -> dict:
        cfg = self.settings
        settings: dict = {
            "model": info.model,
            "base_url": info.base_url,
            "context_window": info.context_window(cfg.llm.context_window),
            "context_window_source": "server max_model_len" if info.max_model_len else "llm.context_window",
            "max_tokens": cfg.llm.max_tokens,
            "temperature": cfg.llm.temperature,
            "evidence": cfg.answer.evidence,
            "keep_uncited": cfg.answer.keep_uncited,
            "passages_retrieved": n_hits,
        }
        if standalone != question:
            settings["standalone_question"] = standalone
        return settings

    def _stats(self, info: ServerInfo, usage: _Usage, settings: dict, started: float,
               first_token_s: float | None, prompt_version: str | None = None,
               answer_format: AnswerFormat | None = None) -> AnswerStats:
        settings = {**settings, "llm_calls": usage.calls,
                    "token_counts": "estimated (cl100k_base)" if usage.estimated else "server usage"}
        return AnswerStats(
            model=info.model,
            prompt_tokens=usage.prompt if usage.calls else 0,
            completion_tokens=usage.completion if usage.calls else 0,
            time_to_first_token_s=first_token_s,
            total_s=time.monotonic() - started,
            prompt_version=prompt_version,
            answer_format=answer_format,
            settings=GenerationInfo.model_validate(settings),
        )

    def _refusal(self, question: str, hits: list[Hit], info: ServerInfo, usage: _Usage, settings: dict,
                 started: float, why: str) -> Answer:
        """Refuse without asking the model for an answer (nothing it could cite)."""
        settings = {**settings, "refusal_reason": why}
        return Answer(question=question, text=self.settings.answer.refusal_text, refused=True, mode="generated",
                      hits=list(hits), stats=self._stats(info, usage, settings, started, None))

    def _answer(self, question: str, hits: list[Hit], fitted: FittedPrompt, text: str, info: ServerInfo,
                usage: _Usage, settings: dict, started: float, first_token_s: float | None,
                answer_format: AnswerFormat) -> Answer:
        """The model's text (for JSON: its sentences rendered with marks) through the one citation checker."""
        stats = self._stats(info, usage, settings, started, first_token_s, fitted.prompt_version, answer_format)
        answer = checked_answer(self.settings, question, hits, fitted.hits, text, stats)
        if settings.get("cut_by") == "context window":
            answer.notice = (f"The model's answer reached the end of its context window "
                             f"({info.context_window(self.settings.llm.context_window)} tokens) and was cut short.")
        elif settings.get("finish_reason") == "length":
            answer.notice = (f"The model's answer reached llm.max_tokens ({self.settings.llm.max_tokens} tokens) "
                             "and was cut short.")
        return answer


def _cut_by(result: ChatResult, max_tokens: int, context_window: int) -> str:
    """What stopped an answer with finish_reason "length": vLLM 0.32 does not refuse a prompt that leaves
    less room than max_tokens, it stops the answer at the end of the context window instead."""
    prompt, completion = result.prompt_tokens, result.completion_tokens
    if prompt is None or completion is None:
        return "llm.max_tokens"
    return "context window" if completion < max_tokens and prompt + completion >= context_window else "llm.max_tokens"


def _first_text(settings: dict, started: float) -> None:
    """Record when the user first saw text (read by paperqa eval as ``ask.first_text``)."""
    settings["timings_s"].setdefault("first_text", time.monotonic() - started)


def checked_answer(settings: Settings, question: str, hits: list[Hit], prompt_hits: list[Hit], text: str,
                   stats: AnswerStats) -> Answer:
    """The model's raw ``text`` checked against the passages it was shown (``prompt_hits[i]`` is ``[i+1]``)."""
    checked = check_answer(text, prompt_hits, settings.answer.refusal_text, keep_uncited=settings.answer.keep_uncited,
                           min_support=settings.answer.min_citation_support)
    stats.unsupported_citations = len(checked.unsupported_sentences)
    return Answer(
        question=question,
        text=checked.text,
        citations=checked.citations,
        refused=checked.refused,
        mode="generated",
        invalid_citations=checked.invalid_citations,
        uncited_sentences=checked.uncited_sentences,
        unsupported_sentences=checked.unsupported_sentences,
        hits=list(hits),
        stats=stats,
    )


def uncited_reason(answer: Answer) -> str | None:
    """Why a checked generated answer must not reach a user as an answer, or None when it may.

    An answer that is not a refusal and kept no valid citation cites nothing the user could check
    (a small model that ignores the instructions, a loop until ``max_tokens``): it is replaced by
    the extractive answer (``PaperQA.stream``), never shown as generated.
    """
    if answer.refused or answer.citations:
        return None
    parts = [f"{len(answer.uncited_sentences)} sentence(s) without a citation"]
    if answer.unsupported_sentences:
        parts.append(f"{len(answer.unsupported_sentences)} sentence(s) its cited passages do not support")
    if answer.invalid_citations:
        parts.append(f"invalid citation(s) {', '.join(answer.invalid_citations)} removed")
    if answer.stats.settings.get("finish_reason") == "length":
        parts.append("it ran into llm.max_tokens")
    return "the model's answer cited no passage (" + "; ".join(parts) + ")"


def rejected_summary(answer: Answer, reason: str) -> dict:
    """What is kept of a rejected generated answer, in the fallback's ``stats.settings`` (for eval and debugging)."""
    # with answer.keep_uncited off the checked text has dropped what the model wrote: keep that here
    written = answer.text or " ".join([*answer.uncited_sentences, *answer.unsupported_sentences])
    return {"reason": reason, "text": written, "model": answer.stats.model,
            "prompt_tokens": answer.stats.prompt_tokens, "completion_tokens": answer.stats.completion_tokens,
            "time_to_first_token_s": answer.stats.time_to_first_token_s, "total_s": answer.stats.total_s,
            "uncited_sentences": len(answer.uncited_sentences), "invalid_citations": list(answer.invalid_citations),
            "settings": answer.stats.settings.model_dump(mode="json", exclude_none=True)}


_JSON_OBJECT = re.compile(r"\{.*?\}", re.DOTALL)


def parse_verdict(text: str) -> tuple[bool | None, str | None]:
    """(relevant, figure) from the judge's reply; relevant is None when the reply cannot be read."""
    match = _JSON_OBJECT.search(text)
    if match:
        try:
            data = json.loads(match.group())
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("relevant"), bool):
            figure = data.get("figure")
            return data["relevant"], str(figure).strip() if figure not in (None, "", "null") else None
    lowered = text.strip().lower()
    if re.match(r"(yes|relevant|true)\b", lowered):
        return True, None
    if re.match(r"(no|not relevant|irrelevant|false)\b", lowered):
        return False, None
    return None, None


def _clean_rewrite(text: str) -> str:
    """The rewritten question alone: first line, no label, no quotes."""
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^(standalone question|question)\s*:\s*", "", line, flags=re.IGNORECASE)
    return line.strip().strip("\"'\u201c\u201d").strip()
