"""The UI's pure parts: HTML rendering without Gradio, the shipped assets, dict-returning handlers."""

from __future__ import annotations

import subprocess
import sys

from paperqa.models import IndexInfo
from paperqa.ui import render


def test_render_module_does_not_import_gradio() -> None:
    code = "import sys, paperqa.ui.render, paperqa.ui; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_chat_messages_escape_the_question_and_mark_a_stop() -> None:
    turns = [{"question": "<img src=x>?", "text": "See [1].", "answer": None, "stopped": True}]
    user, assistant = render.chat_messages(turns)
    assert user["content"] == "&lt;img src\\=x&gt;\\?"  # HTML and Markdown escaped (issue 11.4)
    assert "\\[1\\]" in assistant["content"] and "pq-cite" not in assistant["content"]  # no answer: no links
    assert "Stopped before the answer was finished" in assistant["content"]


def test_header_names_the_mode_and_escapes() -> None:
    info = IndexInfo(index_dir="/x/<idx>", papers=3, chunks=5, embedding_model="m<1>", dimension=4,
                     index_type="flat", chunk_size=10, chunk_overlap=2, sources={"a.txt": 3}, paperqa_version="0")
    extractive = render.header_html(info, "<corpus>", None)
    assert "Extractive answers" in extractive and "&lt;corpus&gt;" in extractive and "m&lt;1&gt;" in extractive
    generated = render.header_html(info, "c", "qwen<x>")
    assert 'class="pq-pill gen"' in generated and "qwen&lt;x&gt;" in generated
    library = render.library_html(info)
    assert 'id="library-papers">3<' in library and "/x/&lt;idx&gt;" in library


def test_assets_ship_in_the_package() -> None:
    from paperqa.ui.server import asset

    css, js = asset("app.css"), asset("app.js")
    assert ".pq-src.pq-focus" in css
    assert js.lstrip().startswith("() =>") and "#src-" in js  # Gradio's js= wants one function expression


def test_handlers_return_only_what_they_change() -> None:
    import gradio as gr

    from paperqa.ui import handlers

    with gr.Blocks():
        view = handlers.ChatView(chatbot=gr.Chatbot(), turns=gr.State([]), sources=gr.HTML(), status=gr.HTML(),
                                 question=gr.Textbox(), examples=gr.Row(), answer_json=gr.JSON(),
                                 table=gr.HTML(), chart=gr.BarPlot())
    session = handlers.Session(qa=None)  # type: ignore[arg-type]  # stop() only needs the stop registry
    assert handlers.stop(session, view, [], "k") == {}
    turns = [{"question": "q", "text": "partial", "answer": None}]
    update = handlers.stop(session, view, turns, "k")
    assert set(update) == {view.chatbot, view.turns, view.status}
    assert update[view.turns][-1]["stopped"] and update[view.status] == render.STOPPED
    assert session.stop_requested("k")
    assert next(handlers.respond(session, view, "  ", [], 3, "hybrid", False)) == {}
    assert set(handlers.new_chat(view)) == set(view.outputs()) - {view.question}  # a typed question stays
