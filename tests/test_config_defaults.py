"""Config defaults live on the pydantic fields; configs/default.yaml shows exactly them. Importing
or using paperqa leaves process-wide state (environment, csv limit, progress bars) as it found it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from paperqa.config import ConfigError, IngestConfig, Settings, default_config_path, load_config


def _walk(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out |= _walk(annotation, f"{prefix}{name}.")
        else:
            out[f"{prefix}{name}"] = field
    return out


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out |= _flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_every_field_has_a_default_and_a_description() -> None:
    fields = _walk(Settings)
    assert len(fields) > 50
    missing = [k for k, f in fields.items() if f.is_required() or not f.description]
    assert not missing, f"config keys without a default or a description: {missing}"


def test_default_yaml_lists_exactly_the_field_defaults() -> None:
    shown = _flatten(yaml.safe_load(default_config_path().read_text(encoding="utf-8")))
    defaults = _flatten(Settings().model_dump(mode="json"))
    assert set(shown) == set(defaults), (
        f"configs/default.yaml lacks {sorted(set(defaults) - set(shown))}, has unknown {sorted(set(shown) - set(defaults))}")
    differ = {k: (shown[k], defaults[k]) for k in defaults if shown[k] != defaults[k]}
    assert not differ, f"configs/default.yaml disagrees with the field defaults (yaml, field): {differ}"


def test_load_config_without_a_file_is_the_field_defaults() -> None:
    assert load_config() == Settings()


def test_unknown_top_level_environment_key_is_named(monkeypatch) -> None:
    """pydantic-settings alone ignores it (a typo in the section name would be silent)."""
    monkeypatch.setenv("PAPERQA_RETRIEVL__K", "3")
    with pytest.raises(ConfigError, match="PAPERQA_RETRIEVL__K"):
        load_config()


def test_importing_paperqa_sets_no_environment_variables() -> None:
    code = ("import os; before = dict(os.environ); import paperqa.ui.layout, paperqa.embedding, paperqa.sources, "
            "paperqa.cli; print(sorted(set(os.environ.items()) ^ set(before.items())))")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "GRADIO_ANALYTICS_ENABLED")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_reading_a_csv_restores_the_csv_field_limit(tmp_path: Path) -> None:
    from paperqa.sources import load_papers

    path = tmp_path / "papers.csv"
    path.write_text("title,abstract\nA long one," + "word " * 30000 + "\n", encoding="utf-8")
    before = csv.field_size_limit()
    cfg = IngestConfig(max_abstract_chars=200_000)
    assert len(load_papers([path], cfg=cfg).papers) == 1  # a 150 KB field: over csv's default limit of 128 KiB
    assert csv.field_size_limit() == before


def test_loading_the_model_leaves_progress_bars_as_they_were() -> None:
    from transformers.utils import logging as transformers_logging

    from paperqa.embedding import Embedder

    transformers_logging.enable_progress_bar()
    Embedder(load_config().embedding).load()
    assert transformers_logging.is_progress_bar_enabled()
