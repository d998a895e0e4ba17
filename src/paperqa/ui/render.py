"""The UI's HTML: answers with clickable ``[n]`` markers, source cards, search results, the library.

Pure functions of paperqa's models to strings; no Gradio here, so every piece is testable on its
own (``import paperqa.ui.render`` does not import gradio). Everything that comes from a paper or
a user goes through :mod:`paperqa.markup`.
"""

from __future__ import annotations

import html
import re
from typing import Any

from ..markup import escape_html, escape_markdown
from ..models import Answer, Citation, Hit, IndexInfo, IngestReport
from ..retrieval import SearchFilters
from ..sources import normalize_arxiv_id

# "[1]", "[1, 3]", "[2-4]" in an answer; each key becomes its own link to the source card.
_MARKER = re.compile(r"\[(\s*\d+(?:\s*[-\u2013,;]\s*\d+)*\s*)\]")

STOPPED = '<div class="pq-status refused" id="answer-stopped">Stopped. Ask again, or ask something else.</div>'
NO_SOURCES = (
    '<div class="pq-empty">Sources of the answer appear here: each cited passage with the quoted '
    "sentence highlighted. Click a <b>[n]</b> marker in the answer to jump to it.</div>"
)

esc = escape_html


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


def md_text(text: str) -> str:
    """Text as literal Markdown for the chat (which renders Markdown and HTML): every line escaped
    on its own, so an image, link, heading or table from a paper or a user shows as its characters
    and fetches nothing, while the line breaks stay."""
    return "\n".join(escape_markdown(line) for line in text.split("\n"))


def linkify(text: str, known: set[int], prefix: str = "src-") -> str:
    """Answer text for the chat: escaped (:func:`md_text`), with each known ``[n]`` a link to ``#src-n``."""
    out, pos = [], 0
    for match in _MARKER.finditer(text):
        out.append(md_text(text[pos : match.start()]))
        out.append(_cite_links(match, known, prefix))
        pos = match.end()
    out.append(md_text(text[pos:]))
    return "".join(out)


def _cite_links(match: re.Match[str], known: set[int], prefix: str) -> str:
    keys = _keys(match.group(1))
    if not keys or not all(k in known for k in keys):
        return md_text(match.group(0))
    return "".join(f'<a class="pq-cite" href="#{prefix}{k}" title="Show source {k}">[{k}]</a>' for k in keys)


def extractive_markdown(answer: Answer, known: set[int], prefix: str = "src-") -> str:
    """An extractive answer rebuilt from its citations: one bullet per paper, its title in bold, then
    each quote and its marker. The structure is ours; the title and quotes are escaped."""
    by_paper: dict[str, list[Citation]] = {}
    for citation in answer.citations:
        by_paper.setdefault(citation.paper_id, []).append(citation)
    lines = []
    for group in by_paper.values():
        quotes = " ".join(f"\u201c{md_text(c.quote)}\u201d {linkify(f'[{c.key}]', known, prefix)}" for c in group)
        lines.append(f"- **{md_text(group[0].title)}**: {quotes}")
    return "\n".join(lines)


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
        return NO_SOURCES
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
        return (f'<div class="pq-status gen" id="answer-generated">Generated by <b>{model}</b>; '
                f"every [n] was checked against the retrieved passages.{extra}</div>")
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
            ("Updated", info.updated_at or "–"),
            ("Results table", f"{info.results} reported results" if info.results is not None
             else "not stored yet (extracted on first use)")]
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


def header_html(info: IndexInfo, corpus_name: str, model: str | None) -> str:
    """The page header: what is indexed, and whether answers are generated (by ``model``) or extractive."""
    if model is not None:
        pill = f'<span class="pq-pill gen" id="header-mode">Generated answers · {esc(model)}</span>'
    else:
        pill = '<span class="pq-pill ext" id="header-mode">Extractive answers (no LLM configured)</span>'
    return (f'<div class="pq-head"><h1>paperqa</h1><span class="pq-sub">Ask questions about {esc(corpus_name)}: '
            f"<b>{info.papers}</b> papers, {info.chunks} passages, embeddings by {esc(info.embedding_model)}"
            f"</span>{pill}</div>")


def chat_text(answer: Answer, shown: int = 10) -> str:
    """What the chat shows of an answer; a cross-paper answer's table sits beside the chat, so the chat
    gets its summary and its first rows, each with its [n] marker."""
    if not answer.table:
        return answer.text
    from ..crosspaper import format_value

    def plain(text: str) -> str:  # Markdown-escaped, entity-free: linkify escapes the HTML itself
        return html.unescape(escape_markdown(text))

    lines = [html.unescape(answer.text.split("\n\n", 1)[0]), ""]
    for row in answer.table[:shown]:
        key = row.citation.key if row.citation else ""
        lines.append(f"- **{plain(row.model or row.title)}**: {plain(format_value(row))} [{key}]")
    more = len(answer.table) - shown
    lines += ["", (f"{more} more rows in the table beside the chat. " if more > 0 else "")
              + "Click a column of the table to sort it, a [n] to see the sentence."]
    return "\n".join(lines)


def chat_messages(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The chat as Gradio messages; only the latest answer links to the sources panel."""
    messages: list[dict[str, str]] = []
    for i, turn in enumerate(turns):
        messages.append({"role": "user", "content": md_text(turn["question"])})
        answer: Answer | None = turn.get("answer")
        latest = i == len(turns) - 1
        known = {c.key for c in answer.citations} if answer and latest else set()
        if answer is not None and answer.mode == "extractive" and answer.citations and not answer.refused:
            content = extractive_markdown(answer, known)
        else:
            content = linkify(turn["text"], known) if turn["text"] else "…"
        if turn.get("stopped"):
            content += '\n\n<span class="pq-stopped">Stopped before the answer was finished.</span>'
        messages.append({"role": "assistant", "content": content})
    return messages
