"""``paperqa ui``: a local Gradio app to chat with the indexed papers, search them and add more.

The app is presentation only: every answer, search and ingest goes through :class:`PaperQA`
(the same calls the CLI and the API make). One module per job:

- :mod:`.render`   HTML of answers, source cards, search results, the library (no Gradio; testable alone)
- ``assets/``      the CSS and the citation-click JS, shipped as files in the package
- :mod:`.handlers` what each event does, returning ``{component: value}`` updates
- :mod:`.layout`   the components and how events are wired (``build_app``)
- :mod:`.server`   theme, assets, queue, host/port/login (``launch``)

Names are loaded lazily, so ``import paperqa.ui.render`` does not import gradio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .layout import build_app
    from .render import citation_card, linkify
    from .server import launch, parse_auth, warm_up

_LAZY = {
    "build_app": ".layout",
    "launch": ".server",
    "parse_auth": ".server",
    "warm_up": ".server",
    "citation_card": ".render",
    "linkify": ".render",
}
__all__ = ["build_app", "citation_card", "launch", "linkify", "parse_auth", "warm_up"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
