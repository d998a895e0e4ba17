"""The UI's pieces for cross-paper answers and the Results tab: a sortable table, bar-chart data.

Pure functions of ``ResultRow`` lists to HTML strings and DataFrames; no Gradio here. Every cell
goes through :func:`paperqa.markup.escape_html`; sorting is done in the browser by ``app.js``
from each cell's ``data-sort`` value; each Source cell is a ``[n]`` link to the highlighted
sentence in the sources panel, like the answer's own markers.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..crosspaper import NO_FIGURE, NOT_STATED, format_value
from ..markup import escape_html as esc
from ..models import ResultRow

TABLE_NOTE = '<div class="pq-empty" id="answer-table-empty">A table appears here when a question asks ' \
             "about every paper that reports a result (e.g. <i>Which papers report mIoU on ADE20K?</i>).</div>"


def _sort_key(row: ResultRow) -> str:
    return "" if row.value is None else f"{row.value}"


def _cell(text: str, sort: str | None = None, cls: str = "") -> str:
    attrs = f' data-sort="{esc(sort)}"' if sort is not None else ""
    attrs += f' class="{cls}"' if cls else ""
    return f"<td{attrs}>{esc(text)}</td>"


def answer_table_html(rows: Sequence[ResultRow], prefix: str = "src-") -> str:
    """The answer's table: click a header to sort, click [n] to see the sentence in the sources panel."""
    if not rows:
        return TABLE_NOTE
    metrics = {r.metric for r in rows if r.value is not None}
    value_header = next(iter(metrics)) if len(metrics) == 1 else "Result"
    qualified = any(r.qualifier_match is not None or r.qualifier_verdict is not None for r in rows)
    heads = ["#", "Paper", "Model", value_header, "Details"] + (["Qualifier evidence"] if qualified else []) + [
        "Source"]
    numeric = {"#", value_header, "Source"}
    head_html = "".join(f'<th data-type="{"num" if h in numeric else "text"}" title="Sort by {esc(h)}">{esc(h)}</th>'
                        for h in heads)
    body = []
    for rank, row in enumerate(rows, start=1):
        key = row.citation.key if row.citation else rank
        value = format_value(row) if len(metrics) == 1 or row.value is None else (
            f"{row.metric}: {format_value(row)}")
        cells = [_cell(str(rank), str(rank)), _cell(row.title), _cell(row.model or ""),
                 _cell(value, _sort_key(row), "pq-value" + (" pq-nofig" if row.value is None else "")),
                 _cell(", ".join(row.qualifiers))]
        if qualified:
            evidence = row.qualifier_evidence or NOT_STATED
            verdict = f"{row.qualifier_verdict}: " if row.qualifier_verdict else ""
            cells.append(_cell(verdict + evidence, cls="pq-evidence" + ("" if row.qualifier_evidence else " pq-nofig")))
        cells.append(f'<td data-sort="{key}"><a class="pq-cite" href="#{prefix}{key}" '
                     f'title="Show the sentence">[{key}]</a></td>')
        body.append(f'<tr id="row-{key}">{"".join(cells)}</tr>')
    return (f'<div class="pq-table-wrap"><table class="pq-table pq-sortable" id="answer-table">'
            f"<thead><tr>{head_html}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def chart_frame(rows: Sequence[ResultRow]):
    """Bar-chart data: one bar per row with a figure (deltas and no-figure rows have no bar).

    Labels are ``[n] model-or-title`` so two papers never share a bar; ``order`` keeps the table's.
    """
    import pandas as pd

    data = []
    for rank, row in enumerate(rows, start=1):
        if row.value is None or row.is_delta:
            continue
        key = row.citation.key if row.citation else rank
        name = row.model or row.title
        short = name if len(name) <= 28 else name[:27] + "\u2026"
        label = f"[{key}] {short}"
        data.append({"paper": label, "value": row.value, "metric": row.metric or ""})
    return pd.DataFrame(data, columns=["paper", "value", "metric"])


def results_tab_html(rows: Sequence[ResultRow], limit: int = 500) -> str:
    """The Results tab's table: every row of the query, sortable, with its sentence."""
    if not rows:
        return '<div class="pq-empty" id="results-empty">No results match.</div>'
    heads = [("Paper", "text"), ("Model", "text"), ("Dataset", "text"), ("Metric", "text"), ("Value", "num"),
             ("Details", "text"), ("Sentence", "text")]
    head_html = "".join(f'<th data-type="{t}">{esc(h)}</th>' for h, t in heads)
    body = []
    for row in rows[:limit]:
        value = format_value(row) if row.value is not None else NO_FIGURE
        body.append("<tr>" + "".join([
            _cell(row.title or row.paper_id), _cell(row.model or ""), _cell(row.dataset), _cell(row.metric or ""),
            _cell(value, _sort_key(row), "pq-value"), _cell(", ".join(row.qualifiers)),
            _cell(row.sentence, cls="pq-sentence")]) + "</tr>")
    more = (f'<div class="pq-meta">Showing {limit} of {len(rows)} rows; download the CSV for all of them.</div>'
            if len(rows) > limit else "")
    papers = len({r.paper_id for r in rows})
    return (f'<div class="pq-meta" id="results-count">{len(rows)} rows from {papers} papers</div>{more}'
            f'<div class="pq-table-wrap"><table class="pq-table pq-sortable" id="results-table">'
            f"<thead><tr>{head_html}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")
