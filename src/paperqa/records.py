"""The papers and passages of an index version, read from their JSON-lines files on demand.

An ingest of a million passages must not hold them all as Python objects (2-3 KB each, measured
with tracemalloc): the version's ``papers.jsonl`` and ``chunks.jsonl`` are the storage, and these
classes keep the byte span of each line (16 bytes a record) and parse a record when asked.
Hand-rolled because no kept library gives random access to a JSON-lines file (``jsonlines`` reads
forward only; llama-index's document stores keep every node in a dict), and the files' format is
the index's own, so it stays readable by anything that reads JSON lines.
"""

from __future__ import annotations

import array
import json
import os
import re
import weakref
from collections.abc import Iterator, Mapping, Sequence, ValuesView
from functools import lru_cache
from pathlib import Path
from typing import Generic, TypeVar, overload

import numpy as np
from pydantic import BaseModel, ValidationError

from .errors import IndexCorruptError
from .models import Chunk, Paper

M = TypeVar("M", bound=BaseModel)
_BLOCK = 1 << 24  # bytes read at a time while finding line ends
_CACHE = 4096  # parsed records kept per file (a question reads tens)
# The writer (pydantic's model_dump_json) puts ``paper_id`` first: read it without parsing the line.
_PAPER_ID = re.compile(rb'^\{"paper_id":("(?:[^"\\]|\\.)*")')


T = TypeVar("T")


class LazySequence(Sequence[T], Generic[T]):
    """A read-only sequence whose items are made when read (``_item``): indexes and slices as a list's."""

    @overload
    def __getitem__(self, i: int) -> T: ...

    @overload
    def __getitem__(self, i: slice) -> list[T]: ...

    def __getitem__(self, i: int | slice) -> T | list[T]:
        n = len(self)
        if isinstance(i, slice):
            return [self._item(j) for j in range(*i.indices(n))]
        if not -n <= i < n:
            raise IndexError(f"item {i} of {n} in {type(self).__name__}")
        return self._item(i % n)

    def _item(self, i: int) -> T:
        raise NotImplementedError


def line_spans(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` byte offsets of the non-blank lines of ``path`` (ends exclude the newline)."""
    ends, size = [], 0
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            ends.append(np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10).astype(np.int64) + size)
            size += len(block)
    newline = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)
    if size and (not len(newline) or newline[-1] != size - 1):
        newline = np.append(newline, size)  # a last line without its newline
    if not len(newline):  # an empty file
        return newline, newline
    starts = np.concatenate([np.zeros(1, dtype=np.int64), newline[:-1] + 1])
    keep = newline - starts > 0
    if not keep.all():  # blank lines (a hand-edited file): not records
        with open(path, "rb") as handle:
            for i in np.flatnonzero(keep):
                handle.seek(int(starts[i]))
                keep[i] = bool(handle.read(int(newline[i] - starts[i])).strip())
    return starts[keep], newline[keep]


class JsonlRecords(LazySequence[M]):
    """The records of a JSON-lines file as a read-only sequence; a record is parsed when read."""

    def __init__(self, path: Path, model: type[M]) -> None:
        self.path, self.model = path, model
        self._starts, self._ends = line_spans(path)
        # The descriptor stays open: a later ingest may prune this version's folder while a reader
        # still serves it (the file lives on until closed), as the memory-mapped vectors do.
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)
        self._cached = lru_cache(maxsize=_CACHE)(self._read)

    def __len__(self) -> int:
        return len(self._starts)

    def _item(self, i: int) -> M:
        return self._cached(i)

    def __iter__(self) -> Iterator[M]:
        """Every record in file order, streamed (none of them cached)."""
        with open(self.path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield self._parse(line, number)

    def raw(self, i: int) -> bytes:
        """Line ``i`` as stored, without its newline (copied into the next version unparsed)."""
        return os.pread(self._fd, int(self._ends[i] - self._starts[i]), int(self._starts[i]))

    def _read(self, i: int) -> M:
        return self._parse(self.raw(i), None)

    def _parse(self, line: bytes, number: int | None) -> M:
        try:
            return self.model.model_validate_json(line)
        except ValidationError as exc:
            where = f"line {number}" if number is not None else f"record {line[:60]!r}"
            raise IndexCorruptError(f"{self.path} {where} is not a valid {self.model.__name__}: "
                                    f"{exc.errors()[0]['msg']}; restore the folder from a backup or re-ingest") from exc


class _StreamedValues(ValuesView[Paper]):
    def __init__(self, mapping: PaperRecords) -> None:
        super().__init__(mapping)
        self._records = mapping.records

    def __iter__(self) -> Iterator[Paper]:
        return iter(self._records)


class PaperRecords(Mapping[str, Paper]):
    """A version's papers by id, read from ``papers.jsonl`` on demand (ids kept, records not)."""

    def __init__(self, path: Path) -> None:
        self.records = JsonlRecords(path, Paper)
        self._rows: dict[str, int] = {}
        for row in range(len(self.records)):
            line = self.records.raw(row)
            found = _PAPER_ID.match(line)
            paper_id = json.loads(found.group(1)) if found else self.records[row].paper_id
            self._rows.setdefault(paper_id, row)

    def __getitem__(self, paper_id: str) -> Paper:
        return self.records[self._rows[paper_id]]

    def __contains__(self, paper_id: object) -> bool:
        return paper_id in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def values(self) -> ValuesView[Paper]:
        """Streamed from the file in order (one read, not one lookup a paper)."""
        return _StreamedValues(self)


def chunk_records(path: Path) -> JsonlRecords[Chunk]:
    """A version's passages, in row (FAISS id) order, read from ``chunks.jsonl`` on demand."""
    return JsonlRecords(path, Chunk)


class PaperSpill(LazySequence[Paper]):
    """Papers parsed from input files, written to a scratch JSON-lines file as they are read.

    An ingest's parse keeps only what deduplication needs (ids and title keys, in
    :mod:`paperqa.sources`) and the byte span of each paper here; a paper merged with a later
    duplicate is kept in memory as merged (duplicates are few). Readable once :meth:`finish` ran.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = open(path, "wb")  # noqa: SIM115 -- closed by finish()
        self._ends = array.array("q", [0])  # byte offset of each paper's line, 8 bytes a paper
        self._merged: dict[int, Paper] = {}
        self._fd: int | None = None
        self._cached = lru_cache(maxsize=_CACHE)(self._read)

    def append(self, paper: Paper) -> None:
        line = paper.model_dump_json().encode() + b"\n"
        self._handle.write(line)
        self._ends.append(self._ends[-1] + len(line))

    def __setitem__(self, i: int, paper: Paper) -> None:
        self._merged[i] = paper

    def __delitem__(self, i: slice) -> None:
        """Drop the papers from ``i.start`` on (a file that failed half-way contributes nothing)."""
        size = i.indices(len(self))[0]
        if i.stop is not None or i.step is not None or self._fd is not None:
            raise ValueError("only the tail of an unfinished spill can be dropped")
        self._handle.flush()
        self._handle.truncate(self._ends[size])
        self._handle.seek(self._ends[size])
        del self._ends[size + 1 :]
        self._merged = {k: v for k, v in self._merged.items() if k < size}
        self._cached.cache_clear()

    def finish(self) -> PaperSpill:
        if self._fd is None:
            self._handle.close()
            self._fd = os.open(self.path, os.O_RDONLY)
            weakref.finalize(self, os.close, self._fd)
        return self

    def __len__(self) -> int:
        return len(self._ends) - 1

    def _item(self, i: int) -> Paper:
        return self._merged[i] if i in self._merged else self._cached(i)

    def _read(self, i: int) -> Paper:
        if self._fd is None:  # read during the parse (a title shared by two records): flush first
            self._handle.flush()
            with open(self.path, "rb") as handle:
                handle.seek(self._ends[i])
                return Paper.model_validate_json(handle.read(self._ends[i + 1] - self._ends[i]))
        return Paper.model_validate_json(os.pread(self._fd, self._ends[i + 1] - self._ends[i], self._ends[i]))

    def __iter__(self) -> Iterator[Paper]:
        self.finish()
        with open(self.path, "rb") as handle:
            for i, line in enumerate(handle):
                yield self._merged[i] if i in self._merged else Paper.model_validate_json(line)


class Subset(LazySequence[M]):
    """Some rows of a sequence (an ingest's new papers among those it parsed), in order, not copied."""

    def __init__(self, items: Sequence[M], rows: Sequence[int]) -> None:
        self.items, self.rows = items, np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def _item(self, i: int) -> M:
        return self.items[int(self.rows[i])]
