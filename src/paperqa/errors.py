"""The one root of paperqa's own errors, and every error class paperqa raises on purpose.

Every error paperqa raises on purpose derives from :class:`PaperQAError`; the faces (CLI, UI,
eval harness) catch that base, and only that, and show its message without a traceback. Each
subclass carries the CLI exit code it maps to (2: the input or the config cannot be used;
1: something paperqa depends on failed). Anything else that escapes is a bug and keeps its
traceback.

The classes also derive from the builtin they used to be (``ValueError``, ``RuntimeError``,
``FileNotFoundError``), so older ``except ValueError`` code keeps working; the modules that raise
them re-export them (``from paperqa.config import ConfigError`` still works).
"""

from __future__ import annotations


class PaperQAError(Exception):
    """Base of every error paperqa raises on purpose; ``exit_code`` is the CLI's exit status."""

    exit_code: int = 2


# ----- the input or the config cannot be used (exit 2) -------------------------------------------


class ConfigError(PaperQAError, ValueError):
    """A config file or environment variable that cannot be used; the message names the key."""


class SourceError(PaperQAError, ValueError):
    """A whole file cannot be used; the message names the file (and the line when relevant)."""


class QuestionError(PaperQAError, ValueError):
    """A question or search that cannot be answered as asked (empty, too long, a bad filter or mode)."""


class DatasetError(PaperQAError, ValueError):
    """An evaluation dataset that cannot be used; the message names the file and line."""


class IndexNotFoundError(PaperQAError, FileNotFoundError):
    """No index where one was asked for; the message says how to build it."""


class IndexMismatchError(PaperQAError, ValueError):
    """The index was built with settings the current config contradicts."""


class IndexTypeError(PaperQAError, ValueError):
    """An index type that cannot be built for this corpus or model (e.g. ivfpq_m not dividing the dimension)."""


class IndexFormatError(PaperQAError):
    """The index was written in a format version this paperqa does not read; says what to do."""


class IndexCorruptError(PaperQAError, RuntimeError):
    """The files of the live version disagree with each other or cannot be read."""


# ----- something paperqa depends on failed (exit 1) ----------------------------------------------


class EmbeddingModelError(PaperQAError, RuntimeError):
    """The embedding model cannot be loaded (offline, no such local folder)."""

    exit_code = 1


class LLMUnavailableError(PaperQAError, RuntimeError):
    """The LLM server could not give an answer (down, failing, too slow, malformed, not serving the model)."""

    exit_code = 1


class RequestRejectedError(LLMUnavailableError):
    """The server refused the request itself (HTTP 4xx other than 404), e.g. a JSON schema it cannot compile.

    ``status`` and ``server_message`` are the server's, so a caller can retry without the part
    the server refused (the JSON answer format falls back to text) and say why.
    """

    def __init__(self, message: str, status: int = 400, server_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message or message


class ModelNotServedError(LLMUnavailableError):
    """``llm.model`` is not among the models the server lists, or it is ambiguous."""


__all__ = [
    "ConfigError", "DatasetError", "EmbeddingModelError", "IndexCorruptError", "IndexFormatError", "IndexMismatchError",
    "IndexNotFoundError", "IndexTypeError", "LLMUnavailableError", "ModelNotServedError", "PaperQAError",
    "QuestionError", "RequestRejectedError",
    "SourceError",
]
