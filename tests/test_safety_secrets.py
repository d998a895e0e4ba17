"""Issue 11 item 1: ``llm.api_key`` and ``ui.auth`` are secrets, never written to a report or printed."""

from __future__ import annotations

import json

from pydantic import SecretStr
from typer.testing import CliRunner

from paperqa.cli import app
from paperqa.config import load_config

API_KEY = "sk-test-SECRET"
PASSWORD = "u:SECRETPW"


def _tiny_qa(root):
    corpus = root / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in [
        {"_id": "d1", "title": "Graphene conductivity", "text": "Graphene sheets conduct electricity with very "
         "high electron mobility at room temperature, reaching 200000 cm2/Vs."},
        {"_id": "d2", "title": "Honeybee navigation", "text": "Forager bees communicate the direction and distance "
         "of flowers with a waggle dance performed inside the hive."},
    ]))
    qa = root / "qa.jsonl"
    qa.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "a", "question": "What electron mobility does graphene reach?", "type": "lookup", "gold_ids": ["d1"]},
        {"id": "b", "question": "How do bees share where flowers are?", "type": "lookup", "gold_ids": ["d2"]},
    ]))
    return corpus, qa


def test_eval_report_holds_no_secret(tmp_path, monkeypatch):
    """The issue's reproduction: secrets from the environment and from --set never reach disk or stdout."""
    corpus, qa = _tiny_qa(tmp_path)
    out = tmp_path / "X"
    monkeypatch.setenv("PAPERQA_LLM__API_KEY", API_KEY)
    monkeypatch.setenv("PAPERQA_UI__AUTH", PASSWORD)
    result = CliRunner().invoke(app, [
        "eval", str(qa), "--limit", "2", "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
        "--qa-corpus", str(corpus), "--quiet", "--set", "llm.api_key=sk-test-OTHER",
    ])
    assert result.exit_code == 0, result.output
    written = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "report.json" for p in written)
    for path in written + [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]:
        data = path.read_bytes()
        for secret in (API_KEY, "SECRETPW", "sk-test-OTHER"):
            assert secret.encode() not in data, f"{secret} written to {path}"
    for secret in (API_KEY, "SECRETPW", "sk-test-OTHER"):
        assert secret not in result.output


def test_secrets_are_secretstr_and_usable(monkeypatch):
    monkeypatch.setenv("PAPERQA_LLM__API_KEY", API_KEY)
    monkeypatch.setenv("PAPERQA_UI__AUTH", PASSWORD)
    settings = load_config()
    assert isinstance(settings.llm.api_key, SecretStr) and isinstance(settings.ui.auth, SecretStr)
    assert settings.llm.api_key.get_secret_value() == API_KEY
    assert settings.ui.auth.get_secret_value() == PASSWORD
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert API_KEY not in text and "SECRETPW" not in text
    # overrides keep the secret usable (with_overrides round-trips the settings)
    assert settings.with_overrides({"retrieval.k": 3}).llm.api_key.get_secret_value() == API_KEY
    from paperqa.config import redact_overrides

    assert redact_overrides({"llm.api_key": "x", "retrieval.k": 3}) == {"llm.api_key": "**********", "retrieval.k": 3}


def test_llm_client_sends_the_key(monkeypatch):
    from paperqa.llm import LLMClient

    monkeypatch.setenv("PAPERQA_LLM__API_KEY", API_KEY)
    settings = load_config(overrides={"llm.base_url": "http://127.0.0.1:9/v1", "llm.model": "m"})
    assert LLMClient(settings.llm).client.api_key == API_KEY
