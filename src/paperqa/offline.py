"""Batched generated answers with vLLM's in-process engine (``vllm.LLM``), for offline evaluation.

Serving through ``vllm serve`` is the normal path (:mod:`paperqa.generation`). For evaluating many
questions on a GPU host, handing the whole batch to one in-process engine avoids HTTP and lets vLLM
schedule everything at once. Prompts, the token budget and the citation checking are the same as
the served path; the evidence step and follow-up rewriting are not done here (one call per question).

``vllm`` is imported only when :class:`OfflineGenerator` builds its engine, so CPU installs, which
never have vllm, can import this module freely.
"""

from __future__ import annotations

import time
from typing import Any

from paperqa.config import ConfigError, Settings
from paperqa.generation import checked_answer
from paperqa.llm import LLMUnavailableError
from paperqa.models import Answer, AnswerStats, GenerationInfo, Hit
from paperqa.prompting import FittedPrompt, fit_answer_prompt


def _load_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise LLMUnavailableError(
            "the in-process engine needs vLLM, which is not installed: on a GPU host use "
            "`pip install -e '.[gpu,test]'`, or serve the model with "
            "`vllm serve` and set llm.base_url instead") from exc
    return vllm


class OfflineGenerator:
    """One ``vllm.LLM`` engine for ``llm.model`` with ``llm.context_window`` tokens; answers batches.

    ``engine`` and ``sampling_params`` may be given (an engine built elsewhere, shared between runs);
    otherwise they are built from the settings, with ``engine_kwargs`` passed to ``vllm.LLM``
    (e.g. ``gpu_memory_utilization=0.85``, ``tensor_parallel_size=2``).
    """

    def __init__(self, settings: Settings, engine: Any = None, sampling_params: Any = None,
                 **engine_kwargs: Any) -> None:
        self.settings = settings
        if not settings.llm.model:
            raise ConfigError("llm.model must name the model the in-process engine loads")
        if engine is None or sampling_params is None:
            vllm = _load_vllm()
            if engine is None:
                engine = vllm.LLM(model=settings.llm.model, max_model_len=settings.llm.context_window,
                                  **engine_kwargs)
            if sampling_params is None:
                sampling_params = vllm.SamplingParams(temperature=settings.llm.temperature,
                                                      max_tokens=settings.llm.max_tokens)
        self.engine = engine
        self.sampling_params = sampling_params

    def answer_batch(self, questions: list[str], hits: list[list[Hit]]) -> list[Answer]:
        """One checked Answer per question; questions without a passage that fits are refused unasked."""
        if len(questions) != len(hits):
            raise ValueError(f"{len(questions)} questions but {len(hits)} hit lists")
        started = time.monotonic()
        cfg = self.settings
        fitted = [fit_answer_prompt(q, h, cfg.answer.refusal_text, cfg.llm.context_window, cfg.llm.max_tokens)
                  for q, h in zip(questions, hits, strict=True)]
        asked = [i for i, f in enumerate(fitted) if f.hits]
        outputs = self.engine.chat([fitted[i].messages for i in asked], sampling_params=self.sampling_params,
                                   use_tqdm=False) if asked else []
        by_index = dict(zip(asked, outputs, strict=True))
        elapsed = time.monotonic() - started
        return [self._answer(questions[i], hits[i], fitted[i], by_index.get(i), elapsed, len(asked))
                for i in range(len(questions))]

    def _answer(self, question: str, hits: list[Hit], fitted: FittedPrompt, output: Any, batch_s: float,
                batch_size: int) -> Answer:
        cfg = self.settings
        settings = {"model": cfg.llm.model, "engine": "vllm.LLM (in-process, batched)",
                    "context_window": cfg.llm.context_window, "max_tokens": cfg.llm.max_tokens,
                    "temperature": cfg.llm.temperature, "keep_uncited": cfg.answer.keep_uncited,
                    "passages_retrieved": len(hits), "passages_in_prompt": len(fitted.hits),
                    "passages_dropped": fitted.dropped, "prompt_budget_tokens": fitted.budget,
                    "batch_size": batch_size, "total_s_is": "the whole batch's time"}
        if cfg.answer.format != "text":
            # Not built: per-prompt schemas would need one SamplingParams(structured_outputs=...) per prompt.
            settings["answer_format_note"] = "answer.format json is not supported in-process; the text format was used"
        if output is None:
            settings["refusal_reason"] = "no passage was retrieved or none fits the context window"
            stats = AnswerStats(model=cfg.llm.model, prompt_tokens=0, completion_tokens=0, total_s=batch_s,
                                prompt_version=fitted.prompt_version, answer_format="text",
                                settings=GenerationInfo.model_validate(settings))
            return Answer(question=question, text=cfg.answer.refusal_text, refused=True, mode="generated",
                          hits=list(hits), stats=stats)
        completion = output.outputs[0]
        settings["finish_reason"] = completion.finish_reason
        stats = AnswerStats(model=cfg.llm.model, prompt_tokens=len(output.prompt_token_ids or []),
                            completion_tokens=len(completion.token_ids), total_s=batch_s,
                            prompt_version=fitted.prompt_version, answer_format="text",
                                settings=GenerationInfo.model_validate(settings))
        return checked_answer(cfg, question, hits, fitted.hits, completion.text, stats)
