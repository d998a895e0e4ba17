"""Serving the UI: warm-up, theme, the CSS/JS assets, the queue, host, port and login."""

from __future__ import annotations

from importlib.resources import files

import gradio as gr

from ..api import PaperQA
from ..errors import ConfigError
from .layout import build_app

# System fonts only: the app works offline and never fetches web fonts.
SANS = ["Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Helvetica Neue", "Arial", "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "monospace"]


def asset(name: str) -> str:
    """A file shipped in ``paperqa/ui/assets`` (CSS, JS), as text."""
    return files("paperqa.ui").joinpath("assets", name).read_text(encoding="utf-8")


def parse_auth(value: str | None) -> list[tuple[str, str]] | None:
    """``user:pass[,user2:pass2]`` -> Gradio's auth list; None when no login is wanted."""
    if not value:
        return None
    pairs = []
    for item in value.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise ConfigError("ui.auth must look like user:password (comma-separated for several users)")
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
        show_error=True, footer_links=[], css=asset("app.css"), js=asset("app.js"),
        theme=gr.themes.Soft(primary_hue="blue", font=SANS, font_mono=MONO), enable_monitoring=False,
    )
    return demo
