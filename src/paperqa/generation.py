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
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from paperqa.citations import StreamRewriter, check_answer
from paperqa.config import Settings
from paperqa.llm import ChatResult, LLMClient, LLMUnavailableError, ModelNotServedError, ServerInfo
from paperqa.models import Answer, AnswerStats, AnswerStream, Hit
from paperqa.prompting import (
    EVIDENCE_MAX_TOKENS,
    count_message_tokens,
    count_tokens,
    evidence_messages,
    fit_answer_prompt,
    prompt_budget,
    rewrite_messages,
)

# Follow-up rewrites remembered (so api's rewrite before retrieval and stream() share one call).
_REWRITE_CACHE_SIZE = 256

__all__ = ["AnswerGenerator", "LLMUnavailableError", "ModelNotServedError", "ServerInfo", "checked_answer"]


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
        fitted = fit_answer_prompt(standalone, evidence.relevant, self.settings.answer.refusal_text,
                                   self.context_window(), self.settings.llm.max_tokens, evidence.figures)
        settings.update(passages_in_prompt=len(fitted.hits), passages_dropped=fitted.dropped,
                        prompt_budget_tokens=fitted.budget, prompt_tokens_estimated=fitted.prompt_tokens)
        if not fitted.hits:
            why = f"not one passage fits the context window of {self.context_window()} tokens"
            return self._refusal(question, hits, info, usage, settings, started, why)
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
                yield shown
        tail = rewriter.flush()
        if tail:
            yield tail
        if result is None:  # stream_chat always ends with a ChatResult or raises
            raise LLMUnavailableError(f"LLM server at {self.llm.base_url}: the stream ended without a result")
        usage.add(result, fitted.messages)
        settings["attempts"] = result.attempts
        settings["finish_reason"] = result.finish_reason
        return self._answer(question, hits, fitted.hits, result.text, info, usage, settings, started, first_token_s)

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
               first_token_s: float | None) -> AnswerStats:
        settings = {**settings, "llm_calls": usage.calls,
                    "token_counts": "estimated (cl100k_base)" if usage.estimated else "server usage"}
        return AnswerStats(
            model=info.model,
            prompt_tokens=usage.prompt if usage.calls else 0,
            completion_tokens=usage.completion if usage.calls else 0,
            time_to_first_token_s=first_token_s,
            total_s=time.monotonic() - started,
            settings=settings,
        )

    def _refusal(self, question: str, hits: list[Hit], info: ServerInfo, usage: _Usage, settings: dict,
                 started: float, why: str) -> Answer:
        """Refuse without asking the model for an answer (nothing it could cite)."""
        settings = {**settings, "refusal_reason": why}
        return Answer(question=question, text=self.settings.answer.refusal_text, refused=True, mode="generated",
                      hits=list(hits), stats=self._stats(info, usage, settings, started, None))

    def _answer(self, question: str, hits: list[Hit], prompt_hits: list[Hit], text: str, info: ServerInfo,
                usage: _Usage, settings: dict, started: float, first_token_s: float | None) -> Answer:
        stats = self._stats(info, usage, settings, started, first_token_s)
        answer = checked_answer(self.settings, question, hits, prompt_hits, text, stats)
        if settings.get("finish_reason") == "length":
            answer.notice = (f"The model's answer reached llm.max_tokens ({self.settings.llm.max_tokens} tokens) "
                             "and was cut short.")
        return answer


def checked_answer(settings: Settings, question: str, hits: list[Hit], prompt_hits: list[Hit], text: str,
                   stats: AnswerStats) -> Answer:
    """The model's raw ``text`` checked against the passages it was shown (``prompt_hits[i]`` is ``[i+1]``)."""
    checked = check_answer(text, prompt_hits, settings.answer.refusal_text, keep_uncited=settings.answer.keep_uncited)
    return Answer(
        question=question,
        text=checked.text,
        citations=checked.citations,
        refused=checked.refused,
        mode="generated",
        invalid_citations=checked.invalid_citations,
        uncited_sentences=checked.uncited_sentences,
        hits=list(hits),
        stats=stats,
    )


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
