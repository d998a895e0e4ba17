"""The one root of paperqa's own errors.

Every error paperqa raises on purpose derives from :class:`PaperQAError`; the faces (CLI, UI,
eval harness) catch that base, and only that, and show its message without a traceback. Each
subclass carries the CLI exit code it maps to. Anything else that escapes is a bug and keeps
its traceback.
"""

from __future__ import annotations


class PaperQAError(Exception):
    """Base of every error paperqa raises on purpose; ``exit_code`` is the CLI's exit status."""

    exit_code: int = 2
