"""Configuration: defaults from configs/default.yaml, overlays, environment, errors naming keys."""

from __future__ import annotations

import pytest

from paperqa.config import ConfigError, configs_dir, load_config


def test_defaults_load_from_the_yaml():
    settings = load_config()
    assert settings.retrieval.mode == "hybrid"
    assert settings.embedding.model == "default"
    assert settings.llm.base_url is None


def test_overlay_file_changes_only_its_keys(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("retrieval:\n  k: 25\n")
    settings = load_config(path)
    assert settings.retrieval.k == 25
    assert settings.retrieval.mode == load_config().retrieval.mode


def test_environment_overrides_file(tmp_path, monkeypatch):
    path = tmp_path / "mine.yaml"
    path.write_text("retrieval:\n  k: 25\n")
    monkeypatch.setenv("PAPERQA_RETRIEVAL__K", "20")
    monkeypatch.setenv("PAPERQA_LLM__BASE_URL", "http://127.0.0.1:8000/v1")
    settings = load_config(path)
    assert settings.retrieval.k == 20
    assert settings.llm.base_url == "http://127.0.0.1:8000/v1"


def test_unknown_key_in_file_is_named(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("retrieval:\n  modee: dense\n")
    with pytest.raises(ConfigError, match="retrieval.modee"):
        load_config(path)


def test_bad_value_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("retrieval:\n  mode: fuzzy\n")
    with pytest.raises(ConfigError, match="retrieval.mode"):
        load_config(path)


def test_unknown_environment_key_is_named(monkeypatch):
    monkeypatch.setenv("PAPERQA_RETRIEVAL__KAY", "3")
    with pytest.raises(ConfigError, match="PAPERQA_RETRIEVAL__KAY"):
        load_config()


def test_bad_environment_value_is_named(monkeypatch):
    monkeypatch.setenv("PAPERQA_RETRIEVAL__K", "many")
    with pytest.raises(ConfigError, match="retrieval.k"):
        load_config()


def test_dotted_overrides_are_validated():
    assert load_config(overrides={"retrieval.k": 3}).retrieval.k == 3
    with pytest.raises(ConfigError, match="retrieval.nope"):
        load_config(overrides={"retrieval.nope": 3})
    with pytest.raises(ConfigError, match="retrieval.k"):
        load_config(overrides={"retrieval.k": -1})


@pytest.mark.parametrize("name", ["default.yaml", "vllm.yaml"])
def test_shipped_settings_overlays_are_valid(name):
    load_config(configs_dir() / name)


def test_missing_or_broken_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("retrieval: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
