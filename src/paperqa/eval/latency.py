"""Latency bookkeeping: per-stage samples, percentiles, throughput.

Stages are whatever the API reports (``search_timed`` gives ``embed_query``, ``dense``,
``bm25``, ``fuse``, ``total``; answers add ``retrieval``, ``first_token``, ``answer``); the
harness keeps them all rather than a fixed list, so a new stage shows up in reports by itself.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np
from pydantic import BaseModel


class LatencySummary(BaseModel):
    """Milliseconds; percentiles by linear interpolation (numpy's default)."""

    n: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    max_ms: float


def summarize(samples_s: Sequence[float]) -> LatencySummary | None:
    if not samples_s:
        return None
    ms = np.asarray(samples_s, dtype=float) * 1000.0
    return LatencySummary(
        n=int(ms.size),
        mean_ms=float(ms.mean()),
        p50_ms=float(np.percentile(ms, 50)),
        p95_ms=float(np.percentile(ms, 95)),
        max_ms=float(ms.max()),
    )


class StageTimes:
    """Samples in seconds per stage name."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)

    def add(self, timings_s: Mapping[str, float | None], prefix: str = "") -> None:
        for stage, seconds in timings_s.items():
            if seconds is not None:
                self.samples[prefix + stage].append(float(seconds))

    def summary(self) -> dict[str, LatencySummary]:
        return {stage: s for stage, values in self.samples.items() if (s := summarize(values)) is not None}

    def raw(self) -> dict[str, list[float]]:
        return {stage: list(values) for stage, values in self.samples.items()}


@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    """``with stopwatch() as t: ...`` then ``t["s"]`` holds the elapsed seconds."""
    box: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["s"] = time.perf_counter() - start
