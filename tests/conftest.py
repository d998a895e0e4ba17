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


# ----- a real vLLM server (vLLM's CPU build serving SmolLM2-135M-Instruct; tests marked `vllm`) --------

import json  # noqa: E402
import socket  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import dataclass  # noqa: E402


@dataclass
class RealVLLM:
    """A real vLLM OpenAI-compatible server: ``base_url`` and ``model`` go in ``llm.*``.

    ``owned`` servers were started by this test session (``paperqa.vllm_cpu.serve``) and are stopped
    by PID at its end; a server given by ``VLLM_TEST_BASE_URL`` is only used, never stopped or killed.
    """

    base_url: str
    model: str
    owned: bool
    port: int | None = None
    pid: int | None = None

    def models(self) -> dict:
        with urllib.request.urlopen(self.base_url.rstrip("/") + "/models", timeout=30) as response:
            return json.load(response)

    def metrics(self) -> str:
        root = self.base_url.rstrip("/").removesuffix("/v1")
        with urllib.request.urlopen(root + "/metrics", timeout=30) as response:
            return response.read().decode("utf-8")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_private_vllm() -> RealVLLM:
    """A server of this session's own on a free port (set-up reused from the user cache, done if missing)."""
    from paperqa import vllm_cpu

    record = vllm_cpu.serve(port=free_port())
    return RealVLLM(record.base_url, record.model, owned=True, port=record.port, pid=record.pid)


@pytest.fixture(scope="session")
def real_vllm() -> Iterator[RealVLLM]:
    """The real vLLM server for the session: ``VLLM_TEST_BASE_URL`` when set (not a PAPERQA_ name: that
    prefix is for config keys), else one started here with ``paperqa.vllm_cpu`` and stopped by PID."""
    url = os.environ.get("VLLM_TEST_BASE_URL")
    if url:
        with urllib.request.urlopen(url.rstrip("/") + "/models", timeout=30) as response:
            served = [card["id"] for card in json.load(response)["data"]]
        yield RealVLLM(url.rstrip("/"), served[0], owned=False)
        return
    server = start_private_vllm()
    try:
        yield server
    finally:
        from paperqa import vllm_cpu

        vllm_cpu.stop(server.port)
