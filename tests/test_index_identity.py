"""One index identity: the manifest stores it, opening checks it (format version included), and
every cache key (bundled corpus folder, eval index pool) derives from it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperqa import IndexFormatError, IndexMismatchError, PaperQA
from paperqa.api import default_index_dir
from paperqa.cli import app
from paperqa.config import load_config
from paperqa.embedding import DEFAULT_MODEL_ID
from paperqa.eval.runner import index_key
from paperqa.index_store import FORMAT_VERSION, IndexIdentity, IndexStore, index_cache_key


def _copy(bundled_index_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "index"
    shutil.copytree(bundled_index_dir, folder)
    live = folder / "versions" / (folder / "CURRENT").read_text().strip() / "manifest.json"
    return folder, live


def test_the_manifest_stores_the_identity_of_the_config(bundled_index_dir) -> None:
    manifest = IndexStore.open(bundled_index_dir).manifest
    # index.type auto (the default) is recorded as the type it built: flat for the bundled corpus.
    assert manifest.identity() == IndexIdentity.of(load_config(), DEFAULT_MODEL_ID, index_type="flat")
    assert manifest.format_version == FORMAT_VERSION


@pytest.mark.parametrize(("found", "advice"), [(FORMAT_VERSION + 1, "upgrade paperqa"), (0, "re-ingest")])
def test_an_index_in_another_format_is_refused_with_what_to_do(bundled_index_dir, tmp_path, embedder, found,
                                                               advice) -> None:
    folder, live = _copy(bundled_index_dir, tmp_path)
    data = json.loads(live.read_text())
    live.write_text(json.dumps(data | {"format_version": found}))
    with pytest.raises(IndexFormatError, match=advice):
        PaperQA(folder, embedder=embedder)
    result = CliRunner().invoke(app, ["info", "--index-dir", str(folder)])
    assert result.exit_code == 2 and f"format {found}" in result.output


def test_a_format_1_manifest_without_newer_identity_fields_still_opens(bundled_index_dir, tmp_path, embedder) -> None:
    folder, live = _copy(bundled_index_dir, tmp_path)
    data = json.loads(live.read_text())
    data.pop("text_prefix")
    live.write_text(json.dumps(data))
    assert PaperQA(folder, embedder=embedder).info().papers == 123


def test_a_different_passage_prefix_is_a_different_index(bundled_index_dir, tmp_path, embedder) -> None:
    folder, _ = _copy(bundled_index_dir, tmp_path)
    with pytest.raises(IndexMismatchError, match="text prefix"):
        PaperQA(folder, overrides={"embedding.text_prefix": "passage: "}, embedder=embedder)
    adopted = PaperQA(folder, overrides={"embedding.text_prefix": "passage: "}, embedder=embedder,
                      use_index_settings=True)
    assert adopted.settings.embedding.text_prefix == ""


def test_cache_keys_come_from_the_identity_and_ignore_query_time_settings(tmp_path) -> None:
    base = load_config()
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("{}\n")

    def keys(overrides: dict) -> tuple[str, str]:
        s = base.with_overrides(overrides)
        return default_index_dir(s, DEFAULT_MODEL_ID).name, index_key(s, [corpus])

    plain = keys({})
    assert plain[0] == f"bundled-{index_cache_key(base, DEFAULT_MODEL_ID, corpus='bundled')}"
    for query_time in ({"retrieval.k": 3}, {"embedding.batch_size": 8}, {"answer.mode": "extractive"}):
        assert keys(query_time) == plain, query_time
    for index_time in ({"embedding.text_prefix": "passage: "}, {"chunking.chunk_size": 128},
                       {"index.type": "hnsw"}, {"index.hnsw_m": 16}, {"ingest.min_abstract_chars": 50},
                       {"embedding.dtype": "float32"}, {"embedding.sentence_vectors": "none"}):
        changed = keys(index_time)
        assert changed[0] != plain[0] and changed[1] != plain[1], index_time
