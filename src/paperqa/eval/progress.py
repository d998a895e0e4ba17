"""A tqdm progress bar on stderr that can be switched off (tests, --quiet)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress_bar(items: Iterable[T], total: int | None = None, desc: str = "", enabled: bool = True) -> Iterator[T]:
    if not enabled:
        yield from items
        return
    yield from tqdm(items, total=total, desc=desc, unit="q", dynamic_ncols=True, leave=True)
