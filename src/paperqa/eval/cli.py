"""``paperqa eval``: the command-line face of the harness (registered by paperqa.cli)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ..errors import PaperQAError


def _split_list(values: list[str] | None) -> list[str]:
    return [v for value in values or [] for v in value.split(",") if v]


def eval_command(
    datasets: list[Path] = typer.Argument(
        None, help="BEIR folders (corpus.jsonl, queries.jsonl, qrels) and/or QA sets (.jsonl). "
        "YAML files given here join --config-set."),
    config: Path | None = typer.Option(None, "--config", "-c", help="config file for every configuration"),
    compare: list[str] = typer.Option(None, "--compare", help="KEY=V1,V2 (repeatable; the product is compared), "
                                      "e.g. mode=bm25,dense,hybrid or retrieval.fusion=rrf,relative_score"),
    config_set: list[str] = typer.Option(None, "--config-set", help="config files to compare (repeat or comma-separate)"),
    fixed: list[str] = typer.Option(None, "--set", help="KEY=VALUE applied to every configuration"),
    split: str = typer.Option("test", help="BEIR qrels split: qrels/<split>.tsv or qrels_<split>.tsv"),
    limit: int | None = typer.Option(None, help="only the first N queries / questions (quick checks)"),
    qa_corpus: list[Path] = typer.Option(None, "--qa-corpus", help="corpus of the QA sets (default: bundled)"),
    index_dir: Path | None = typer.Option(None, "--index-dir", help="use this existing index (opened read-only) "
                                          "instead of building one per corpus; e.g. for cross-paper question sets"),
    search_k: int = typer.Option(50, "--search-k", help="papers per search for cross-paper question sets"),
    latency_corpus: list[Path] = typer.Option(None, "--latency-corpus",
                                              help="also time single questions against this corpus"),
    latency_queries: Path | None = typer.Option(None, help="questions for --latency-corpus (BEIR folder or QA set)"),
    judge: bool = typer.Option(False, "--judge", help="LLM judge of answer correctness (off by default)"),
    out: Path | None = typer.Option(None, help="reports folder (default: eval/reports)"),
    cache_dir: Path | None = typer.Option(None, help="index cache (default: eval/cache)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars"),
) -> None:
    """Measure retrieval and answers: one table row per configuration, reports under eval/reports."""
    from .runner import RunOptions, build_variants, run_eval

    paths = list(datasets or [])
    config_files = [Path(p) for p in _split_list(config_set)]
    config_files += [p for p in paths if p.suffix in (".yaml", ".yml")]
    paths = [p for p in paths if p.suffix not in (".yaml", ".yml")]
    if not paths and not latency_corpus:
        raise typer.BadParameter("give at least one dataset (or --latency-corpus)")
    try:
        variants = build_variants(config, compare, config_files or None, fixed)
        options = RunOptions(split=split, limit=limit, qa_corpus=qa_corpus or [], latency_corpus=latency_corpus or [],
                             latency_queries=latency_queries, judge=judge, progress=not quiet, out_dir=out,
                             cache_dir=cache_dir, index_dir=index_dir, search_k=search_k, command="paperqa eval " + " ".join(sys.argv[2:]))
        written = run_eval(paths, variants, options)
    except PaperQAError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(exc.exit_code) from None
    for folder in written:
        typer.echo((folder / "report.md").read_text(encoding="utf-8"))
        typer.echo(f"report: {folder}")
    if quiet:
        typer.echo(json.dumps([str(f) for f in written]))
