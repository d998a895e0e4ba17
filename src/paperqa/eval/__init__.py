"""The offline evaluation harness: BEIR retrieval sets, QA sets, latency; see docs/evaluation.md.

``from paperqa.eval import run_eval, build_variants`` runs what ``paperqa eval`` runs. Names are
imported on first use so that ``paperqa --help`` does not pay for matplotlib.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "DatasetError": "datasets", "load_beir": "datasets", "load_qa": "datasets", "resolve_gold": "datasets",
    "RunOptions": "runner", "Variant": "runner", "build_variants": "runner", "run_eval": "runner",
}
__all__ = [  # noqa: RUF022  (the order of _EXPORTS: by module)
    "DatasetError", "load_beir", "load_qa", "resolve_gold", "RunOptions", "Variant", "build_variants", "run_eval",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'paperqa.eval' has no attribute '{name}'")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
