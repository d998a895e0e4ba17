"""paperqa: question answering over research-paper abstracts with passage-level citations.

The public names are importable from here (``from paperqa import PaperQA``) and load lazily,
as paper-qa's ``_LAZY_IMPORTS`` does: ``import paperqa`` stays cheap (no torch, FAISS or
gradio) until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import PaperQA
    from .config import Settings, load_config
    from .errors import (
        ConfigError,
        DatasetError,
        EmbeddingModelError,
        IndexCorruptError,
        IndexFormatError,
        IndexMismatchError,
        IndexNotFoundError,
        LLMUnavailableError,
        ModelNotServedError,
        PaperQAError,
        QuestionError,
        SourceError,
    )
    from .models import Answer, AnswerStats, AnswerStream, Citation, Hit, IndexInfo, IngestReport, Paper, ResultRow
    from .retrieval import SearchFilters, SearchResult

# Public name -> the module that defines it (imported on first use).
_LAZY_IMPORTS: dict[str, str] = {
    "PaperQA": "api",
    "Settings": "config",
    "load_config": "config",
    "SearchFilters": "retrieval",
    "SearchResult": "retrieval",
    "Answer": "models",
    "AnswerStats": "models",
    "AnswerStream": "models",
    "Citation": "models",
    "Hit": "models",
    "IndexInfo": "models",
    "IngestReport": "models",
    "Paper": "models",
    "ResultRow": "models",
    "PaperQAError": "errors",
    "ConfigError": "errors",
    "DatasetError": "errors",
    "EmbeddingModelError": "errors",
    "IndexCorruptError": "errors",
    "IndexFormatError": "errors",
    "IndexMismatchError": "errors",
    "IndexNotFoundError": "errors",
    "LLMUnavailableError": "errors",
    "ModelNotServedError": "errors",
    "QuestionError": "errors",
    "SourceError": "errors",
}

__all__ = [
    "Answer",
    "AnswerStats",
    "AnswerStream",
    "Citation",
    "ConfigError",
    "DatasetError",
    "EmbeddingModelError",
    "Hit",
    "IndexCorruptError",
    "IndexFormatError",
    "IndexInfo",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IngestReport",
    "LLMUnavailableError",
    "ModelNotServedError",
    "Paper",
    "PaperQA",
    "PaperQAError",
    "QuestionError",
    "ResultRow",
    "SearchFilters",
    "SearchResult",
    "Settings",
    "SourceError",
    "__version__",
    "load_config",
]

def _version() -> str:
    # Looked up on first use: importlib.metadata costs a cold start about 0.1 s.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("paperqa")
    except PackageNotFoundError:  # running from a source tree without an install
        return "0.0.0"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    module = _LAZY_IMPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
