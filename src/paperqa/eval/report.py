"""Reports of one run: ``report.json`` for machines, ``report.md`` for people, PNG plots.

Everything lands in ``<reports_dir>/<timestamp>-<dataset>/`` together with the run's metadata
(git commit, machine, command line), the settings of every configuration, and a copy of the
small dataset files (QA set, qrels split) so that a report can be re-checked later.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers / CI
import matplotlib.pyplot as plt
from pydantic import BaseModel, Field

from ..markup import escape_markdown as md
from .aggregate_eval import AggregateResult, aggregate_table
from .qa_eval import QAResult
from .retrieval_eval import RetrievalResult


class LatencyRun(BaseModel):
    """Single-question timing against a corpus given only for latency (``--latency-corpus``)."""

    config_name: str
    corpus: str
    papers: int
    chunks: int
    n_questions: int
    k: int
    latency: dict[str, Any]
    latency_raw_s: dict[str, list[float]]
    throughput_qps: float


class EvalReport(BaseModel):
    dataset: str
    kind: str
    meta: dict[str, Any]
    dataset_info: dict[str, Any]
    configs: dict[str, dict[str, Any]] = Field(description="config name -> overrides / file it was built from")
    retrieval: list[RetrievalResult] = Field(default_factory=list)
    qa: list[QAResult] = Field(default_factory=list)
    latency: list[LatencyRun] = Field(default_factory=list)
    aggregate: list[AggregateResult] = Field(default_factory=list)


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _ms(latency: dict[str, Any], stage: str, which: str) -> str:
    entry = latency.get(stage)
    if entry is None:
        return "–"
    value = entry[which] if isinstance(entry, dict) else getattr(entry, which)
    return f"{value:.1f}"


def retrieval_table(results: list[RetrievalResult], recall_ks: list[int]) -> str:
    if not results:
        return ""
    r0 = results[0]
    head = ["config", f"nDCG@{r0.ndcg_k}", *[f"R@{k}" for k in recall_ks], f"MRR@{r0.mrr_k}",
            "embed p50 ms", "search p50 ms", "search p95 ms", "q/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        row = [r.config_name, _fmt(r.metrics[f"ndcg@{r.ndcg_k}"]),
               *[_fmt(r.metrics.get(f"recall@{k}")) for k in recall_ks], _fmt(r.metrics[f"mrr@{r.mrr_k}"]),
               _ms(r.latency, "embed_query", "p50_ms"), _ms(r.latency, "total", "p50_ms"),
               _ms(r.latency, "total", "p95_ms"), f"{r.throughput_qps:.1f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def qa_table(results: list[QAResult]) -> str:
    if not results:
        return ""
    k = results[0].recall_k
    judged = any(r.judge for r in results)
    head = ["config", f"gold R@{k}", "gold in passages", "gold cited", "citation precision", "key facts",
            "refused (unanswerable)", "false refusals", "invalid citations", "unsupported citations", "ask p50 ms", "ask p95 ms", "q/s"]
    if judged:
        head.insert(6, "LLM judge: correct")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        mt = r.metrics
        row = [r.config_name, _fmt(mt["gold_recall@k"]), _fmt(mt["gold_recall_passages"]),
               _fmt(mt["gold_recall_cited"]), _fmt(mt["citation_precision"]), _fmt(mt["key_fact_match"]),
               _fmt(mt["refusal_rate_unanswerable"]), _fmt(mt["false_refusal_rate"]),
               _fmt(mt["invalid_citations"]), _fmt(mt.get("unsupported_citations")),
               _ms(r.latency, "ask.total", "p50_ms"),
               _ms(r.latency, "ask.total", "p95_ms"), f"{r.throughput_qps:.2f}"]
        if judged:
            row.insert(6, _fmt(mt["judge_correct"]))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def generated_table(results: list[QAResult]) -> str:
    """Citation measures of generated answers (answer.format text vs json), with their latency."""
    rows = [r for r in results if r.metrics.get("generated_answers")]
    if not rows:
        return ""
    head = ["config", "format / prompt", "generated answers", "sentences", "sentences with a valid citation",
            "invalid citations per answer", "unanswerable refused", "answerable refused", "key facts",
            "first token p50 / p95 ms", "first text p50 ms", "answer p50 / p95 ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        mt = r.metrics
        formats = sorted({i.answer_format for i in r.per_item if i.answer_format})
        row = [r.config_name, ", ".join(formats) + " / " + ", ".join(r.prompt_versions),
               f"{mt['generated_answers']} of {r.n_questions}", str(mt["generated_sentences"]),
               _fmt(mt["cited_sentence_share"]), _fmt(mt["invalid_citations_per_answer"], 2),
               f"{mt['generated_refused_unanswerable']} of {mt['generated_unanswerable']}",
               f"{mt['generated_false_refusals']} of {mt['generated_answerable']}", _fmt(mt["generated_key_fact_match"]),
               f"{_ms(r.latency, 'ask.first_token', 'p50_ms')} / {_ms(r.latency, 'ask.first_token', 'p95_ms')}",
               _ms(r.latency, "ask.first_text", "p50_ms"),
               f"{_ms(r.latency, 'ask.total', 'p50_ms')} / {_ms(r.latency, 'ask.total', 'p95_ms')}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def latency_table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """One row per (config, stage): p50 / p95 / mean in ms."""
    lines = ["| config | stage | n | p50 ms | p95 ms | mean ms |", "|---|---|---|---|---|---|"]
    for name, latency in rows:
        for stage, s in sorted(latency.items()):
            s = s if isinstance(s, dict) else s.model_dump()
            lines.append(f"| {name} | {stage} | {s['n']} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f} | {s['mean_ms']:.1f} |")
    return "\n".join(lines)


def markdown(report: EvalReport, recall_ks: list[int]) -> str:
    meta = report.meta
    parts = [
        f"# paperqa eval: {report.dataset}",
        "",
        f"- when: {meta.get('timestamp')}  ",
        f"- git commit: `{meta.get('git_commit')}`{' (with uncommitted changes)' if meta.get('git_dirty') else ''}  ",
        f"- machine: {meta.get('machine')}  ",
        f"- command: `{meta.get('command')}`  ",
        f"- prompts: {', '.join(f'{k}@{v}' for k, v in (meta.get('prompts') or {}).items()) or '–'}  ",
        f"- dataset: {json.dumps(report.dataset_info)}",
        "",
    ]
    if report.retrieval:
        parts += ["## Retrieval (document level: each paper scored by its best chunk)", "",
                  retrieval_table(report.retrieval, recall_ks), "",
                  "![recall@k](recall_at_k.png)", "", "![latency](latency_retrieval.png)", ""]
    if report.qa:
        judge = next((r.judge for r in report.qa if r.judge), None)
        parts += ["## Question answering", "",
                  "Means over answerable questions; refusal rate over unanswerable ones. "
                  "Key facts: literal match after normalising case and numbers."
                  + (f" **LLM judge** column: verdicts of {judge}, an opinion, not a measurement." if judge else ""),
                  "", qa_table(report.qa), ""]
        generated = generated_table(report.qa)
        if generated:
            explained = ("Over the answers the model wrote (not extractive fallbacks; the table above counts "
                         "every answer). A sentence counts as cited when it keeps at least one citation after "
                         "checking; invalid citations are keys that name no passage in the prompt. First token: the "
                         "model's first streamed token; first text: the first text shown (a whole sentence in the "
                         "json format).")
            parts += ["### Generated answers: citations and time per answer", "", explained, "", generated, ""]
        parts += ["### By question type", ""]
        for r in report.qa:
            for qtype, mt in r.by_type.items():
                parts.append(f"- {r.config_name} / {md(qtype)}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in mt.items()
                                                                        if v is not None))
        failures = [(r.config_name, i) for r in report.qa for i in r.per_item
                    if (i.type != "unanswerable" and (i.gold_recall_at_k or 0) < 1) or
                    (i.type == "unanswerable" and not i.refused)]
        if failures:
            parts += ["", "### Misses (gold paper not in the top k, or an unanswerable question answered)", ""]
            # questions, ids and types come from dataset files: shown as text, never rendered
            parts += [f"- {name} / {md(i.id)} ({md(i.type)}): {md(i.question)}" for name, i in failures]
        parts += ["", "![latency](latency_qa.png)", ""]
    if report.aggregate:
        explain = ("search: `qa.search(question, k, distinct_papers=True)`; passages: k passages reduced to "
                   "their papers (how search worked before); answer: the papers `qa.ask` lists (the rows of "
                   "`answer.table` when the results table answered, else the cited papers). P@10 = gold papers "
                   "among the first 10 / min(10, gold papers); listed P@10 divides by the papers listed among "
                   "the first 10; recall over the whole list.")
        parts += ["## Cross-paper questions (per distinct paper)", "", explain, "",
                  aggregate_table(report.aggregate), ""]
    if report.latency:
        parts += ["## Single-question latency", ""]
        for run in report.latency:
            parts.append(f"- {run.config_name}: {run.n_questions} questions, k={run.k}, corpus {run.corpus} "
                         f"({run.papers} papers, {run.chunks} chunks), {run.throughput_qps:.1f} q/s")
        parts += ["", latency_table([(r.config_name, r.latency) for r in report.latency]), ""]
    stage_rows = [(r.config_name, r.latency) for r in report.retrieval] + [(r.config_name, r.latency) for r in report.qa]
    stage_rows += [(r.config_name, r.latency) for r in report.aggregate]
    if stage_rows:
        parts += ["## Latency per stage", "", latency_table(stage_rows), ""]
    parts += ["## Configurations", ""]
    parts += [f"- **{name}**: `{json.dumps(spec)}`" for name, spec in report.configs.items()]
    return "\n".join(parts) + "\n"


def plot_recall(results: list[RetrievalResult], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for r in results:
        ks = sorted(r.recall_curve)
        ax.plot(ks, [r.recall_curve[k] or 0 for k in ks], marker="o", label=r.config_name)
    ax.set_xscale("log")
    ax.set_xlabel("k (papers)")
    ax.set_ylabel("recall@k")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Recall@k per configuration")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(series: list[tuple[str, list[float]]], path: Path, title: str) -> None:
    series = [(name, values) for name, values in series if values]
    if not series:
        return
    fig, ax = plt.subplots(figsize=(6.5, 0.6 * len(series) + 1.8))
    ax.boxplot([[v * 1000 for v in values] for _, values in series], orientation="horizontal", showfliers=True)
    ax.set_yticks(range(1, len(series) + 1), [name for name, _ in series], fontsize=8)
    ax.set_xlabel("ms")
    ax.set_xscale("log")
    ax.grid(alpha=0.3, axis="x")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: EvalReport, out_dir: Path, recall_ks: list[int], copy_files: list[Path]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(report.model_dump_json(indent=1), encoding="utf-8")
    (out_dir / "report.md").write_text(markdown(report, recall_ks), encoding="utf-8")
    if report.retrieval:
        plot_recall(report.retrieval, out_dir / "recall_at_k.png")
        plot_latency([(f"{r.config_name}", r.latency_raw_s.get("total", [])) for r in report.retrieval],
                     out_dir / "latency_retrieval.png", "Search latency per query (total)")
    if report.qa:
        plot_latency([(r.config_name, r.latency_raw_s.get("ask.total", [])) for r in report.qa],
                     out_dir / "latency_qa.png", "Time to answer per question")
    if report.aggregate:
        plot_latency([(f"{r.config_name} {stage}", values) for r in report.aggregate
                      for stage, values in sorted(r.latency_raw_s.items())],
                     out_dir / "latency_aggregate.png", "Cross-paper questions: time per question")
    if report.latency:
        plot_latency([(f"{r.config_name} {stage}", values) for r in report.latency
                      for stage, values in sorted(r.latency_raw_s.items())],
                     out_dir / "latency_single_question.png", "Single-question latency per stage")
    data_dir = out_dir / "dataset"
    for path in copy_files:
        data_dir.mkdir(exist_ok=True)
        shutil.copy2(path, data_dir / path.name)
    return out_dir
