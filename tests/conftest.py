"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_vllm import FakeVLLM


@pytest.fixture
def fake_vllm() -> Iterator[FakeVLLM]:
    """A running stand-in vLLM server (see tests/fake_vllm.py); ``.base_url`` goes in ``llm.base_url``."""
    server = FakeVLLM().start()
    try:
        yield server
    finally:
        server.stop()


# ----- real index fixtures (the real model, FAISS and BM25; built once per test session) -------

import os  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def embedder():
    """The default embedding model, loaded once: every test that embeds shares it."""
    from paperqa.config import load_config
    from paperqa.embedding import Embedder

    return Embedder(load_config().embedding).load()


@pytest.fixture(scope="session")
def bundled_index_dir(tmp_path_factory, embedder) -> Path:
    """An index of the bundled corpus, built once; tests copy it (``bundled_qa``) before writing."""
    from paperqa.api import PaperQA
    from paperqa.sources import bundled_corpus_paths

    folder = tmp_path_factory.mktemp("bundled-index")
    PaperQA(folder, embedder=embedder).ingest(bundled_corpus_paths())
    return folder


@pytest.fixture
def bundled_qa(bundled_index_dir, tmp_path, embedder):
    """A PaperQA on a private copy of the bundled index, free to ingest into."""
    from paperqa.api import PaperQA

    folder = tmp_path / "index"
    shutil.copytree(bundled_index_dir, folder)
    return PaperQA(folder, embedder=embedder)
