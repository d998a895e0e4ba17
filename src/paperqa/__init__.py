"""paperqa: question answering over research-paper abstracts with passage-level citations."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("paperqa")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
