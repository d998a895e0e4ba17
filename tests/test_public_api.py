"""The public surface: ``from paperqa import ...`` for every documented name, lazily; ``py.typed``;
and docs/architecture.md naming an owner for every module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import paperqa

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "paperqa"


def test_every_public_name_imports_from_the_package() -> None:
    assert set(paperqa.__all__) == {"__version__", *paperqa._LAZY_IMPORTS}
    for name in paperqa.__all__:
        assert getattr(paperqa, name) is not None, name
    from paperqa import PaperQA, PaperQAError, SearchFilters, load_config

    assert PaperQA.__module__ == "paperqa.api" and issubclass(paperqa.ConfigError, PaperQAError)
    assert SearchFilters(year_min=2021).year_min == 2021 and load_config().retrieval.k > 0


def test_importing_the_package_is_cheap() -> None:
    code = "import sys, paperqa; print(sorted(m for m in ('torch', 'faiss', 'gradio', 'paperqa.api') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_the_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").is_file()


def test_architecture_doc_names_every_module() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
               if p.name not in ("__init__.py", "__main__.py") and "eval" not in p.parts]
    missing = [m for m in modules if f"`{m}`" not in doc]
    assert not missing, f"docs/architecture.md does not say what these modules own: {missing}"
