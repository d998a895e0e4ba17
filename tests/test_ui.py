"""The web UI through its HTTP API (gradio_client) on the real bundled index, plus its HTML helpers."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_vllm import DEFAULT_MODEL, FakeVLLM, RecordedRequest, cite_passages_responder
from gradio_client import Client, handle_file
from typer.testing import CliRunner
from ui_server import serve

from paperqa import ui
from paperqa.api import PaperQA
from paperqa.cli import app
from paperqa.models import Citation

ADE20K = "Which CNN-transformer hybrids report ADE20K mIoU?"  # a cross-paper question: the results-table path
PASSAGES = "How does MOAT combine mobile convolution and attention?"  # answered from retrieved passages


@pytest.fixture(scope="module")
def url(bundled_index_dir: Path, embedder) -> Iterator[str]:
    """One read-only app on the shared bundled index for the tests that only ask and search."""
    with serve(PaperQA(bundled_index_dir, embedder=embedder)) as address:
        yield address


def text_of(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


def hit_titles(results: str) -> list[str]:
    return re.findall(r'<span class="pq-hit-title">(?:<a [^>]*>)?([^<]*)', results)


def test_ask_returns_a_cited_answer_and_follow_ups_keep_the_chat(url: str) -> None:
    client = Client(url, verbose=False)
    chat, sources, status, _box, answer = client.predict(ADE20K, 10, "hybrid", False, api_name="/ask")
    assert answer["mode"] == "extractive" and not answer["refused"]
    titles = {c["title"] for c in answer["citations"]}
    assert any(t.startswith("MOAT") for t in titles)
    reply = text_of(chat[-1])
    assert 'href="#src-1"' in reply and "[1]" in reply
    assert 'id="src-1"' in sources and "MOAT" in sources and "<mark>" in sources
    assert 'id="answer-extractive"' in status

    chat, *_ = client.predict("Which of them is built from standard ConvNet modules?", 5, "bm25", False,
                              api_name="/ask")
    assert [m["role"] for m in chat] == ["user", "assistant", "user", "assistant"]
    assert 'href="#src-' not in text_of(chat[1])  # only the current answer links to the sources panel


def test_refusals_and_bad_questions_are_shown_as_such(url: str) -> None:
    client = Client(url, verbose=False)
    chat, sources, status, _box, answer = client.predict(
        "What is the boiling point of mercury in Kelvin?", 10, "hybrid", False, api_name="/ask")
    assert answer["refused"] and 'id="answer-refused"' in status and "No answer" in status
    assert "cites no passage" in sources and 'href="#src-' not in text_of(chat[-1])

    chat, _sources, status, _box, _answer = client.predict("x" * 5000, 10, "hybrid", False, api_name="/ask")
    assert "pq-error" in status and "max_question_chars" in status
    assert text_of(chat[-1]).startswith("Could not answer")


def test_search_respects_title_and_source_filters(url: str, bundled_index_dir: Path, embedder) -> None:
    client = Client(url, verbose=False)
    results = client.predict("segmentation", "hybrid", 10, "", "", [], "transformer", api_name="/search")
    titles = hit_titles(results)
    assert titles and all("transformer" in t.lower() for t in titles)

    sources = PaperQA(bundled_index_dir, embedder=embedder).info().sources
    chosen = min(sources)
    results = client.predict("segmentation", "bm25", 20, "", "", [chosen], "", api_name="/search")
    metas = re.findall(r'<div class="pq-meta">([^<]*)</div><p', results)
    assert metas and all(chosen in meta for meta in metas)


def test_search_year_range_excludes_undated_papers_and_bad_years_are_reported(url: str) -> None:
    client = Client(url, verbose=False)
    # The bundled feed dumps carry no years, and a paper with no year never matches a year range.
    results = client.predict("transformer", "hybrid", 10, "2000", "2030", [], "", api_name="/search")
    assert 'id="search-empty"' in results and not hit_titles(results)
    results = client.predict("transformer", "hybrid", 10, "20x", "", [], "", api_name="/search")
    assert "pq-error" in results and "2021" in results


def test_broken_upload_is_reported_and_the_index_is_unchanged(bundled_qa: PaperQA, tmp_path: Path) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_text("foo,bar\n1,2\n")
    before = bundled_qa.info().papers
    with serve(bundled_qa) as address:
        report, *_ = Client(address, verbose=False).predict([handle_file(str(broken))], api_name="/ingest")
    assert "pq-error" in report and "Nothing was added" in report and "broken.csv" in report
    assert "/tmp" not in report.split("broken.csv")[0]  # the upload's temp folder is not shown
    assert PaperQA(bundled_qa.index_dir, embedder=bundled_qa.embedder).info().papers == before


def wait_until(condition, timeout_s: float = 120.0) -> None:
    """Poll for a condition (never a fixed sleep as the assertion); fail clearly if it never holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def is_judging(request: RecordedRequest) -> bool:
    system = " ".join(str(m.get("content", "")) for m in request.messages if m.get("role") == "system").lower()
    return "judge" in system and "relevant" in system


def test_a_slow_answer_does_not_block_other_users_and_evidence_uses_the_llm(
    bundled_index_dir: Path, embedder, fake_vllm: FakeVLLM
) -> None:
    overrides = {"llm.base_url": fake_vllm.base_url, "llm.model": DEFAULT_MODEL, "llm.backoff_s": 0.01}
    qa = PaperQA(bundled_index_dir, overrides=overrides, embedder=embedder)
    release, calls = threading.Event(), []

    def first_call_waits(body: dict) -> object:  # the model "thinks" about the first question until released
        calls.append(body)
        if len(calls) == 1:
            release.wait(300)
        return cite_passages_responder(body)

    fake_vllm.responder = first_call_waits
    with serve(qa) as address:
        slow = Client(address, verbose=False).submit(PASSAGES, 3, "hybrid", False, api_name="/ask")
        wait_until(lambda: len(calls) == 1)
        *_, answer = Client(address, verbose=False).predict(
            "Which model is built from standard ConvNet modules?", 3, "hybrid", False, api_name="/ask")
        assert answer["mode"] == "generated" and answer["stats"]["model"] == DEFAULT_MODEL and answer["citations"]
        assert not slow.done()  # still waiting on the model while the other user got an answer
        release.set()
        *_, first = slow.result(timeout=300)
        assert first["mode"] == "generated" and first["citations"]

        judged_before = sum(is_judging(r) for r in fake_vllm.chat_requests)
        *_, judged = Client(address, verbose=False).predict(PASSAGES, 3, "hybrid", True, api_name="/ask")
        assert judged["mode"] == "generated"
        assert sum(is_judging(r) for r in fake_vllm.chat_requests) - judged_before == 3  # one per passage


def test_uploads_over_the_size_limit_are_refused(bundled_index_dir: Path, embedder, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    row = "A title,An abstract that is long enough to be kept as a record in the index.\n"
    big.write_text("title,abstract\n" + row * (1_200_000 // len(row)))
    qa = PaperQA(bundled_index_dir, overrides={"ui.max_upload_mb": 1}, embedder=embedder)
    before = qa.info().papers
    with serve(qa) as address, pytest.raises(Exception, match="exceeds the maximum file size of 1048576 bytes"):
        Client(address, verbose=False).predict([handle_file(str(big))], api_name="/ingest")
    assert PaperQA(bundled_index_dir, embedder=embedder).info().papers == before


def test_login_is_required_when_auth_is_set(bundled_index_dir: Path, embedder) -> None:
    with serve(PaperQA(bundled_index_dir, embedder=embedder), auth="alice:s3cret") as address:
        with pytest.raises(Exception, match="(?i)auth|login|401|credentials"):
            Client(address, verbose=False)
        client = Client(address, auth=("alice", "s3cret"), verbose=False)
        results = client.predict("ADE20K", "bm25", 3, "", "", [], "", api_name="/search")
    assert len(hit_titles(results)) == 3


def test_parse_auth() -> None:
    assert ui.parse_auth("a:b, c:d:e") == [("a", "b"), ("c", "d:e")]
    assert ui.parse_auth(None) is None
    with pytest.raises(ValueError, match="user:password"):
        ui.parse_auth("nopassword")


def test_paper_text_is_escaped_and_the_quote_highlighted() -> None:
    passage = "We beat <b>everyone</b>. Our <script>x</script> model wins & more."
    start = passage.index("Our")
    citation = Citation(
        key=2, paper_id="2301.01234", title="<img src=x onerror=alert(1)>", passage=passage, chunk_id="c",
        quote=passage[start:], quote_start=start, quote_end=len(passage), score=0.5, authors=["A <B>"], year=2023,
    )
    card = ui.citation_card(citation)
    assert "<img" not in card and "<script>" not in card and "&lt;script&gt;" in card
    assert 'id="src-2"' in card and 'href="https://arxiv.org/abs/2301.01234"' in card
    assert "<mark>Our &lt;script&gt;x&lt;/script&gt; model wins &amp; more.</mark>" in card
    assert "A &lt;B&gt;" in card and "2023" in card


def test_linkify_links_only_known_keys_and_escapes() -> None:
    text = ui.linkify("Swin <i>wins</i> [1, 3]. See also [9] and [2-3].", known={1, 2, 3})
    assert "<i>" not in text and "&lt;i&gt;" in text
    assert text.count('class="pq-cite"') == 4  # 1, 3, 2, 3
    assert "\\[9\\]" in text and 'href="#src-9"' not in text  # shown, Markdown-escaped, not a link


def test_cli_has_a_ui_command() -> None:
    result = CliRunner().invoke(app, ["ui", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--auth", "--index-dir", "--config"):
        assert option in result.output
