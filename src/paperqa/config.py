"""Configuration: ``configs/default.yaml`` is the single source of defaults.

A user's config file only lists what it changes; it is deep-merged over the defaults, then
``PAPERQA_*`` environment variables override both (``__`` separates nesting levels), then
explicit overrides from the API or CLI win. Every section forbids unknown keys, so a typo is an
error that names the key instead of a silently ignored setting.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "PAPERQA_"


class ConfigError(ValueError):
    """A config file or environment variable that cannot be used; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class IndexConfig(_Section):
    dir: Path | None
    type: Literal["flat", "hnsw", "ivf"]
    device: Literal["auto", "cpu", "gpu"]
    hnsw_m: int = Field(gt=1)
    hnsw_ef_search: int = Field(gt=0)
    ivf_nlist: int = Field(gt=0)
    ivf_nprobe: int = Field(gt=0)


class IngestConfig(_Section):
    max_abstract_chars: int = Field(gt=0)
    min_abstract_chars: int = Field(ge=0)


class EmbeddingConfig(_Section):
    model: str = Field(min_length=1)
    device: Literal["auto", "cpu", "cuda", "mps"]
    batch_size: int = Field(gt=0)
    max_length: int = Field(gt=0)
    query_prefix: str
    text_prefix: str


class ChunkingConfig(_Section):
    chunk_size: int = Field(ge=32)
    chunk_overlap: int = Field(ge=0)
    title_in_chunk: bool


class RetrievalConfig(_Section):
    mode: Literal["hybrid", "dense", "bm25"]
    k: int = Field(gt=0, le=1000)
    candidates: int = Field(gt=0)
    fusion: Literal["rrf", "relative_score"]
    rrf_k: int = Field(ge=0)
    dense_weight: float = Field(ge=0)
    bm25_weight: float = Field(ge=0)
    bm25_stemmer: str | None
    bm25_stopwords: str | None


class AnswerConfig(_Section):
    mode: Literal["auto", "extractive", "generated"]
    max_sentences: int = Field(gt=0)
    max_sentences_per_paper: int = Field(gt=0)
    keyword_weight: float = Field(ge=0, le=1)
    min_relevance: float = Field(ge=-1, le=1)
    require_named_terms: bool
    relative_threshold: float = Field(ge=0, le=1)
    evidence: Literal["off", "llm"]
    keep_uncited: bool
    refusal_text: str = Field(min_length=1)
    max_question_chars: int = Field(gt=0)


class LLMConfig(_Section):
    base_url: str | None
    model: str | None
    api_key: str | None
    timeout: float = Field(gt=0)
    max_tokens: int = Field(gt=0)
    temperature: float = Field(ge=0)
    context_window: int = Field(gt=0)
    retries: int = Field(ge=0)
    backoff_s: float = Field(ge=0)
    concurrency: int = Field(gt=0)
    fallback_to_extractive: bool
    frequency_penalty: float = Field(
        default=0.0, ge=-2, le=2,
        description="OpenAI frequency_penalty sent with every chat call (0: off). It penalises a token by how "
                    "often it already appeared, which also discourages repeating citation marks.")
    repetition_penalty: float = Field(
        default=1.0, gt=0,
        description="vLLM's repetition_penalty (1.0: off, not sent; >1 discourages any token already in the "
                    "prompt or answer). Not an OpenAI parameter: only vLLM-compatible servers accept it.")


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


class UIConfig(_Section):
    host: str
    port: int = Field(gt=0, lt=65536)
    max_upload_mb: int = Field(gt=0)
    auth: str | None = None  # "user:pass[,user2:pass2]" for `paperqa ui`; set it in the environment


class Settings(BaseSettings):
    """The whole configuration; build it with :func:`load_config`, not directly."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", validate_assignment=True
    )

    index: IndexConfig
    ingest: IngestConfig
    embedding: EmbeddingConfig
    chunking: ChunkingConfig
    retrieval: RetrievalConfig
    answer: AnswerConfig
    llm: LLMConfig
    ui: UIConfig
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
    data = _read_yaml(default_config_path())
    if path is not None:
        _deep_merge(data, _read_yaml(Path(path)))
    _check_env_keys(data)
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


def _check_env_keys(defaults: dict[str, Any]) -> None:
    """pydantic-settings ignores unknown top-level variables; a typo there must not be silent."""
    for name in os.environ:
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        node: Any = defaults
        for part in parts:
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(
                    f"unknown config key in environment variable {name} "
                    f"(sections: {', '.join(sorted(defaults))})"
                )
            node = node[part]


def _validate(cls: type[Settings], data: dict[str, Any], origin: str) -> Settings:
    try:
        return cls(**data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration ({origin}): {problems}") from None
