"""The UI's layout: the header and four tabs (Chat, Search, Results, Library), wired to the handlers.

Components are created here and grouped into views (:class:`~paperqa.ui.handlers.ChatView`,
:class:`~paperqa.ui.handlers.LibraryView`) that the handlers fill by name. Serving the app
(CSS/JS, queue, host, login) is :mod:`paperqa.ui.server`'s job.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from ..api import PaperQA
from ..sources import EXTENSIONS
from . import handlers, render, tables
from .handlers import ChatView, LibraryView, Session, Updates

EXAMPLES = (
    "Which CNN-transformer hybrids report ADE20K mIoU?",
    "Which methods detect tables in scanned financial documents?",
    "What is layer masking and why does it reduce missingness bias?",
    "How can a vision transformer be trained well on small datasets?",
    "Which papers propose datasets for document layout analysis?",
)
MODES = ("hybrid", "dense", "bm25")
UPLOAD_TYPES = sorted(EXTENSIONS)
PROGRESS = gr.Progress()  # Gradio reports an event's progress through a parameter defaulting to one


def build_app(qa: PaperQA, allow_upload: bool = True) -> gr.Blocks:
    """The whole UI on one PaperQA; ``server.launch`` adds the CSS/JS, queue and server settings.

    Without ``allow_upload`` the Library tab has no upload box and the app registers no ingest
    event at all, so there is no ``/ingest`` endpoint to call.
    """
    session = Session(qa)
    max_mb = qa.settings.ui.max_upload_mb
    with gr.Blocks(title="paperqa", analytics_enabled=False) as demo:
        header = gr.HTML(session.header(), elem_id="pq-header")
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Chat", id="chat", elem_id="tab-chat"):
                _chat_tab(session)
            with gr.Tab("Search", id="search", elem_id="tab-search"):
                source_filter = _search_tab(session)
            with gr.Tab("Results", id="results", elem_id="tab-results"):
                _results_tab(session)
            with gr.Tab("Library", id="library", elem_id="tab-library"):
                _library_tab(session, max_mb, header, source_filter, allow_upload)
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
            # Cross-paper answers: the sortable table and a bar chart of its figures (hidden otherwise).
            table = gr.HTML("", elem_id="answer-table-panel", visible=False)
            chart = gr.BarPlot(None, x="paper", y="value", elem_id="answer-chart", visible=False, height=200,
                               x_label_angle=-30, show_label=False, tooltip=["paper", "value"])
            sources = gr.HTML(render.sources_html(None), elem_id="sources")
    turns = gr.State([])
    answer_json = gr.JSON(visible=False, elem_id="answer-json")
    view = ChatView(chatbot=chatbot, turns=turns, sources=sources, status=status, question=question,
                    examples=examples, answer_json=answer_json)
    answer_json.change(handlers.table_updates, answer_json, [table, chart], api_visibility="private")

    def answer(
        question: str, turns: list, k: int, mode: str, evidence: bool, request: gr.Request
    ) -> Iterator[Updates]:
        yield from handlers.respond(session, view, question, turns, k, mode, evidence, request.session_hash or "")

    def stop_answer(turns: list, request: gr.Request) -> Updates:
        return handlers.stop(session, view, turns, request.session_hash or "")

    def new_chat() -> Updates:
        return handlers.new_chat(view)

    outputs = view.outputs()
    settings_in = [turns, k, mode, evidence]
    asks = [gr.on([question.submit, ask_btn.click], answer, [question, *settings_in], outputs, api_name="ask")]
    asks += [b.click(answer, [b, *settings_in], outputs, api_visibility="private") for b in example_buttons]
    stop_btn.click(stop_answer, turns, [chatbot, turns, status], cancels=asks, api_visibility="private")
    for trigger in (clear_btn.click, chatbot.clear):
        trigger(new_chat, None, outputs, cancels=asks, api_visibility="private")


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
        return handlers.run_search(session, query, mode, k, year_min, year_max, sources, title)

    gr.on([query.submit, search_btn.click], search, [query, mode, k, year_min, year_max, source_filter, title],
          results, api_name="search")
    return source_filter


def _results_tab(session: Session) -> None:
    """The whole results table, by dataset and metric, with value bounds and a CSV download."""
    datasets = handlers.dataset_choices(session)
    with gr.Row():
        dataset = gr.Dropdown(datasets, value=None, label="Dataset", elem_id="results-dataset", scale=3,
                              allow_custom_value=True, info="papers reporting a figure on it")
        metric = gr.Dropdown([], value=None, label="Metric", elem_id="results-metric", scale=2,
                             allow_custom_value=True)
        low = gr.Textbox(label="Min value", placeholder="any", max_lines=1, elem_id="results-min", scale=1)
        high = gr.Textbox(label="Max value", placeholder="any", max_lines=1, elem_id="results-max", scale=1)
        show = gr.Button("Show", variant="primary", scale=1, elem_id="results-btn")
    chart = gr.BarPlot(None, x="paper", y="value", elem_id="results-chart", visible=False, height=260,
                       x_label_angle=-30, show_label=False, tooltip=["paper", "value"])
    table = gr.HTML(tables.results_tab_html([]), elem_id="results-table-panel")
    download = gr.DownloadButton("Download CSV", visible=False, elem_id="results-csv", size="sm")

    def metrics(name: str | None) -> Any:
        return gr.update(choices=handlers.metric_choices(session, name), value=None)

    def run(name: str | None, metric_name: str | None, low_value: str | None, high_value: str | None) -> Any:
        return handlers.browse_results(session, name, metric_name, low_value, high_value, table, chart, download)

    dataset.change(metrics, dataset, metric, api_visibility="private")
    gr.on([show.click, dataset.select, metric.select], run, [dataset, metric, low, high], [table, chart, download],
          api_name="results")


def _library_tab(
    session: Session, max_mb: int, header: gr.HTML, source_filter: gr.Dropdown, allow_upload: bool
) -> None:
    """What the index holds, and an upload box; an ingest refreshes the header and the source filter."""
    with gr.Row(equal_height=False):
        library = gr.HTML(render.library_html(session.qa.info()), elem_id="library-info")
        if not allow_upload:
            gr.HTML('<div class="pq-help">Adding papers is off on this server (ui.allow_upload: it is on only '
                    "on 127.0.0.1 or with a login). Use <code>paperqa ingest</code> on the server.</div>",
                    padding=False, elem_id="uploads-off")
            return
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
    view = LibraryView(report=report, library=library, header=header, source_filter=source_filter, files=files)

    def ingest(paths: list[str] | None, progress: gr.Progress = PROGRESS) -> Any:
        return handlers.run_ingest(session, view, paths, max_mb, progress)

    ingest_btn.click(ingest, files, view.outputs(), api_name="ingest", concurrency_limit=1)
