"""paperqa: question answering over research-paper abstracts with passage-level citations."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # ``__version__`` is looked up on first use: importlib.metadata costs a cold start ~0.1 s.
    if name != "__version__":
        raise AttributeError(f"module 'paperqa' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("paperqa")
    except PackageNotFoundError:  # running from a source tree without an install
        value = "0.0.0"
    globals()["__version__"] = value
    return value
