"""Issue 11 item 4: Markdown from a paper or a user is shown, never rendered, in every face.

The browser test serves a paper titled ``![t](http://127.0.0.1:PORT/x)`` (and a link, and an image
in its abstract) and asks a question holding a Markdown image; a local HTTP server counts the
requests the page makes to it: there must be none, and no link to it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from ui_server import serve

from paperqa.api import PaperQA
from paperqa.eval.qa_eval import QAItemResult, QAResult
from paperqa.eval.report import EvalReport, markdown
from paperqa.models import Answer, Citation
from paperqa.ui import render

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update"]


class _Counter(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:  # http.server's method name
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.end_headers()
        self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def trap() -> Iterator[str]:
    """A local HTTP server on 127.0.0.1 that records every request: the bait's address."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _paper(trap: str) -> dict:
    return {"id": "2999.00001", "title": f"![t]({trap}/title-image) Graphene [link]({trap}/title-link) mobility",
            "abstract": f"Graphene sheets conduct electricity with very high electron mobility at room temperature "
                        f"![a]({trap}/abstract-image), reaching 200000 cm2/Vs in suspended samples "
                        f"<img src='{trap}/abstract-html'>."}


def _citation(trap: str) -> Citation:
    p = _paper(trap)
    return Citation(key=1, paper_id=p["id"], title=p["title"], passage=p["abstract"], chunk_id="c",
                    quote=p["abstract"], quote_start=0, quote_end=len(p["abstract"]), score=1.0)


# ----- pure rendering (no browser) -----------------------------------------------------------------


def test_chat_messages_escape_markdown_in_questions_titles_and_quotes():
    trap = "http://127.0.0.1:9"
    answer = Answer(question="q", text=f"- **{_paper(trap)['title']}**: \u201cx\u201d [1]",
                    citations=[_citation(trap)])
    turns = [{"question": f"What? ![q]({trap}/question)", "text": answer.text, "answer": answer}]
    for message in render.chat_messages(turns):
        content = message["content"]
        assert "](" not in content and "![" not in content and "<img" not in content
    reply = render.chat_messages(turns)[1]["content"]
    assert 'href="#src-1"' in reply  # our own citation links survive


def test_generated_text_is_escaped_too():
    text = "It reaches 53.5 mIoU ![x](http://127.0.0.1:9/g) [1].\n\n| a | b |\n|---|---|\n# heading"
    reply = render.linkify(text, known={1})
    assert "![" not in reply and "](" not in reply and "\n# " not in reply and "\n|" not in reply
    assert 'href="#src-1"' in reply and "53\\.5" in reply


def test_eval_markdown_report_escapes_questions_and_names():
    item = QAItemResult(id="a|b", type="lookup", question="Why ![q](http://127.0.0.1:9/e)?", gold_ids=["x"],
                        retrieved=[], cited=[], gold_recall_at_k=0.0, gold_recall_passages=None,
                        gold_recall_cited=None, citation_precision=None, fact_recall=None, refused=False,
                        invalid_citations=0, answer_mode="extractive", answer="a", timings_s={})
    metrics = {k: None for k in ("gold_recall@k", "gold_recall_passages", "gold_recall_cited", "citation_precision",
                                 "key_fact_match", "refusal_rate_unanswerable", "false_refusal_rate",
                                 "invalid_citations", "unsupported_citations", "judge_correct")}
    qa = QAResult(config_name="default", settings={}, recall_k=10, n_questions=1,
                  metrics=metrics, by_type={}, judge=None, latency={}, latency_raw_s={}, throughput_qps=1.0,
                  wall_s=1.0, per_item=[item])
    report = EvalReport(dataset="d", kind="qa", meta={}, dataset_info={}, configs={}, qa=[qa])
    text = markdown(report, [10])
    assert "![q]" not in text and "](http" not in text and "a\\|b" in text


# ----- in a real browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
def test_browser_fetches_nothing_and_links_nothing(trap, tmp_path, embedder):
    from playwright.sync_api import sync_playwright

    (tmp_path / "bait.jsonl").write_text(json.dumps(_paper(trap)) + "\n")
    qa = PaperQA(tmp_path / "index", embedder=embedder)
    qa.ingest([tmp_path / "bait.jsonl"])
    _Counter.hits.clear()
    question = f"Which material reaches a high electron mobility? ![q]({trap}/question-image) [l]({trap}/question-link)"
    with serve(qa) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_context().new_page()
        page.set_default_timeout(180_000)
        page.goto(url)
        box = page.locator("#question textarea, #question input").first
        box.fill("What electron mobility does graphene reach at room temperature?")
        box.press("Enter")
        page.wait_for_selector("#answer-status #answer-extractive")  # an answer quoting the bait paper
        page.wait_for_selector("#sources .pq-src")
        box.fill(question)
        box.press("Enter")
        page.wait_for_function("(() => { const bots = document.querySelectorAll('#chatbot .bot-row');"
                               " return bots.length >= 2 && !bots[bots.length - 1].innerText.trim().endsWith('…'); })()")
        page.wait_for_selector("#answer-status .pq-status")
        page.get_by_role("tab", name="Search").click()
        page.locator("#search-query textarea, #search-query input").first.fill(question)
        page.click("#search-btn")
        page.wait_for_selector("#search-results .pq-hit")
        page.get_by_role("tab", name="Chat").click()
        page.wait_for_timeout(1500)  # time for any image the page would load
        chat = page.inner_text("#chatbot")
        links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        images = page.eval_on_selector_all("img", "els => els.map(e => e.src)")
        browser.close()
    assert _Counter.hits == []
    assert not [h for h in links if h.startswith(trap)] and not [s for s in images if s.startswith(trap)]
    assert "![t](" in chat and "![q](" in chat  # shown as the characters they are
