"""Escaping shared by every face: text from a paper or a user is shown, never interpreted.

Two targets:
- ``escape_html`` for text placed inside HTML the faces build themselves;
- ``escape_markdown`` for text placed inside Markdown that a renderer (Gradio's chatbot, a
  Markdown report, an exported table) turns into HTML. It defuses both Markdown (images, links,
  emphasis, tables, headings, autolinks) and raw HTML, so ``![t](http://host/x)`` in a title is
  shown as those characters and fetches nothing.

Hand-rolled because no maintained library escapes for CommonMark: the rule is CommonMark's own
(any ASCII punctuation may be backslash-escaped), plus HTML entities for ``& < > "``.
"""

from __future__ import annotations

import html
import re
import string

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_MD_PUNCTUATION = frozenset(string.punctuation) - set(_ENTITIES)


def escape_html(value: object) -> str:
    """``value`` as HTML text (attribute-safe: quotes are escaped too)."""
    return html.escape(str(value), quote=True)


def escape_markdown(value: object) -> str:
    """``value`` as literal text inside Markdown that may also contain raw HTML."""
    out = []
    for ch in str(value):
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _MD_PUNCTUATION:
            out.append("\\" + ch)
        elif ch in "\r\n":
            out.append(" ")  # a newline could start a heading, a list or a table row
        else:
            out.append(ch)
    return "".join(out)


_ESCAPED = re.compile(r"\\([" + re.escape("".join(sorted(_MD_PUNCTUATION))) + r"])")


def unescape_markdown(value: str) -> str:
    """The literal text back from :func:`escape_markdown` output (for measuring, never for showing)."""
    text = _ESCAPED.sub(r"\1", value)
    for char, entity in sorted(_ENTITIES.items(), key=lambda item: item[0] == "&"):  # &amp; last
        text = text.replace(entity, char)
    return text
