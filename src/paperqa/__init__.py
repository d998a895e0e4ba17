"""paperqa: question answering over research-paper abstracts with passage-level citations.

The public names are importable from here (``from paperqa import PaperQA``) and load lazily,
as paper-qa's ``_LAZY_IMPORTS`` does: ``import paperqa`` stays cheap (no torch, FAISS or
gradio) until a name is used.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("paperqa")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

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

_LAZY_IMPORTS: dict[str, str] = {
    "PaperQA": "api",
    "Settings": "config",
    "load_config": "config",
    "SearchFilters": "retrieval",
    "SearchResult": "retrieval",
    **dict.fromkeys(
        ["Answer", "AnswerStats", "AnswerStream", "Citation", "Hit", "IndexInfo", "IngestReport", "Paper", "ResultRow"], "models"
    ),
    **dict.fromkeys(
        ["PaperQAError", "ConfigError", "DatasetError", "EmbeddingModelError", "IndexCorruptError", "IndexFormatError",
         "IndexMismatchError", "IndexNotFoundError", "LLMUnavailableError", "ModelNotServedError", "QuestionError",
         "SourceError"],
        "errors",
    ),
}

__all__ = ["__version__", *sorted(_LAZY_IMPORTS)]


def __getattr__(name: str) -> Any:
    module = _LAZY_IMPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
