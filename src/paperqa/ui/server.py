"""Serving the UI: warm-up, theme, the CSS/JS assets, the queue, host, port and login."""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass
from importlib.resources import files

import gradio as gr
from pydantic import SecretStr

from ..api import PaperQA
from ..config import UIConfig
from ..errors import ConfigError, PaperQAError
from .layout import build_app

# System fonts only: the app works offline and never fetches web fonts.
SANS = ["Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Helvetica Neue", "Arial", "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "monospace"]


def asset(name: str) -> str:
    """A file shipped in ``paperqa/ui/assets`` (CSS, JS), as text."""
    return files("paperqa.ui").joinpath("assets", name).read_text(encoding="utf-8")


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
            raise ConfigError("ui.auth must look like user:password (comma-separated for several users)")
        pairs.append((user, password))
    return pairs


class ExposureError(PaperQAError):
    """A UI that would listen beyond this machine with no login, and nobody said it should."""


@dataclass(frozen=True)
class Exposure:
    """What a launch on ``host`` may do: whether uploads are on, and the warning to print (if any)."""

    loopback: bool
    allow_upload: bool
    warning: str | None = None


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it resolves to whatever it resolves to, so treat it as exposed
        return False


def exposure(host: str, auth: str | SecretStr | None, cfg: UIConfig, insecure_no_auth: bool) -> Exposure:
    """Refuse a non-loopback host without a login unless forced; decide whether uploads are on."""
    loopback, login = is_loopback(host), bool(parse_auth(auth))
    if not loopback and not login and not insecure_no_auth:
        raise ExposureError(
            f"refusing to serve on {host} without a login: anyone who can reach it could use it. Set a login "
            "(PAPERQA_UI__AUTH=user:pass, or --auth), listen on 127.0.0.1, or pass --insecure-no-auth to "
            "serve it open anyway")
    allow_upload = cfg.allow_upload if cfg.allow_upload is not None else (loopback or login)
    warning = None
    if not loopback and not login:
        warning = (f"WARNING: paperqa UI on {host} with NO LOGIN (--insecure-no-auth): anyone who can reach this "
                   "address can ask questions and read every indexed abstract. "
                   + ("Uploads are ON (ui.allow_upload: true): anyone can add papers to the index."
                      if allow_upload else "Uploads are off (ui.allow_upload)."))
    return Exposure(loopback, allow_upload, warning)


def warm_up(qa: PaperQA) -> None:
    """Load the embedding model and the index now, so the first question does not wait for them."""
    qa.embedder.load()
    _ = qa.retriever


def launch(
    qa: PaperQA, host: str | None = None, port: int | None = None, auth: str | None = None,
    concurrency: int = 4, prevent_thread_lock: bool = False, quiet: bool = False, insecure_no_auth: bool = False,
) -> gr.Blocks:
    """Serve the app locally (127.0.0.1 unless told otherwise); never a public share link.

    A host other than loopback needs a login, or ``insecure_no_auth`` (then a warning goes to
    stderr, even when ``quiet``); see :func:`exposure` for when uploads are on.
    """
    ui = qa.settings.ui
    host, port = host or ui.host, port or ui.port
    login = auth or ui.auth
    policy = exposure(host, login, ui, insecure_no_auth)
    if policy.warning:
        print(policy.warning, file=sys.stderr, flush=True)
    if not quiet:
        print("paperqa UI: loading the embedding model and the index (a first run indexes the bundled corpus)…",
              flush=True)
    warm_up(qa)
    demo = build_app(qa, allow_upload=policy.allow_upload)
    demo.queue(default_concurrency_limit=concurrency)
    if not quiet:
        print(f"paperqa UI on http://{host}:{port} ({'login required' if login else 'no login'}, uploads "
              f"{'on' if policy.allow_upload else 'off'}); Ctrl+C stops it.", flush=True)
    demo.launch(
        server_name=host, server_port=port, auth=parse_auth(login),
        auth_message="paperqa: log in to ask questions about the papers.", share=False, inbrowser=False,
        max_file_size=f"{ui.max_upload_mb}mb", prevent_thread_lock=prevent_thread_lock, quiet=True,
        show_error=True, footer_links=[], css=asset("app.css"), js=asset("app.js"),
        theme=gr.themes.Soft(primary_hue="blue", font=SANS, font_mono=MONO), enable_monitoring=False,
    )
    return demo
