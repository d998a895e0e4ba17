"""Run configurations over datasets on one machine in one go, and write the reports.

Configurations that share the embedding model, chunking and ingest settings share one cached
index per corpus (``eval/cache/<corpus>-<hash>``): the corpus is embedded once and only
retrieval / answer settings change between rows, which is what makes rows comparable and
cheap. The index is opened once per key and each configuration is a ``with_settings`` view.
"""

from __future__ import annotations

import itertools
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from ..config import ConfigError, Settings, load_config, redact_command, redact_overrides
from ..prompting import load_prompts
from .aggregate_eval import (
    AggregateDataset,
    evaluate_aggregate,
    is_aggregate_set,
    load_aggregate,
)
from .datasets import (
    BeirDataset,
    DatasetError,
    QADataset,
    is_beir_dir,
    load_beir,
    load_qa,
    resolve_gold,
)
from .latency import StageTimes
from .progress import progress_bar
from .qa_eval import evaluate_qa
from .report import EvalReport, LatencyRun, write_report
from .retrieval_eval import evaluate_retrieval

# Settings sections that decide what is in the index; everything else is a query-time setting.
ALIASES = {"mode": "retrieval.mode", "k": "retrieval.k", "fusion": "retrieval.fusion"}


# ----- harness settings (configs/eval.yaml) ------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetrievalEvalCfg(_Strict):
    ks: list[int] = Field(min_length=1)
    ndcg_k: int = Field(gt=0)
    mrr_k: int = Field(gt=0)
    table_recall_ks: list[int]
    chunks_per_doc: int = Field(gt=0)


class QAEvalCfg(_Strict):
    recall_k: int = Field(gt=0)
    concurrency: int | None = None


class LatencyCfg(_Strict):
    warmup: int = Field(ge=0)
    questions: int = Field(gt=0)


class JudgeCfg(_Strict):
    base_url: str | None = None
    model: str | None = None
    max_tokens: int = Field(gt=0)


class HarnessConfig(_Strict):
    cache_dir: Path
    reports_dir: Path
    retrieval: RetrievalEvalCfg
    qa: QAEvalCfg
    latency: LatencyCfg
    judge: JudgeCfg


def harness_config(path: Path | None = None) -> HarnessConfig:
    from ..config import configs_dir

    file = path or configs_dir() / "eval.yaml"
    try:
        return HarnessConfig(**yaml.safe_load(file.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{file}: {exc}") from None


# ----- configurations ----------------------------------------------------------------------------


class Variant(BaseModel):
    """One row of the comparison: a config file (or the defaults) plus dotted overrides."""

    name: str
    config: Path | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    _settings: Settings | None = PrivateAttr(default=None)

    def settings(self) -> Settings:
        """Read once: every row of a run uses the configuration as it was when the run started."""
        if self._settings is None:
            self._settings = load_config(self.config, self.overrides)
        return self._settings

    def describe(self) -> dict[str, Any]:
        return {"config": str(self.config) if self.config else None, "overrides": redact_overrides(self.overrides)}


def canonical_key(key: str) -> str:
    """``mode`` -> ``retrieval.mode``; a bare key found in exactly one section gets its section."""
    if key in ALIASES:
        return ALIASES[key]
    if "." in key:
        return key
    sections = [name for name, field in Settings.model_fields.items()
                if key in field.annotation.model_fields]  # type: ignore[union-attr]
    if len(sections) != 1:
        raise ConfigError(f"'{key}' is {'ambiguous' if sections else 'unknown'}: write it as section.{key}")
    return f"{sections[0]}.{key}"


def parse_assignments(spec: str) -> tuple[str, list[Any]]:
    """``retrieval.fusion=rrf,relative_score`` -> (key, values); values are YAML scalars."""
    if "=" not in spec:
        raise ConfigError(f"--compare expects KEY=V1,V2,... (got '{spec}')")
    key, _, values = spec.partition("=")
    parsed = [yaml.safe_load(v) for v in values.split(",") if v.strip() != ""]
    if not parsed:
        raise ConfigError(f"--compare {spec}: no values")
    return canonical_key(key.strip()), parsed


def build_variants(
    config: Path | None = None,
    compare: list[str] | None = None,
    config_set: list[Path] | None = None,
    fixed: list[str] | None = None,
) -> list[Variant]:
    """The cartesian product of ``--compare`` axes, for each config of ``--config-set``."""
    base: dict[str, Any] = {}
    for spec in fixed or []:
        key, values = parse_assignments(spec)
        base[key] = values[0]
    axes = [parse_assignments(spec) for spec in compare or []]
    files: list[Path | None] = list(config_set) if config_set else [config]
    variants: list[Variant] = []
    for file in files:
        for combo in itertools.product(*[[(key, v) for v in values] for key, values in axes]) if axes else [()]:
            overrides = {**base, **dict(combo)}
            parts = ([file.stem] if config_set and file else []) + [
                f"{k.split('.')[-1]}={v}" for k, v in combo
            ]
            variants.append(Variant(name=" ".join(parts) or (file.stem if file else "default"),
                                    config=file, overrides=overrides))
    for variant in variants:
        variant.settings()  # validate every configuration before anything slow starts
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ConfigError(f"configurations with the same name: {names}")
    return variants


def index_key(settings: Settings, corpus_paths: list[Path]) -> str:
    """The index pool's key: paperqa's one index cache key (identity, build settings, ingest filters,
    version) over these corpus files."""
    from ..embedding import resolve_model
    from ..index_store import index_cache_key

    corpus = [[str(p.resolve()), p.stat().st_size, int(p.stat().st_mtime)] for p in corpus_paths]
    return index_cache_key(settings, resolve_model(settings.embedding.model)[0], corpus=corpus)


def query_time_overrides(settings: Settings) -> dict[str, Any]:
    """Every setting outside the index-defining sections, flattened to dotted keys."""
    flat: dict[str, Any] = {}
    for section in ("retrieval", "answer", "llm"):
        for key, value in getattr(settings, section).model_dump().items():
            flat[f"{section}.{key}"] = value
    return flat


class IndexPool:
    """One opened ``PaperQA`` per (corpus, index key); configurations are views on it."""

    def __init__(self, cache_dir: Path, progress: bool, index_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self.progress = progress
        self.index_dir = index_dir
        self._open: dict[str, Any] = {}

    def get(self, variant: Variant, corpus_paths: list[Path], fmt: str | None):
        from ..api import PaperQA

        settings = variant.settings()
        if self.index_dir is not None:  # an index built beforehand (--index-dir): opened, never written
            if "given" not in self._open:
                if not _has_index(self.index_dir):
                    raise DatasetError(f"{self.index_dir}: no paperqa index there (--index-dir)")
                self._open["given"] = PaperQA(index_dir=self.index_dir, settings=settings)
            return self._open["given"].with_settings(query_time_overrides(settings))
        key = f"{corpus_label(corpus_paths)}-{index_key(settings, corpus_paths)}"
        if key not in self._open:
            index_dir = self.cache_dir / key
            qa = PaperQA(index_dir=index_dir, settings=settings)
            if not _has_index(index_dir):
                print(f"building index {index_dir} ({', '.join(p.name for p in corpus_paths)})", file=sys.stderr)
                qa.ingest(corpus_paths, fmt=fmt, progress=self.progress)
            self._open[key] = qa
        return self._open[key].with_settings(query_time_overrides(settings))


def corpus_label(paths: list[Path]) -> str:
    """A readable cache-folder prefix: ``scifact`` for scifact/corpus.jsonl, else the file stems."""
    if len(paths) == 1 and paths[0].stem == "corpus":
        return paths[0].resolve().parent.name
    if len(paths) > 1 and len({p.parent for p in paths}) == 1:
        return paths[0].resolve().parent.name
    return "-".join(p.stem for p in paths)[:40]


def _has_index(index_dir: Path) -> bool:
    from ..index_store import IndexStore

    return IndexStore.exists(index_dir)


# ----- runs ---------------------------------------------------------------------------------------


class RunOptions(BaseModel):
    split: str = "test"
    limit: int | None = None
    qa_corpus: list[Path] = Field(default_factory=list)
    latency_corpus: list[Path] = Field(default_factory=list)
    latency_queries: Path | None = None
    judge: bool = False
    progress: bool = True
    out_dir: Path | None = None
    cache_dir: Path | None = None
    command: str | None = None
    index_dir: Path | None = None
    search_k: int = 50


def git_state(cwd: Path | None = None) -> tuple[str | None, bool]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=cwd, check=True)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                text=True, cwd=cwd, check=True)
        return commit.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return None, False


def machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, {gpu}"


def _meta(options: RunOptions) -> dict[str, Any]:
    commit, dirty = git_state()
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": commit,
        "git_dirty": dirty,
        "machine": machine(),
        "python": sys.version.split()[0],
        "command": redact_command((options.command or " ".join(sys.argv)).split(" ")),
        "prompts": {name: p.version for name, p in load_prompts().items()},
    }


def _report_dir(base: Path, dataset_name: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return base / f"{stamp}-{dataset_name}"


def _judge(variant: Variant, cfg: HarnessConfig):
    from .judge import LLMJudge

    llm = variant.settings().llm
    base_url = cfg.judge.base_url or llm.base_url
    model = cfg.judge.model or llm.model
    if not base_url or not model:
        raise ConfigError("--judge needs an LLM: set llm.base_url and llm.model (or judge.* in configs/eval.yaml)")
    api_key = llm.api_key.get_secret_value() if llm.api_key else None
    return LLMJudge(base_url, model, api_key, cfg.judge.max_tokens, llm.timeout)


def run_beir(dataset: BeirDataset, variants: list[Variant], pool: IndexPool, cfg: HarnessConfig,
             options: RunOptions) -> EvalReport:
    rc = cfg.retrieval
    results = []
    for variant in variants:
        qa = pool.get(variant, [dataset.corpus_path], fmt="beir")
        _warm_up(qa, list(dataset.queries.values()), cfg.latency.warmup)
        results.append(evaluate_retrieval(qa, dataset, variant.name, rc.ks, rc.ndcg_k, rc.mrr_k,
                                          rc.chunks_per_doc, options.progress))
    info = qa.info()
    missing = {d for rels in dataset.qrels.values() for d in rels} - set(qa.papers)
    return EvalReport(
        dataset=dataset.name, kind="beir", meta=_meta(options),
        dataset_info={"path": str(dataset.root), "split": dataset.split, "queries": len(dataset.queries),
                      "judgements": sum(len(r) for r in dataset.qrels.values()), "papers": info.papers,
                      "chunks": info.chunks, "judged_docs_not_indexed": len(missing)},
        configs={v.name: v.describe() for v in variants}, retrieval=results,
    )


def run_qa(dataset: QADataset, variants: list[Variant], pool: IndexPool, cfg: HarnessConfig,
           options: RunOptions) -> EvalReport:
    results = []
    for variant in variants:
        qa = pool.get(variant, dataset.corpus_paths, fmt=None)
        resolved = resolve_gold(dataset, qa.papers.values())
        if options.limit:
            resolved = resolved.model_copy(update={"items": resolved.items[: options.limit]})
        _warm_up(qa, [i.question for i in resolved.items], cfg.latency.warmup)
        llm_on = qa.answer_mode() == "generated"
        concurrency = (cfg.qa.concurrency or getattr(qa.settings.llm, "concurrency", 1) or 1) if llm_on else 1
        judge = _judge(variant, cfg) if options.judge else None
        results.append(evaluate_qa(qa, resolved, variant.name, cfg.qa.recall_k, concurrency, judge, options.progress))
    info = qa.info()
    counts = {t: sum(i.type == t for i in dataset.items) for t in ("lookup", "aggregate", "unanswerable")}
    return EvalReport(
        dataset=dataset.name, kind="qa", meta=_meta(options),
        dataset_info={"path": str(dataset.path), "questions": len(dataset.items), **counts,
                      "corpus": [str(p) for p in dataset.corpus_paths], "papers": info.papers, "chunks": info.chunks},
        configs={v.name: v.describe() for v in variants}, qa=results,
    )


def run_aggregate(dataset: AggregateDataset, variants: list[Variant], pool: IndexPool, cfg: HarnessConfig,
                  options: RunOptions) -> EvalReport:
    """Cross-paper questions against the index of their corpus (--index-dir, or --qa-corpus built and cached)."""
    if pool.index_dir is None and not options.qa_corpus:
        raise DatasetError(f"{dataset.path}: cross-paper questions need their corpus: --index-dir DIR (an index "
                           "of it) or --qa-corpus FILE")
    results = []
    for variant in variants:
        qa = pool.get(variant, options.qa_corpus, fmt=None)
        _warm_up(qa, [i.question for i in dataset.items], cfg.latency.warmup)
        results.append(evaluate_aggregate(qa, dataset, variant.name, options.search_k, options.progress))
    info = qa.info()
    gold = {g for i in dataset.items for g in i.gold_ids}
    return EvalReport(
        dataset=dataset.name, kind="aggregate", meta=_meta(options),
        dataset_info={"path": str(dataset.path), "questions": len(dataset.items), "gold_papers": len(gold),
                      "gold_not_indexed": len(gold - set(qa.papers)), "index": str(qa.index_dir),
                      "papers": info.papers, "chunks": info.chunks},
        configs={v.name: v.describe() for v in variants}, aggregate=results,
    )


def latency_questions(path: Path | None, n: int) -> list[str]:
    """Questions to time: a BEIR folder's queries or a QA set's questions, cycled to ``n``."""
    if path is None:
        from ..config import configs_dir

        path = configs_dir().parent / "eval" / "datasets" / "bundled_qa.jsonl"
    if is_beir_dir(path):
        questions = list(load_beir(path, "test").queries.values())
    else:
        questions = [i.question for i in load_qa(path).items]
    if not questions:
        raise DatasetError(f"{path}: no questions")
    return list(itertools.islice(itertools.cycle(questions), n))


def run_latency(corpus: list[Path], variants: list[Variant], pool: IndexPool, cfg: HarnessConfig,
                options: RunOptions) -> EvalReport:
    questions = latency_questions(options.latency_queries, options.limit or cfg.latency.questions)
    runs = []
    for variant in variants:
        qa = pool.get(variant, corpus, fmt=None)
        _warm_up(qa, questions, cfg.latency.warmup)
        stages = StageTimes()
        start = time.perf_counter()
        for q in progress_bar(questions, total=len(questions), desc=f"latency {variant.name}",
                              enabled=options.progress):
            stages.add(qa.search_timed(q)[1])
        wall = time.perf_counter() - start
        info = qa.info()
        runs.append(LatencyRun(config_name=variant.name, corpus=", ".join(str(p) for p in corpus),
                               papers=info.papers, chunks=info.chunks, n_questions=len(questions),
                               k=qa.settings.retrieval.k, latency={k: v.model_dump() for k, v in stages.summary().items()},
                               latency_raw_s=stages.raw(), throughput_qps=len(questions) / wall))
    name = "latency-" + "-".join(p.stem for p in corpus)[:40]
    return EvalReport(dataset=name, kind="latency", meta=_meta(options),
                      dataset_info={"corpus": [str(p) for p in corpus],
                                    "questions_from": str(options.latency_queries or "bundled_qa.jsonl")},
                      configs={v.name: v.describe() for v in variants}, latency=runs)


def _warm_up(qa: Any, questions: list[str], n: int) -> None:
    """Load the model and touch the index before timing, so p50 is the steady state."""
    for q in questions[:n]:
        qa.search(q)


def run_eval(datasets: list[Path], variants: list[Variant], options: RunOptions,
             cfg: HarnessConfig | None = None) -> list[Path]:
    """Evaluate every dataset with every configuration; returns the report folders written."""
    cfg = cfg or harness_config()
    pool = IndexPool(options.cache_dir or cfg.cache_dir, options.progress, options.index_dir)
    out_base = options.out_dir or cfg.reports_dir
    written: list[Path] = []
    for path in datasets:
        if is_beir_dir(path):
            report = run_beir(load_beir(path, options.split, options.limit), variants, pool, cfg, options)
            copies = [p for p in [path / "qrels" / f"{options.split}.tsv", path / f"qrels_{options.split}.tsv"]
                      if p.is_file()]
        elif is_aggregate_set(path):
            report = run_aggregate(load_aggregate(path, options.limit), variants, pool, cfg, options)
            copies = [path]
        elif path.is_file():
            report = run_qa(load_qa(path, options.qa_corpus or None), variants, pool, cfg, options)
            copies = [path]
        else:
            raise DatasetError(f"{path}: neither a BEIR folder nor a QA set (.jsonl)")
        written.append(write_report(report, _report_dir(out_base, report.dataset), cfg.retrieval.table_recall_ks,
                                    copies))
    if options.latency_corpus:
        report = run_latency(options.latency_corpus, variants, pool, cfg, options)
        written.append(write_report(report, _report_dir(out_base, report.dataset), cfg.retrieval.table_recall_ks, []))
    return written
