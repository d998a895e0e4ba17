"""What the UI's events do: ask (streamed), stop, search, ingest.

Each handler calls the :class:`PaperQA` façade and returns ``{component: value}`` for the
components it changes; Gradio leaves every other output as it is. The components come from
:mod:`paperqa.ui.layout` as small views (:class:`ChatView`, :class:`LibraryView`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gradio as gr

from ..api import PaperQA
from ..errors import PaperQAError, QuestionError, SourceError
from ..models import Answer
from ..retrieval import SearchFilters
from . import render, tables

Updates = dict[Any, Any]  # {gradio component: new value}


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

    def header(self) -> str:
        qa = self.qa
        info = qa.info()
        model = None
        if qa.answer_mode() == "generated":
            model = qa.settings.llm.model or "the model served at " + (qa.settings.llm.base_url or "?")
        name = "bundled corpus" if qa.bundled else Path(info.index_dir).name
        return render.header_html(info, name, model)


@dataclass(frozen=True)
class _View:
    def outputs(self) -> list[Any]:
        """Every component of the view, for an event's ``outputs``."""
        return [getattr(self, f.name) for f in fields(self)]


@dataclass(frozen=True)
class ChatView(_View):
    chatbot: gr.Chatbot
    turns: gr.State
    sources: gr.HTML
    status: gr.HTML
    question: gr.Textbox
    examples: gr.Row
    answer_json: gr.JSON


@dataclass(frozen=True)
class LibraryView(_View):
    report: gr.HTML
    library: gr.HTML
    header: gr.HTML
    source_filter: gr.Dropdown
    files: gr.File


def respond(
    session: Session, view: ChatView, question: str, turns: list[dict[str, Any]], k: int, mode: str,
    evidence: bool, key: str = "",
) -> Iterator[Updates]:
    """Stream one answer into the chat, then its sources, status and JSON."""
    question = (question or "").strip()
    if not question:
        yield {}
        return
    session.stop_requested(key, clear=True)
    history = [m for t in turns for m in ({"role": "user", "content": t["question"]},
                                          {"role": "assistant", "content": t["text"]})]
    turn: dict[str, Any] = {"question": question, "text": "", "answer": None}
    turns = [*turns, turn]
    hidden = gr.update(visible=False)

    def chat(**more: Any) -> Updates:
        return {view.chatbot: render.chat_messages(turns), view.turns: turns, view.examples: hidden, **more}

    yield chat() | {view.status: render.status_html(None), view.question: ""}
    stream = None
    try:
        stream = session.for_settings(evidence).stream(question, history, k=int(k), mode=mode)
        for delta in stream.deltas():
            if session.stop_requested(key):  # Stop also cancels this event; this covers a late update
                turn["stopped"] = True
                yield chat() | {view.status: render.STOPPED}
                return
            turn["text"] += delta
            yield chat()
        if session.stop_requested(key):
            turn["stopped"] = True
            yield chat() | {view.status: render.STOPPED}
            return
        answer = stream.get_response()
        turn["answer"], turn["text"] = answer, render.chat_text(answer)
        yield chat() | {view.sources: render.sources_html(answer), view.status: render.status_html(answer),
                        view.answer_json: answer.model_dump(mode="json", exclude={"hits"}),
                        **table_updates(view, answer)}
    except PaperQAError as exc:
        turn["text"] = f"Could not answer: {exc}"
        yield chat() | {view.sources: render.sources_html(None), view.status: render.status_html(None, str(exc)),
                        view.answer_json: None}
    finally:
        if stream is not None:
            stream.close()  # ends the model's HTTP stream when stopped


def stop(session: Session, view: ChatView, turns: list[dict[str, Any]], key: str) -> Updates:
    """Mark the answer being streamed as stopped (the Stop button also cancels its event)."""
    if not turns or turns[-1].get("answer") is not None:
        return {}
    session.request_stop(key)
    turns = [*turns[:-1], {**turns[-1], "stopped": True}]
    return {view.chatbot: render.chat_messages(turns), view.turns: turns, view.status: render.STOPPED}


def new_chat(view: ChatView) -> Updates:
    return {view.chatbot: [], view.turns: [], view.sources: render.sources_html(None), view.status: "",
            view.examples: gr.update(visible=True), view.answer_json: None}


def table_updates(answer_json: dict[str, Any] | None) -> tuple[Any, Any]:
    """The table beside the chat and its bar chart, from the answer's JSON (so the ask event's outputs,
    which are also its API, stay as they were): shown for a cross-paper answer, hidden otherwise."""
    answer = Answer.model_validate(answer_json) if answer_json else None
    if answer is None or not answer.table:
        return gr.update(value="", visible=False), gr.update(value=None, visible=False)
    frame = tables.chart_frame(answer.table)
    return (gr.update(value=tables.answer_table_html(answer.table), visible=True),
            gr.update(value=frame, visible=not frame.empty, sort=list(frame["paper"]),
                      y_title=answer.table[0].metric or "value", y_lim=_from_zero(frame)))


def _from_zero(frame: Any) -> list[float] | None:
    """Bars start at 0, so their lengths compare like the figures do."""
    return None if frame is None or frame.empty else [0.0, float(frame["value"].max()) * 1.05]


# ----- the Results tab ----------------------------------------------------------------------------


def dataset_choices(session: Session) -> list[tuple[str, str]]:
    """(label, value) per dataset of the results table, most reported first."""
    return [(f"{name} ({n})", name) for name, n in session.qa.results_table.datasets()]


def metric_choices(session: Session, dataset: str | None) -> list[tuple[str, str]]:
    if not dataset:
        return []
    return [(f"{name} ({n})", name) for name, n in session.qa.results_table.metrics(dataset)]


def _bound(value: str | None, name: str) -> float | None:
    text = str(value or "").strip().rstrip("%")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise gr.Error(f"{name} must be a number (got \u201c{text}\u201d)") from None


def browse_results(session: Session, dataset: str | None, metric: str | None, low: str | None, high: str | None,
                   table: gr.HTML, chart: gr.BarPlot, download: gr.DownloadButton) -> Updates:
    """Every row of the results table for the dataset (and metric, and bounds), best first."""
    if not dataset:
        return {table: tables.results_tab_html([]), chart: gr.update(visible=False),
                download: gr.update(visible=False)}
    rows = session.qa.results(dataset=dataset, metric=metric or None, min_value=_bound(low, "Min value"),
                              max_value=_bound(high, "Max value"))
    frame = tables.chart_frame(rows[:40]) if metric else None
    path = _csv_file(rows)
    return {table: tables.results_tab_html(rows),
            chart: gr.update(value=frame, visible=frame is not None and not frame.empty,
                             sort=list(frame["paper"]) if frame is not None else None, y_title=metric or "value",
                             y_lim=_from_zero(frame)),
            download: gr.update(value=path, visible=bool(rows))}


def _csv_file(rows: list[Any]) -> str | None:
    if not rows:
        return None
    import tempfile

    from ..crosspaper import results_csv

    with tempfile.NamedTemporaryFile("w", suffix=".csv", prefix="paperqa-results-", delete=False,
                                     encoding="utf-8", newline="") as handle:
        handle.write(results_csv(rows))
    return handle.name


def parse_year(value: str | float | None) -> int | None:
    """A year box: empty means any year; anything else must be a whole number."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    try:
        return int(float(text))
    except ValueError:
        raise QuestionError(f"a year must be a number like 2021, not {text!r}") from None


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
    except PaperQAError as exc:
        return render.error_html(str(exc))
    return render.results_html(hits, filters_or_none, mode)


def run_ingest(
    session: Session, view: LibraryView, files: list[str] | None, max_mb: int, progress: gr.Progress
) -> Updates:
    """Ingest uploaded files strictly: a broken file is reported and nothing is written."""
    if not files:
        return {view.report: render.error_html("Choose one or more files first.")}
    paths = [Path(f) for f in files]
    too_big = [p.name for p in paths if p.stat().st_size > max_mb * 1024 * 1024]
    if too_big:
        return {view.report: render.error_html(
            f"Over the {max_mb} MB upload limit (ui.max_upload_mb): {', '.join(too_big)}")}
    progress(0.1, desc=f"Reading and embedding {len(paths)} file(s)")
    try:
        report = session.qa.ingest(paths, strict=True)
    except SourceError as exc:
        message = str(exc)
        for path in paths:  # the upload's temporary folder means nothing to the user; its file name does
            message = message.replace(str(path), path.name)
        return {view.report: render.error_html(f"Nothing was added: {message}")}
    session.index_changed()
    progress(1.0, desc="Done")
    info = session.qa.info()
    return {view.report: render.report_html(report), view.library: render.library_html(info),
            view.header: session.header(), view.source_filter: gr.update(choices=sorted(info.sources)),
            view.files: None}
