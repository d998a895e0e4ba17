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
