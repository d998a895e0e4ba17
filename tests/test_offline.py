"""The in-process engine wrapper. vLLM itself cannot run here (no GPU): these tests check that CPU
installs never need it, and the batching/checking around ``vllm.LLM.chat`` with an engine that
answers like the stand-in server (same deterministic responder), shaped like vLLM's RequestOutput."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

import pytest
from fake_vllm import cite_passages_responder
from hit_factory import sample_hits

from paperqa.config import load_config
from paperqa.llm import LLMUnavailableError
from paperqa.offline import OfflineGenerator
from paperqa.prompting import fit_answer_prompt


@dataclass
class _Completion:
    text: str
    token_ids: list[int]
    finish_reason: str = "stop"


@dataclass
class _RequestOutput:
    prompt_token_ids: list[int]
    outputs: list[_Completion] = field(default_factory=list)


class ResponderEngine:
    """Answers each conversation with the stand-in server's responder; records the batches it got."""

    def __init__(self) -> None:
        self.batches: list[list[list[dict[str, str]]]] = []

    def chat(self, conversations: list[list[dict[str, str]]], sampling_params: Any, use_tqdm: bool) -> list:
        self.batches.append(conversations)
        outputs = []
        for messages in conversations:
            text = cite_passages_responder({"messages": messages}).content
            outputs.append(_RequestOutput(list(range(100)), [_Completion(text, list(range(len(text.split()))))]))
        return outputs


def settings(**llm: Any):
    return load_config(overrides={"llm.model": "Qwen/Qwen2.5-7B-Instruct", **{f"llm.{k}": v for k, v in llm.items()}})


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_without_vllm_the_error_says_how_to_install_it() -> None:
    with pytest.raises(LLMUnavailableError, match=r"pip install -e '\.\[gpu,test\]'"):
        OfflineGenerator(settings())


def test_answer_batch_sends_one_batch_and_checks_every_answer() -> None:
    engine = ResponderEngine()
    gen = OfflineGenerator(settings(), engine=engine, sampling_params=object())
    answers = gen.answer_batch(["Which are convnets?", "Nothing retrieved?", "Which use windows?"],
                               [sample_hits(3), [], sample_hits(4)[2:]])
    assert len(engine.batches) == 1 and len(engine.batches[0]) == 2  # the question without hits is not sent
    first, empty, third = answers
    assert [c.paper_id for c in first.citations] == ["paper-1", "paper-2"] and not first.refused
    assert empty.refused and empty.citations == [] and empty.stats.prompt_tokens == 0
    assert [c.paper_id for c in third.citations] == ["paper-3", "paper-4"]
    assert first.stats.prompt_tokens == 100 and first.stats.settings["batch_size"] == 2


def test_answer_batch_fits_each_prompt_to_the_context_window() -> None:
    engine = ResponderEngine()
    refusal = settings().answer.refusal_text
    two = fit_answer_prompt("Which are convnets?", sample_hits(2), refusal, context_window=100_000, max_tokens=256)
    # Room for the prompt with two passages, not three.
    window = two.prompt_tokens + 256 + 5
    gen = OfflineGenerator(settings(context_window=window, max_tokens=256), engine=engine, sampling_params=object())
    (answer,) = gen.answer_batch(["Which are convnets?"], [sample_hits(4)])
    assert answer.stats.settings["passages_in_prompt"] == 2 and answer.stats.settings["passages_dropped"] == 2
    assert sample_hits(4)[2].text not in engine.batches[0][0][1]["content"]
