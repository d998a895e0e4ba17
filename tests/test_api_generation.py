"""PaperQA.ask / PaperQA.stream in generated mode against the stand-in vLLM server, on a tiny real index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_vllm import FakeVLLM, Reply
from hit_factory import PASSAGES

from paperqa.api import PaperQA
from paperqa.embedding import Embedder
from paperqa.generation import LLMUnavailableError
from paperqa.models import Answer

_EMBEDDER: list[Embedder] = []  # one embedding model for the module: loading it is the slow part


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the four sample abstracts, built once for this module."""
    folder = tmp_path_factory.mktemp("gen-index")
    source = folder / "papers.jsonl"
    source.write_text("\n".join(json.dumps({"title": t, "abstract": a}) for t, a in PASSAGES) + "\n")
    qa = PaperQA(folder / "index")
    qa.ingest([source])
    _EMBEDDER.append(qa.embedder)
    return folder / "index"


def make_qa(index_dir: Path, overrides: dict[str, Any]) -> PaperQA:
    return PaperQA(index_dir, overrides=overrides, embedder=_EMBEDDER[0])


def qa_for(index_dir: Path, server: FakeVLLM, **overrides: Any) -> PaperQA:
    values = {"llm.base_url": server.base_url, "llm.backoff_s": 0.01, "llm.timeout": 5.0, "retrieval.k": 3}
    values.update(overrides)
    return make_qa(index_dir, values)


def test_ask_uses_the_model_when_base_url_is_set(index_dir: Path, fake_vllm: FakeVLLM) -> None:
    qa = qa_for(index_dir, fake_vllm)
    assert qa.answer_mode() == "generated"
    answer = qa.ask("Which model is built from standard ConvNet modules?")
    assert answer.mode == "generated" and answer.notice is None and not answer.refused
    assert answer.citations and all(c.quote in c.passage for c in answer.citations)
    assert answer.stats.retrieval_s is not None and answer.stats.model == "fake/qwen-stand-in"
    assert len(fake_vllm.chat_requests) == 1


def test_stream_yields_deltas_then_the_answer(index_dir: Path, fake_vllm: FakeVLLM) -> None:
    items = list(qa_for(index_dir, fake_vllm).stream("Which model uses shifted windows?"))
    deltas, final = items[:-1], items[-1]
    assert isinstance(final, Answer) and len(deltas) > 1 and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == final.text


def test_server_killed_mid_stream_falls_back_to_extractive_with_notice(index_dir: Path, fake_vllm: FakeVLLM) -> None:
    qa = qa_for(index_dir, fake_vllm)
    fake_vllm.queue(Reply(content="ConvNeXt is built from ConvNet modules [1]. " * 4, chunk_chars=6, cut_after=4))
    answer = qa.ask("Which model is built from standard ConvNet modules?")
    assert answer.mode == "extractive"
    assert answer.notice and "language model was unavailable" in answer.notice and "stream broke" in answer.notice
    assert answer.citations  # the extractive answer quotes the abstracts


def test_server_down_falls_back(index_dir: Path) -> None:
    server = FakeVLLM().start()
    base_url = server.base_url
    server.stop()
    qa = make_qa(index_dir, {"llm.base_url": base_url, "llm.retries": 0, "llm.timeout": 2.0})
    answer = qa.ask("Which model is built from standard ConvNet modules?")
    assert answer.mode == "extractive" and "cannot connect" in (answer.notice or "")


def test_without_fallback_the_error_propagates(index_dir: Path, fake_vllm: FakeVLLM) -> None:
    qa = qa_for(index_dir, fake_vllm, **{"llm.fallback_to_extractive": False, "llm.model": "not/served"})
    with pytest.raises(LLMUnavailableError, match="not served"):
        qa.ask("Which model is built from standard ConvNet modules?")


def test_follow_up_is_rewritten_before_retrieval(index_dir: Path, fake_vllm: FakeVLLM) -> None:
    qa = qa_for(index_dir, fake_vllm)
    fake_vllm.queue(Reply(content="Which model reaches 87.3 top-1 accuracy with shifted windows?"))
    history = [{"role": "user", "content": "Which models use windows?"},
               {"role": "assistant", "content": "Swin Transformer does [1]."}]
    answer = qa.ask("and what accuracy does it reach?", history=history)
    rewrite, answer_request = fake_vllm.chat_requests
    assert "Assistant: Swin Transformer does [1]." in rewrite.prompt_text
    assert "Question: Which model reaches 87.3 top-1 accuracy with shifted windows?" in answer_request.prompt_text
    assert answer.hits[0].title == "Swin Transformer"  # retrieved with the standalone question
    assert answer.question == "and what accuracy does it reach?"


def test_history_without_llm_makes_no_call(index_dir: Path) -> None:
    qa = make_qa(index_dir, {"retrieval.k": 3})
    answer = qa.ask("Which model uses shifted windows?", history=[{"role": "user", "content": "hi"}])
    assert answer.mode == "extractive"


def _cli(args: list[str], config: Path) -> str:
    from typer.testing import CliRunner

    from paperqa.cli import app

    result = CliRunner().invoke(app, [*args, "--config", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_ask_streams_then_prints_the_checked_answer(index_dir: Path, fake_vllm: FakeVLLM, tmp_path: Path) -> None:
    config = tmp_path / "llm.yaml"
    config.write_text(f"llm:\n  base_url: {fake_vllm.base_url}\nanswer:\n  keep_uncited: false\n")
    fake_vllm.queue(Reply(content="Some chatter. ConvNeXt is built from standard ConvNet modules [1][8].",
                          chunk_chars=5))
    output = _cli(["ask", "Which model is built from standard ConvNet modules?", "--index-dir", str(index_dir),
                   "-k", "2"], config)
    streamed, checked = output.split("--- checked answer ---")
    assert "Some chatter. ConvNeXt is built from standard ConvNet modules [1]." in streamed
    assert "Some chatter" not in checked and "ConvNeXt is built from standard ConvNet modules [1]." in checked
    assert "Removed citations to passages that do not exist: [8]" in checked
    assert "1 sentence(s) cited no passage and were removed" in checked
    assert "model fake/qwen-stand-in" in checked


def test_cli_ask_json_prints_the_final_answer(index_dir: Path, fake_vllm: FakeVLLM, tmp_path: Path) -> None:
    config = tmp_path / "llm.yaml"
    config.write_text(f"llm:\n  base_url: {fake_vllm.base_url}\n")
    output = _cli(["ask", "Which model uses shifted windows?", "--index-dir", str(index_dir), "--json"], config)
    answer = json.loads(output)
    assert answer["mode"] == "generated" and answer["citations"] and answer["stats"]["model"] == "fake/qwen-stand-in"
