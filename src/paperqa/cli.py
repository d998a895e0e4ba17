"""``paperqa`` command line: ingest, search, ask, info (and ui, eval).

Every command takes ``--index-dir`` and ``--config``; ``--json`` prints machine-readable output.
Exit codes: 0 success, 1 partial failure (some files rejected, model unavailable without
fallback), 2 unusable input (bad config, bad file, bad question, index mismatch).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .errors import PaperQAError
from .models import Answer, Hit, ResultRow
from .retrieval import SearchFilters
from .sources import FORMATS

app = typer.Typer(
    name="paperqa",
    help="Ask questions about a pile of paper abstracts; every claim cites the passage it came from.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True, soft_wrap=True)  # an error stays one line, however long its paths

IndexDirOpt = Annotated[
    Path | None, typer.Option("--index-dir", help="Index folder (default: the bundled corpus's index).")
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML file overriding configs/default.yaml.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of formatted text.")]
UseIndexSettingsOpt = Annotated[
    bool, typer.Option("--use-index-settings", help="Adopt the index's embedding model and chunking.")
]
KOpt = Annotated[int | None, typer.Option("--k", "-k", help="Number of passages (default: retrieval.k).")]
ModeOpt = Annotated[str | None, typer.Option("--mode", help="hybrid, dense or bm25 (default: retrieval.mode).")]
YearMinOpt = Annotated[int | None, typer.Option("--year-min", help="Only papers from this year on.")]
YearMaxOpt = Annotated[int | None, typer.Option("--year-max", help="Only papers up to this year.")]
SourceOpt = Annotated[list[str] | None, typer.Option("--source", help="Only papers from this source file (repeatable).")]
TitleOpt = Annotated[str | None, typer.Option("--title", help="Only papers whose title contains this text.")]

def _open(index_dir: Path | None, config: Path | None, use_index_settings: bool = False):
    from .api import PaperQA

    return PaperQA(index_dir=index_dir, config=config, use_index_settings=use_index_settings)


def _run(action: Callable[[], int | None]) -> None:
    """Turn paperqa's own errors into a one-line message and their exit code instead of a traceback.
    Anything else is a bug and keeps its traceback."""
    try:
        code = action()
    except PaperQAError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(exc.exit_code) from None
    raise typer.Exit(code or 0)


def _filters(year_min: int | None, year_max: int | None, source: list[str] | None, title: str | None):
    filters = SearchFilters(year_min=year_min, year_max=year_max, sources=source or [], title_contains=title)
    return None if filters.is_empty() else filters


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of papers.")],
    fmt: Annotated[str | None, typer.Option("--format", help=f"Force the format: {', '.join(FORMATS)}.")] = None,
    keep_going: Annotated[
        bool, typer.Option("--keep-going", help="Skip unreadable files instead of stopping before any write.")
    ] = False,
    index_dir: IndexDirOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add papers to the index (incremental: papers already there are skipped, never re-embedded)."""

    def action() -> int:
        qa = _open(index_dir, config)
        report = qa.ingest(paths, fmt=fmt, progress=not as_json, strict=not keep_going)
        if as_json:
            _print_json(report.model_dump())
        else:
            _print_ingest_report(report, qa.index_dir)
        return 1 if report.errors else 0

    _run(action)


def _print_ingest_report(report, index_dir: Path) -> None:
    for problem in report.warnings:
        err.print(f"[yellow]skipped[/] {escape(str(problem))}")
    for problem in report.errors:
        err.print(f"[red]rejected[/] {escape(str(problem))}")
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in report.timings_s.items())
    out.print(
        f"[bold]{report.added}[/] papers added ({report.chunks_added} passages), {report.skipped} already indexed "
        f"or duplicate, {len(report.warnings)} records skipped, {len(report.errors)} files rejected "
        f"-> {index_dir}  [dim]({timings})[/]"
    )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: KOpt = None,
    mode: ModeOpt = None,
    year_min: YearMinOpt = None,
    year_max: YearMaxOpt = None,
    source: SourceOpt = None,
    title: TitleOpt = None,
    index_dir: IndexDirOpt = None,
    config: ConfigOpt = None,
    use_index_settings: UseIndexSettingsOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Ranked passages for a query, without writing an answer."""

    def action() -> None:
        qa = _open(index_dir, config, use_index_settings)
        hits = qa.search(query, k=k, mode=mode, filters=_filters(year_min, year_max, source, title))
        if as_json:
            _print_json([_hit_json(h) for h in hits])
        else:
            _print_hits(hits)

    _run(action)


def _hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "rank": hit.rank, "score": hit.score, "paper_id": hit.paper_id, "title": hit.title, "text": hit.text,
        "chunk_id": hit.chunk.chunk_id, "year": hit.paper.year, "url": hit.paper.url,
        "dense_rank": hit.dense_rank, "bm25_rank": hit.bm25_rank,
    }


def _print_hits(hits: list[Hit]) -> None:
    if not hits:
        out.print("No passages matched.")
        return
    for hit in hits:
        year = f" ({hit.paper.year})" if hit.paper.year else ""
        ranks = f"dense #{hit.dense_rank or '-'} · bm25 #{hit.bm25_rank or '-'}"
        out.print(f"[bold]{hit.rank:>2}. {escape(hit.title)}[/]{year}  [dim]{hit.score:.4f}  {ranks}  "
                  f"{escape(hit.paper_id)}[/]",
                  highlight=False)
        passage = hit.text if len(hit.text) <= 320 else hit.text[:320].rsplit(" ", 1)[0] + " ..."
        out.print(f"    {passage}", highlight=False, markup=False)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question about the papers.")],
    k: KOpt = None,
    mode: ModeOpt = None,
    year_min: YearMinOpt = None,
    year_max: YearMaxOpt = None,
    source: SourceOpt = None,
    title: TitleOpt = None,
    index_dir: IndexDirOpt = None,
    config: ConfigOpt = None,
    use_index_settings: UseIndexSettingsOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Answer a question, citing the passages every claim comes from (or refuse)."""

    def action() -> int:
        qa = _open(index_dir, config, use_index_settings)
        shown: list[str] = []
        stream = qa.stream(question, k=k, mode=mode, filters=_filters(year_min, year_max, source, title))
        live = not as_json and qa.answer_mode() == "generated" and qa.table_query(question) is None
        for delta in stream.deltas():
            if live:
                out.print(delta, end="", markup=False, highlight=False, soft_wrap=True)
                shown.append(delta)
        answer = stream.get_response()
        if as_json:
            _print_json(answer.model_dump(exclude={"hits"}))
            return 0
        # The final answer is authoritative: after a fallback, or with uncited sentences dropped, reprint it.
        same = "".join(shown).strip() == answer.text.strip()
        if shown and not same:
            out.print("\n[dim]--- checked answer ---[/]")
        _print_answer(answer, already_streamed=bool(shown) and same)
        return 0

    _run(action)


def _answer_text(answer: Answer) -> Text:
    """The answer as plain rich Text (never Markdown or console markup: titles and quotes are data).

    An extractive answer is laid out from its citations, one paper per line with its title in bold.
    """
    if answer.mode != "extractive" or not answer.citations or answer.refused:
        return Text(answer.text)
    text = Text()
    by_paper: dict[str, list] = {}
    for citation in answer.citations:
        by_paper.setdefault(citation.paper_id, []).append(citation)
    for group in by_paper.values():
        text.append("\u2022 ")
        text.append(group[0].title, style="bold")
        text.append(": " + " ".join(f"\u201c{c.quote}\u201d [{c.key}]" for c in group) + "\n")
    text.rstrip()
    return text


def _print_answer(answer: Answer, already_streamed: bool) -> None:
    if answer.table:
        _print_table_answer(answer)
    elif already_streamed and answer.mode == "generated":
        out.print()
    else:
        out.print(_answer_text(answer))
    if answer.notice:
        out.print(f"\n[italic yellow]{escape(answer.notice)}[/]")
    if answer.citations:
        out.print("\n[bold]Sources[/]")
    for c in answer.citations:
        where = " ".join(x for x in (str(c.year) if c.year else "", c.url or c.paper_id) if x)
        out.print(f"[bold]\\[{c.key}][/] {escape(c.title)} [dim]{escape(where)}[/]")
        out.print(f"    [dim]\u201c{escape(c.quote)}\u201d[/]", highlight=False)
    if answer.invalid_citations:
        out.print(f"[yellow]Removed citations to passages that do not exist: {', '.join(answer.invalid_citations)}[/]")
    if answer.uncited_sentences:
        kept = all(sentence in answer.text for sentence in answer.uncited_sentences)
        note = "cite no passage" if kept else "cited no passage and were removed (answer.keep_uncited)"
        out.print(f"[yellow]{len(answer.uncited_sentences)} sentence(s) {note}[/]")
    if answer.unsupported_sentences:
        out.print(f"[yellow]{len(answer.unsupported_sentences)} sentence(s) removed: the passages they cite do not "
                  "support them (a number, or too many words, not in the passage)[/]")
    if answer.stats.model:
        out.print(f"[dim]model {escape(answer.stats.model)}, {answer.stats.total_s:.1f}s[/]")


def _rich_table(rows: list[ResultRow]) -> Table:
    """The answer's table as a rich Table; cells are Text, so nothing from a paper is read as markup."""
    from .crosspaper import table_view

    columns, cells = table_view(rows)
    table = Table(show_lines=False, header_style="bold")
    for column in columns:
        if column in ("#", "Source"):
            table.add_column(column, no_wrap=True, justify="right")
        elif column == columns[3]:  # the figure: "57.6%" never breaks, "evaluated, no figure ..." may
            table.add_column(column, min_width=9, ratio=1, overflow="fold")
        else:
            table.add_column(column, overflow="fold", ratio=3 if column in ("Paper", "Qualifier evidence") else 1)
    for line in cells:
        table.add_row(*[Text(cell) for cell in line])
    return table


def _print_table_answer(answer: Answer) -> None:
    from rich.markdown import Markdown  # markdown-it loads only when a table answer is printed

    out.print(Markdown(answer.text.split("\n\n", 1)[0]))  # the summary paragraph, escaped Markdown
    out.print(_rich_table(answer.table))


@app.command()
def results(
    dataset: Annotated[str | None, typer.Option("--dataset", help="Dataset, any spelling the lexicon knows "
                                                "(ADE20K, ade-20k).")] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="Metric (mIoU, top-1, FID...).")] = None,
    min_value: Annotated[float | None, typer.Option("--min", help="Only values >= this.")] = None,
    max_value: Annotated[float | None, typer.Option("--max", help="Only values <= this.")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write the rows to this CSV file.")] = None,
    index_dir: IndexDirOpt = None,
    config: ConfigOpt = None,
    use_index_settings: UseIndexSettingsOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Browse and export the results table: every figure extracted from the abstracts."""

    def action() -> None:
        qa = _open(index_dir, config, use_index_settings)
        rows = qa.results(dataset=dataset, metric=metric, min_value=min_value, max_value=max_value)
        if csv_path is not None:
            from .crosspaper import results_csv

            csv_path.write_text(results_csv(rows), encoding="utf-8", newline="")
            err.print(f"{len(rows)} rows -> {csv_path}")
        if as_json:
            _print_json([r.model_dump(exclude={"citation"}) for r in rows])
        elif csv_path is None:
            if not rows:
                out.print("No results match.")
                return
            out.print(_results_table(rows))
            out.print(f"[dim]{len(rows)} rows from {len({r.paper_id for r in rows})} papers[/]")

    _run(action)


def _results_table(rows: list[ResultRow]) -> Table:
    from .crosspaper import format_value

    table = Table(header_style="bold")
    for column in ("Paper", "Model", "Dataset", "Metric", "Value", "Details", "Sentence"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*[Text(x) for x in (row.title or row.paper_id, row.model or "", row.dataset, row.metric or "",
                                          format_value(row), ", ".join(row.qualifiers), row.sentence)])
    return table


@app.command()
def info(
    index_dir: IndexDirOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What the index holds: papers, passages, model, chunking, sources."""

    def action() -> None:
        summary = _open(index_dir, config, use_index_settings=True).info()
        if as_json:
            _print_json(summary.model_dump())
            return
        table = Table(show_header=False)
        for key, value in summary.model_dump(exclude={"sources"}).items():
            if key == "results":
                value = (f"{value} reported results" if value is not None else
                         "not stored in this index version (extracted on first use; the next ingest stores it)")
            table.add_row(key, str(value))
        for name, count in summary.sources.items():
            table.add_row(f"source: {name}", f"{count} papers")
        out.print(table)

    _run(action)


HostOpt = Annotated[str | None, typer.Option("--host", help="Address to listen on (default ui.host: 127.0.0.1).")]
PortOpt = Annotated[int | None, typer.Option("--port", help="Port (default ui.port: 7860).")]
AuthOpt = Annotated[
    str | None, typer.Option("--auth", help="Require a login, user:pass (or set PAPERQA_UI__AUTH; default: none).")
]


@app.command()
def ui(
    index_dir: IndexDirOpt = None,
    config: ConfigOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
    auth: AuthOpt = None,
    use_index_settings: UseIndexSettingsOpt = False,
    insecure_no_auth: Annotated[bool, typer.Option(
        "--insecure-no-auth", help="Serve a non-loopback --host without a login (refused otherwise; uploads "
                                   "stay off unless ui.allow_upload is true).")] = False,
) -> None:
    """Open the web app: chat with the papers, search them, add files (local only unless --host)."""

    def action() -> None:
        from . import (
            ui as web,  # gradio is slow to import: only this command pays for it
        )

        web.launch(_open(index_dir, config, use_index_settings), host=host, port=port, auth=auth,
                   insecure_no_auth=insecure_no_auth)

    _run(action)


def _register_eval() -> None:
    """``paperqa eval`` lives in paperqa.eval.cli (the harness); its heavy imports happen when it runs."""
    from .eval.cli import eval_command

    app.command("eval")(eval_command)


_register_eval()


def main() -> None:  # pragma: no cover - console entry point
    app()
