"""``paperqa ui``: a local Gradio app to chat with the indexed papers, search them and add more.

The app is presentation only: every answer, search and ingest goes through :class:`PaperQA`
(the same calls the CLI and the API make). What lives here is HTML: the chat with clickable
``[n]`` citation markers, the sources panel with the cited sentence highlighted, search results
and the library report. Everything that comes from a paper is HTML-escaped.
"""

from __future__ import annotations

import html
import os
import re
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no analytics calls

import gradio as gr
from pydantic import SecretStr

from .api import PaperQA, QuestionError
from .models import Answer, Citation, Hit, IndexInfo, IngestReport
from .retrieval import SearchFilters
from .sources import EXTENSIONS, SourceError, normalize_arxiv_id

EXAMPLES = (
    "Which CNN-transformer hybrids report ADE20K mIoU?",
    "Which methods detect tables in scanned financial documents?",
    "What is layer masking and why does it reduce missingness bias?",
    "How can a vision transformer be trained well on small datasets?",
    "Which papers propose datasets for document layout analysis?",
)
MODES = ("hybrid", "dense", "bm25")
# System fonts only: the app works offline and never fetches web fonts.
SANS = ["Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Helvetica Neue", "Arial", "sans-serif"]
THEME = gr.themes.Soft(primary_hue="blue", font=SANS, font_mono=["ui-monospace", "SFMono-Regular", "monospace"])
UPLOAD_TYPES = sorted(EXTENSIONS)
PROGRESS = gr.Progress()  # Gradio reports an event's progress through a parameter defaulting to one
# "[1]", "[1, 3]", "[2-4]" in an answer; each key becomes its own link to the source card.
_MARKER = re.compile(r"\[(\s*\d+(?:\s*[-\u2013,;]\s*\d+)*\s*)\]")

CSS = """
.gradio-container { max-width: 1380px !important; margin: 0 auto !important; }
#pq-header { padding: 4px 2px 0; }
.pq-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 14px; }
.pq-head h1 { font-size: 1.45rem; margin: 0; font-weight: 700; letter-spacing: -0.01em; }
.pq-head .pq-sub { color: var(--body-text-color-subdued); font-size: 0.92rem; }
.pq-pill { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 0.82rem; font-weight: 600; }
.pq-pill.gen { background: #e7f5ec; color: #17603a; }
.pq-pill.ext { background: #fff4e0; color: #8a5300; }
.pq-status { border-radius: 8px; padding: 8px 12px; font-size: 0.9rem; line-height: 1.45; margin-bottom: 8px; }
.pq-status.gen { background: #eef8f1; border: 1px solid #bfe3cc; color: #17603a; }
.pq-status.ext { background: #fff8ea; border: 1px solid #f2d9a6; color: #6b4300; }
.pq-status.refused { background: #f3f4f6; border: 1px solid #d6d9de; color: #374151; }
.pq-status.error { background: #fdecec; border: 1px solid #f3b7b7; color: #8b1c1c; }
#sources { max-height: 660px; overflow-y: auto !important; padding-right: 4px; }
.pq-empty { color: var(--body-text-color-subdued); font-size: 0.92rem; padding: 12px 4px; }
.pq-src, .pq-hit { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 12px;
  margin-bottom: 10px; background: var(--background-fill-primary); transition: box-shadow .3s, border-color .3s; }
.pq-src.pq-focus { border-color: #2563eb; box-shadow: 0 0 0 3px rgba(37, 99, 235, .25); }
.pq-src-title { font-weight: 650; font-size: 0.97rem; line-height: 1.35; }
.pq-src-title a { color: inherit; text-decoration: none; border-bottom: 1px solid rgba(37, 99, 235, .4); }
.pq-key { display: inline-block; min-width: 1.7em; text-align: center; margin-right: 6px; padding: 0 5px;
  border-radius: 6px; background: #2563eb; color: white; font-size: 0.8rem; font-weight: 700; }
.pq-meta { color: var(--body-text-color-subdued); font-size: 0.82rem; margin: 3px 0 6px; }
.pq-passage { font-size: 0.88rem; line-height: 1.55; margin: 0; color: var(--body-text-color); }
.pq-passage mark { background: #fff0a8; color: inherit; padding: 1px 0; border-radius: 2px; }
.pq-more { margin-top: 6px; font-size: 0.88rem; }
.pq-more summary { cursor: pointer; color: var(--body-text-color-subdued); }
a.pq-cite { text-decoration: none !important; font-weight: 700; color: #2563eb !important; font-size: 0.85em;
  vertical-align: super; line-height: 0; padding: 0 1px; cursor: pointer; }
.pq-dl { display: grid; grid-template-columns: max-content 1fr; gap: 0; margin: 8px 0 0; font-size: 0.92rem; }
.pq-dl dt, .pq-dl dd { margin: 0; padding: 6px 8px; border-bottom: 1px solid var(--border-color-primary); }
.pq-dl dt { color: var(--body-text-color-subdued); }
.pq-dl dd { overflow-wrap: anywhere; }
.pq-dl-head { margin-top: 16px; font-weight: 650; font-size: 0.95rem; }
.pq-big { font-size: 1.6rem; font-weight: 700; }
.pq-report ul { margin: 4px 0 0 18px; }
#examples { flex-wrap: wrap !important; gap: 8px !important; align-items: center; }
#examples > * { flex: 0 1 auto !important; min-width: 0 !important; width: auto !important; }
#examples button { font-size: 0.84rem !important; border-radius: 999px !important; padding: 4px 14px !important;
  font-weight: 500 !important; }
#examples .pq-try { color: var(--body-text-color-subdued); font-size: 0.85rem; }
footer { display: none !important; }
#clear-btn, #ask-btn, #stop-btn { white-space: nowrap; }
.pq-help { font-size: 0.88rem; color: var(--body-text-color-subdued); line-height: 1.5; }
.pq-stopped { color: var(--body-text-color-subdued); font-style: italic; }
"""

# Clicking a [n] marker in the chat scrolls its source card into view and highlights it. Gradio's
# chat renders links with target=_blank, so the click is caught (capture phase) before it opens a tab.
JS = """
() => {
  if (window.__pqCites) return;
  window.__pqCites = true;
  document.addEventListener('click', (event) => {
    const link = event.target.closest ? event.target.closest('a[href*="#src-"]') : null;
    if (!link) return;
    const id = link.getAttribute('href').split('#').pop();
    const card = document.getElementById(id);
    if (!card) return;
    event.preventDefault();
    event.stopPropagation();
    const folded = card.closest('details');
    if (folded) folded.open = true;
    document.querySelectorAll('.pq-focus').forEach((el) => el.classList.remove('pq-focus'));
    card.classList.add('pq-focus');
    const panel = card.closest('#sources');
    if (panel) {  // scroll the panel itself so the card sits at its top, then make sure the panel shows
      const offset = card.getBoundingClientRect().top - panel.getBoundingClientRect().top - 8;
      panel.scrollBy({top: offset, behavior: 'smooth'});
      panel.scrollIntoView({behavior: 'smooth', block: 'nearest'});
    } else {
      card.scrollIntoView({behavior: 'smooth', block: 'start'});
    }
  }, true);
  const panel = document.getElementById('sources');
  if (panel) new MutationObserver(() => { panel.scrollTop = 0; }).observe(panel, {childList: true, subtree: true});
}
"""


# ----- HTML: answers, sources, search results, library -----------------------------------------


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def paper_link(paper_id: str, url: str | None) -> str | None:
    """The paper's page: its own URL, else arXiv when the id is an arXiv id."""
    if url:
        return url if url.startswith(("http://", "https://")) else None
    arxiv_id = normalize_arxiv_id(paper_id)
    return f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None


def _keys(group: str) -> list[int]:
    keys: list[int] = []
    for item in re.split(r"[,;]", group):
        bounds = [int(n) for n in re.findall(r"\d+", item)]
        if len(bounds) == 2 and 0 < bounds[1] - bounds[0] <= 50:
            keys.extend(range(bounds[0], bounds[1] + 1))
        else:
            keys.extend(bounds)
    return keys


def linkify(text: str, known: set[int], prefix: str = "src-") -> str:
    """Answer text for the chat: escaped, with each known ``[n]`` a link to ``#src-n``."""

    def link(match: re.Match[str]) -> str:
        keys = _keys(match.group(1))
        if not keys or not all(k in known for k in keys):
            return match.group(0)
        return "".join(f'<a class="pq-cite" href="#{prefix}{k}" title="Show source {k}">[{k}]</a>' for k in keys)

    return _MARKER.sub(link, html.escape(text, quote=False))


def highlighted(passage: str, start: int, end: int) -> str:
    """The passage with the cited sentence marked (offsets from ``Citation``; clamped)."""
    start, end = max(0, min(start, len(passage))), max(0, min(end, len(passage)))
    if end <= start:
        return esc(passage)
    return f"{esc(passage[:start])}<mark>{esc(passage[start:end])}</mark>{esc(passage[end:])}"


def _meta(authors: list[str], year: int | None, paper_id: str, score: float | None, extra: str = "") -> str:
    names = ", ".join(authors[:4]) + (" et al." if len(authors) > 4 else "")
    arxiv_id = normalize_arxiv_id(paper_id)
    parts = [names, str(year) if year else "", f"arXiv:{arxiv_id}" if arxiv_id else "",
             f"score {score:.4f}" if score is not None else "", extra]
    return " · ".join(esc(p) for p in parts if p)


def _title(title: str, link: str | None) -> str:
    if link:
        return f'<a href="{esc(link)}" target="_blank" rel="noopener noreferrer">{esc(title)}</a>'
    return esc(title)


def citation_card(c: Citation, prefix: str = "src-") -> str:
    link = paper_link(c.paper_id, c.url)
    return (
        f'<div class="pq-src" id="{prefix}{c.key}" data-paper-id="{esc(c.paper_id)}">'
        f'<div class="pq-src-title"><span class="pq-key">{c.key}</span>{_title(c.title, link)}</div>'
        f'<div class="pq-meta">{_meta(c.authors, c.year, c.paper_id, c.score)}</div>'
        f'<p class="pq-passage">{highlighted(c.passage, c.quote_start, c.quote_end)}</p></div>'
    )


def hit_card(hit: Hit) -> str:
    p = hit.paper
    ranks = f"dense #{hit.dense_rank or '–'} · BM25 #{hit.bm25_rank or '–'}"
    return (
        f'<div class="pq-hit" data-paper-id="{esc(p.paper_id)}">'
        f'<div class="pq-src-title"><span class="pq-key">{hit.rank}</span>'
        f'<span class="pq-hit-title">{_title(p.title, paper_link(p.paper_id, p.url))}</span></div>'
        f'<div class="pq-meta">{_meta(p.authors, p.year, p.paper_id, hit.score, ranks)}'
        f'{" · " + esc(", ".join(p.sources)) if p.sources else ""}</div>'
        f'<p class="pq-passage">{esc(hit.text)}</p></div>'
    )


def sources_html(answer: Answer | None) -> str:
    """The current answer's cited passages, then (folded) what was retrieved but not cited."""
    if answer is None:
        return '<div class="pq-empty">Sources of the answer appear here: each cited passage with the quoted ' \
               "sentence highlighted. Click a <b>[n]</b> marker in the answer to jump to it.</div>"
    cards = "".join(citation_card(c) for c in answer.citations)
    if not answer.citations:
        cards = '<div class="pq-empty">This answer cites no passage.</div>'
    cited = {c.chunk_id for c in answer.citations}
    rest = [h for h in answer.hits if h.chunk.chunk_id not in cited]
    if rest:
        cards += (f'<details class="pq-more"><summary>{len(rest)} more retrieved passage(s), not cited</summary>'
                  + "".join(hit_card(h) for h in rest) + "</details>")
    return cards


def error_html(message: str) -> str:
    return f'<div class="pq-status error pq-error">{esc(message)}</div>'


def status_html(answer: Answer | None, error: str | None = None) -> str:
    """What kind of answer this is: generated (by which model), extractive, or refused."""
    if error:
        return error_html(error)
    if answer is None:
        return ""
    if answer.refused:
        note = f" {esc(answer.notice)}" if answer.notice else ""
        return f'<div class="pq-status refused" id="answer-refused"><b>No answer.</b> {esc(answer.text)}{note}</div>'
    if answer.mode == "generated":
        model = esc(answer.stats.model or "the language model")
        extra = f"<br>{esc(answer.notice)}" if answer.notice else ""
        return f'<div class="pq-status gen" id="answer-generated">Generated by <b>{model}</b>; ' \
               f"every [n] was checked against the retrieved passages.{extra}</div>"
    notice = answer.notice or "Extractive answer: sentences quoted from the abstracts, not generated."
    return f'<div class="pq-status ext" id="answer-extractive">{esc(notice)}</div>'


def filters_note(filters: SearchFilters | None) -> str:
    if filters is None:
        return ""
    parts = []
    if filters.year_min or filters.year_max:
        parts.append(f"years {filters.year_min or '…'}–{filters.year_max or '…'}")
    if filters.sources:
        parts.append("from " + ", ".join(filters.sources))
    if filters.title_contains:
        parts.append(f"title contains \u201c{filters.title_contains}\u201d")
    return " · " + esc("; ".join(parts))


def results_html(hits: list[Hit], filters: SearchFilters | None, mode: str) -> str:
    if not hits:
        return '<div class="pq-empty" id="search-empty">No passages matched (check the filters).</div>'
    head = f'<div class="pq-meta">{len(hits)} passages · {esc(mode)}{filters_note(filters)}</div>'
    return head + "".join(hit_card(h) for h in hits)


def library_html(info: IndexInfo) -> str:
    rows = [("Index folder", info.index_dir), ("Embedding model", f"{info.embedding_model} ({info.dimension}-d)"),
            ("FAISS index", info.index_type), ("Chunking", f"{info.chunk_size} tokens, {info.chunk_overlap} overlap"),
            ("Updated", info.updated_at or "–")]
    facts = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    sources = "".join(f"<dt>{esc(name)}</dt><dd>{count} papers</dd>" for name, count in info.sources.items())
    return (f'<div><span class="pq-big" id="library-papers">{info.papers}</span> papers · '
            f'<span class="pq-big" id="library-chunks">{info.chunks}</span> passages</div>'
            f'<dl class="pq-dl">{facts}</dl><div class="pq-dl-head">Source files</div>'
            f'<dl class="pq-dl" id="library-sources">{sources}</dl>')


def report_html(report: IngestReport) -> str:
    problems = [("rejected", p) for p in report.errors] + [("skipped", p) for p in report.warnings]
    items = "".join(f"<li>{kind}: {esc(p)}</li>" for kind, p in problems)
    return (f'<div class="pq-status gen pq-report" id="ingest-ok"><b>{report.added}</b> papers added '
            f"({report.chunks_added} passages), <b>{report.skipped}</b> already indexed or duplicate, "
            f"{len(report.warnings)} records skipped, {len(report.errors)} files rejected."
            f"{f'<ul>{items}</ul>' if items else ''}</div>")


def header_html(qa: PaperQA) -> str:
    info = qa.info()
    generated = qa.answer_mode() == "generated"
    if generated:
        model = qa.settings.llm.model or "the model served at " + (qa.settings.llm.base_url or "?")
        pill = f'<span class="pq-pill gen" id="header-mode">Generated answers · {esc(model)}</span>'
    else:
        pill = '<span class="pq-pill ext" id="header-mode">Extractive answers (no LLM configured)</span>'
    name = "bundled corpus" if qa.bundled else Path(info.index_dir).name
    return (f'<div class="pq-head"><h1>paperqa</h1><span class="pq-sub">Ask questions about {esc(name)}: '
            f"<b>{info.papers}</b> papers, {info.chunks} passages, embeddings by {esc(info.embedding_model)}"
            f"</span>{pill}</div>")


# ----- the app -----------------------------------------------------------------------------------


class Session:
    """The PaperQA behind the app, plus one cheap ``with_settings`` copy per settings tuple."""

    def __init__(self, qa: PaperQA) -> None:
        self.qa = qa
        self._variants: dict[tuple[str, ...], PaperQA] = {}
        self._lock = threading.Lock()
        self._stops: set[str] = set()  # browser sessions whose Stop button was pressed

    def request_stop(self, key: str) -> None:
        with self._lock:
            self._stops.add(key)

    def stop_requested(self, key: str, clear: bool = False) -> bool:
        """Also checked by the streaming answer itself, so a late update never hides the stop."""
        with self._lock:
            found = key in self._stops
            if clear:
                self._stops.discard(key)
            return found

    def for_settings(self, evidence: bool) -> PaperQA:
        wanted = "llm" if evidence else "off"
        if wanted == self.qa.settings.answer.evidence:
            return self.qa
        key = (wanted,)
        with self._lock:
            if key not in self._variants:
                self._variants[key] = self.qa.with_settings({"answer.evidence": wanted})
            return self._variants[key]

    def index_changed(self) -> None:
        """After an ingest, copies must reopen the index (the base PaperQA already swapped it in)."""
        with self._lock:
            self._variants.clear()


def chat_messages(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The chat as Gradio messages; only the latest answer links to the sources panel."""
    messages: list[dict[str, str]] = []
    for i, turn in enumerate(turns):
        messages.append({"role": "user", "content": html.escape(turn["question"], quote=False)})
        answer: Answer | None = turn.get("answer")
        latest = i == len(turns) - 1
        known = {c.key for c in answer.citations} if answer and latest else set()
        content = linkify(turn["text"], known) if turn["text"] else "…"
        if turn.get("stopped"):
            content += '\n\n<span class="pq-stopped">Stopped before the answer was finished.</span>'
        messages.append({"role": "assistant", "content": content})
    return messages


STOPPED = '<div class="pq-status refused" id="answer-stopped">Stopped. Ask again, or ask something else.</div>'


def respond(
    session: Session, question: str, turns: list[dict[str, Any]], k: int, mode: str, evidence: bool, key: str = ""
) -> Iterator[tuple[Any, ...]]:
    """Stream one answer: (chat, turns, sources, status, question box, examples, answer JSON)."""
    question = (question or "").strip()
    if not question:
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return
    session.stop_requested(key, clear=True)
    history = [m for t in turns for m in ({"role": "user", "content": t["question"]},
                                          {"role": "assistant", "content": t["text"]})]
    turn: dict[str, Any] = {"question": question, "text": "", "answer": None}
    turns = [*turns, turn]
    hidden = gr.update(visible=False)
    yield chat_messages(turns), turns, gr.skip(), status_html(None), "", hidden, gr.skip()
    stream: Generator[str | Answer, None, None] | None = None
    try:
        stream = session.for_settings(evidence).stream(question, history, k=int(k), mode=mode)
        for item in stream:
            if session.stop_requested(key):  # Stop also cancels this event; this covers a late update
                turn["stopped"] = True
                yield chat_messages(turns), turns, gr.skip(), STOPPED, gr.skip(), hidden, gr.skip()
                return
            if isinstance(item, Answer):
                turn["answer"], turn["text"] = item, item.text
                yield (chat_messages(turns), turns, sources_html(item), status_html(item), gr.skip(), hidden,
                       item.model_dump(mode="json", exclude={"hits"}))
                return
            turn["text"] += item
            yield chat_messages(turns), turns, gr.skip(), gr.skip(), gr.skip(), hidden, gr.skip()
    except (QuestionError, RuntimeError, ValueError) as exc:
        turn["text"] = f"Could not answer: {exc}"
        yield chat_messages(turns), turns, sources_html(None), status_html(None, str(exc)), gr.skip(), hidden, None
    finally:
        if stream is not None:
            stream.close()  # ends the model's HTTP stream when stopped


def stop(session: Session, turns: list[dict[str, Any]], key: str) -> tuple[Any, ...]:
    """Mark the answer being streamed as stopped (the Stop button also cancels its event)."""
    if not turns or turns[-1].get("answer") is not None:
        return gr.skip(), gr.skip(), gr.skip()
    session.request_stop(key)
    turns = [*turns[:-1], {**turns[-1], "stopped": True}]
    return chat_messages(turns), turns, STOPPED


def parse_year(value: str | float | None) -> int | None:
    """A year box: empty means any year; anything else must be a whole number."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    try:
        return int(float(text))
    except ValueError:
        raise ValueError(f"a year must be a number like 2021, not {text!r}") from None


def run_search(
    session: Session, query: str, mode: str, k: int, year_min: str | None, year_max: str | None,
    sources: list[str] | None, title: str,
) -> str:
    """Ranked passages without an answer: PaperQA.search with the page's filters."""
    try:
        filters = SearchFilters(
            year_min=parse_year(year_min), year_max=parse_year(year_max),
            sources=list(sources or []), title_contains=(title or "").strip() or None,
        )
        filters_or_none = None if filters.is_empty() else filters
        hits = session.qa.search(query, k=int(k), mode=mode, filters=filters_or_none)
    except (QuestionError, ValueError) as exc:
        return error_html(str(exc))
    return results_html(hits, filters_or_none, mode)


def run_ingest(session: Session, files: list[str] | None, max_mb: int, progress: gr.Progress) -> tuple[Any, ...]:
    """Ingest uploaded files strictly: a broken file is reported and nothing is written."""
    if not files:
        return error_html("Choose one or more files first."), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    paths = [Path(f) for f in files]
    too_big = [p.name for p in paths if p.stat().st_size > max_mb * 1024 * 1024]
    if too_big:
        return (error_html(f"Over the {max_mb} MB upload limit (ui.max_upload_mb): {', '.join(too_big)}"),
                gr.skip(), gr.skip(), gr.skip(), gr.skip())
    progress(0.1, desc=f"Reading and embedding {len(paths)} file(s)")
    try:
        report = session.qa.ingest(paths, strict=True)
    except SourceError as exc:
        message = str(exc)
        for path in paths:  # the upload's temporary folder means nothing to the user; its file name does
            message = message.replace(str(path), path.name)
        return error_html(f"Nothing was added: {message}"), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    session.index_changed()
    progress(1.0, desc="Done")
    info = session.qa.info()
    return (report_html(report), library_html(info), header_html(session.qa),
            gr.update(choices=sorted(info.sources)), None)


def build_app(qa: PaperQA) -> gr.Blocks:
    """The whole UI on one PaperQA; ``launch`` adds the CSS/JS, queue and server settings."""
    session = Session(qa)
    max_mb = qa.settings.ui.max_upload_mb
    with gr.Blocks(title="paperqa", analytics_enabled=False) as demo:
        header = gr.HTML(header_html(qa), elem_id="pq-header")
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Chat", id="chat", elem_id="tab-chat"):
                _chat_tab(session)
            with gr.Tab("Search", id="search", elem_id="tab-search"):
                source_filter = _search_tab(session)
            with gr.Tab("Library", id="library", elem_id="tab-library"):
                _library_tab(session, max_mb, header, source_filter)
    return demo


def _chat_tab(session: Session) -> None:
    """Chat on the left (examples, question, Stop, settings); the answer's sources on the right."""
    r, evidence_on = session.qa.settings.retrieval, session.qa.settings.answer.evidence == "llm"
    with gr.Row(equal_height=False):
        with gr.Column(scale=7, min_width=420):
            chatbot = gr.Chatbot(
                elem_id="chatbot", height=560, show_label=False, group_consecutive_messages=False,
                placeholder="**Ask about the papers in the index.** Answers quote or cite the abstracts; "
                            "click a [n] marker to see its source.",
                buttons=["copy"], feedback_options=None,
            )
            with gr.Row(elem_id="examples") as examples:
                gr.HTML('<span class="pq-try">Try:</span>', padding=False, container=False)
                example_buttons = [gr.Button(q, size="sm", variant="secondary", elem_id=f"example-{i}")
                                   for i, q in enumerate(EXAMPLES)]
            with gr.Row():
                question = gr.Textbox(placeholder="Ask a question about the papers…", show_label=False, scale=8,
                                      elem_id="question", lines=1, max_lines=4, autofocus=True, container=False)
                ask_btn = gr.Button("Ask", variant="primary", scale=0, min_width=90, elem_id="ask-btn")
                stop_btn = gr.Button("Stop", variant="stop", scale=0, min_width=80, elem_id="stop-btn")
                clear_btn = gr.Button("New chat", scale=0, min_width=110, elem_id="clear-btn")
            with gr.Accordion("Answer settings", open=False, elem_id="settings"), gr.Row():
                k = gr.Slider(1, 30, value=r.k, step=1, label="Passages (k)", elem_id="set-k")
                mode = gr.Radio(list(MODES), value=r.mode, label="Retrieval", elem_id="set-mode", scale=2)
                evidence = gr.Checkbox(value=evidence_on, label="Evidence step", elem_id="set-evidence",
                                       info="The LLM first judges each passage (generated answers only).")
        with gr.Column(scale=5, min_width=340):
            status = gr.HTML("", elem_id="answer-status")
            sources = gr.HTML(sources_html(None), elem_id="sources")
    turns = gr.State([])
    answer_json = gr.JSON(visible=False, elem_id="answer-json")

    def answer(
        question: str, turns: list, k: int, mode: str, evidence: bool, request: gr.Request
    ) -> Iterator[tuple[Any, ...]]:
        yield from respond(session, question, turns, k, mode, evidence, request.session_hash or "")

    def stop_answer(turns: list, request: gr.Request) -> tuple[Any, ...]:
        return stop(session, turns, request.session_hash or "")

    chat_out = [chatbot, turns, sources, status, question, examples, answer_json]
    settings_in = [turns, k, mode, evidence]
    asks = [gr.on([question.submit, ask_btn.click], answer, [question, *settings_in], chat_out, api_name="ask")]
    asks += [b.click(answer, [b, *settings_in], chat_out, api_visibility="private") for b in example_buttons]
    stop_btn.click(stop_answer, turns, [chatbot, turns, status], cancels=asks, api_visibility="private")

    def new_chat() -> tuple[Any, ...]:
        return [], [], sources_html(None), "", gr.update(visible=True), None

    for trigger in (clear_btn.click, chatbot.clear):
        trigger(new_chat, None, [chatbot, turns, sources, status, examples, answer_json], cancels=asks,
                api_visibility="private")


def _search_tab(session: Session) -> gr.Dropdown:
    """Ranked passages with mode and filters; returns the source-file filter (ingests update it)."""
    r = session.qa.settings.retrieval
    with gr.Row():
        query = gr.Textbox(placeholder="Search passages (no answer is generated)…", show_label=False, scale=6,
                           elem_id="search-query")
        search_btn = gr.Button("Search", variant="primary", scale=1, elem_id="search-btn")
    with gr.Row():
        mode = gr.Radio(list(MODES), value=r.mode, label="Retrieval", elem_id="search-mode", scale=2)
        k = gr.Slider(1, 50, value=r.k, step=1, label="Results", elem_id="search-k", scale=2)
        # Textboxes, not gr.Number: an empty year means "any", and Number shows it as 0.
        year_min = gr.Textbox(label="Year from", placeholder="any", max_lines=1, elem_id="search-year-min", scale=1)
        year_max = gr.Textbox(label="Year to", placeholder="any", max_lines=1, elem_id="search-year-max", scale=1)
    with gr.Row():
        source_filter = gr.Dropdown(sorted(session.qa.info().sources), multiselect=True, label="Source files",
                                    elem_id="search-sources")
        title = gr.Textbox(label="Title contains", elem_id="search-title")
    results = gr.HTML("", elem_id="search-results")

    def search(query: str, mode: str, k: int, year_min: str | None, year_max: str | None,
               sources: list[str] | None, title: str) -> str:
        return run_search(session, query, mode, k, year_min, year_max, sources, title)

    gr.on([query.submit, search_btn.click], search, [query, mode, k, year_min, year_max, source_filter, title],
          results, api_name="search")
    return source_filter


def _library_tab(session: Session, max_mb: int, header: gr.HTML, source_filter: gr.Dropdown) -> None:
    """What the index holds, and an upload box; an ingest refreshes the header and the source filter."""
    with gr.Row(equal_height=False):
        library = gr.HTML(library_html(session.qa.info()), elem_id="library-info")
        with gr.Column():
            gr.HTML(
                f'<div class="pq-help"><b>Add papers.</b> Paper-feed dumps (.txt), arXiv or BEIR JSON lines (.jsonl), '
                f"CSV/TSV with title and abstract columns; up to {max_mb} MB per file. Papers already in the index "
                "are skipped; a file that cannot be read is reported and nothing is added.</div>", padding=False,
            )
            files = gr.File(label="Files to add", file_count="multiple", file_types=UPLOAD_TYPES,
                            elem_id="upload-files")
            ingest_btn = gr.Button("Add to index", variant="primary", elem_id="ingest-btn")
            report = gr.HTML("", elem_id="ingest-report")

    def ingest(paths: list[str] | None, progress: gr.Progress = PROGRESS) -> tuple[Any, ...]:
        return run_ingest(session, paths, max_mb, progress)

    ingest_btn.click(ingest, files, [report, library, header, source_filter, files], api_name="ingest",
                     concurrency_limit=1)


def parse_auth(value: str | SecretStr | None) -> list[tuple[str, str]] | None:
    """``user:pass[,user2:pass2]`` -> Gradio's auth list; None when no login is wanted."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not value:
        return None
    pairs = []
    for item in value.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise ValueError("auth must look like user:password (comma-separated for several users)")
        pairs.append((user, password))
    return pairs


def warm_up(qa: PaperQA) -> None:
    """Load the embedding model and the index now, so the first question does not wait for them."""
    qa.embedder.load()
    _ = qa.retriever


def launch(
    qa: PaperQA, host: str | None = None, port: int | None = None, auth: str | None = None,
    concurrency: int = 4, prevent_thread_lock: bool = False, quiet: bool = False,
) -> gr.Blocks:
    """Serve the app locally (127.0.0.1 unless told otherwise); never a public share link."""
    if not quiet:
        print("paperqa UI: loading the embedding model and the index (a first run indexes the bundled corpus)…",
              flush=True)
    warm_up(qa)
    ui = qa.settings.ui
    demo = build_app(qa)
    demo.queue(default_concurrency_limit=concurrency)
    host, port = host or ui.host, port or ui.port
    if not quiet:
        print(f"paperqa UI on http://{host}:{port} ({'login required' if auth or ui.auth else 'no login'}); "
              "Ctrl+C stops it.", flush=True)
    demo.launch(
        server_name=host, server_port=port, auth=parse_auth(auth or ui.auth),
        auth_message="paperqa: log in to ask questions about the papers.", share=False, inbrowser=False,
        max_file_size=f"{ui.max_upload_mb}mb", prevent_thread_lock=prevent_thread_lock, quiet=True,
        show_error=True, footer_links=[], css=CSS, js=JS, theme=THEME, enable_monitoring=False,
    )
    return demo
