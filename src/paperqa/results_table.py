"""The results table: every extracted :class:`~paperqa.models.ResultRow`, stored and queried.

Storage is one SQLite file, ``results.sqlite``, inside each index version folder. It is written
into the new version before ``CURRENT`` is swapped, so it is atomic with the rest of the index,
and incrementally: a new version starts from a copy of the previous version's file and only the
new papers' rows are added (old papers are never re-extracted).

SQLite rather than DuckDB: it is in the standard library (no dependency, no native wheel), one
file per version fits the copy-then-swap layout, and the queries are point lookups on
(dataset, metric) served by an index in well under a millisecond at 11.5k papers (measured:
``benchmarks/results_store.py``). DuckDB's columnar engine pays off on large scans and
aggregations, which this table never needs.

An index built before this module (no ``results.sqlite`` in its version) still works: its rows
are extracted in memory the first time the table is used (about 30 s for 11.5k abstracts, once
per process), and the next ingest writes the file.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import PaperQAError
from .lexicon import Lexicon, get_lexicon, normalise
from .models import Paper, ResultRow
from .results import EXTRACTOR_VERSION

RESULTS_FILE = "results.sqlite"
SCHEMA_VERSION = 1

_COLUMNS = (
    "paper_id", "model", "dataset", "dataset_surface", "metric", "metric_surface", "value", "unit",
    "is_delta", "qualifiers", "sentence", "start_char", "end_char", "value_text", "extractor",
)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    paper_id TEXT NOT NULL,
    model TEXT,
    dataset TEXT NOT NULL,
    dataset_key TEXT NOT NULL,
    dataset_surface TEXT NOT NULL DEFAULT '',
    metric TEXT,
    metric_key TEXT,
    metric_surface TEXT NOT NULL DEFAULT '',
    value REAL,
    unit TEXT,
    is_delta INTEGER NOT NULL DEFAULT 0,
    qualifiers TEXT NOT NULL DEFAULT '[]',
    sentence TEXT NOT NULL DEFAULT '',
    start_char INTEGER NOT NULL DEFAULT 0,
    end_char INTEGER NOT NULL DEFAULT 0,
    value_text TEXT NOT NULL DEFAULT '',
    extractor TEXT NOT NULL DEFAULT 'rules'
);
CREATE INDEX IF NOT EXISTS results_dataset_metric ON results (dataset_key, metric_key);
CREATE INDEX IF NOT EXISTS results_metric ON results (metric_key);
CREATE INDEX IF NOT EXISTS results_paper ON results (paper_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
PRAGMA user_version = {SCHEMA_VERSION};
"""


class ResultsStoreError(PaperQAError):
    """The results file of an index version cannot be read or written."""


def write_results(path: Path, rows: Iterable[ResultRow], base: Path | None = None,
                  meta: dict[str, str] | None = None) -> int:
    """Write ``path``: a copy of ``base`` (the previous version's file) plus ``rows``; returns the row count.

    ``path`` lives in a version folder that is not live yet, so a crash here leaves nothing visible.
    """
    try:
        if base is not None and base.is_file():
            shutil.copyfile(base, path)
        with sqlite3.connect(path) as db:
            db.executescript(_SCHEMA)
            db.executemany(
                f"INSERT INTO results ({', '.join(_COLUMNS)}, dataset_key, metric_key) "
                f"VALUES ({', '.join('?' for _ in range(len(_COLUMNS) + 2))})",
                (_to_db(r) for r in rows),
            )
            for key, value in {"extractor_version": EXTRACTOR_VERSION, **(meta or {})}.items():
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
            count = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        db.close()
    except sqlite3.Error as exc:
        raise ResultsStoreError(f"cannot write the results table {path}: {exc}") from exc
    return count


def read_meta(path: Path) -> dict[str, str]:
    """What wrote the table: extractor version, lexicon fingerprint."""
    db = _connect_ro(path)
    try:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.Error as exc:
        raise ResultsStoreError(f"cannot read the results table {path}: {exc}") from exc
    finally:
        db.close()


def count_results(path: Path) -> int | None:
    """Rows with a figure in a stored table, or None when it cannot be read."""
    try:
        db = _connect_ro(path)
    except ResultsStoreError:
        return None
    try:
        return int(db.execute("SELECT COUNT(*) FROM results WHERE value IS NOT NULL").fetchone()[0])
    except sqlite3.Error:
        return None
    finally:
        db.close()


def _to_db(r: ResultRow) -> tuple:
    return (
        r.paper_id, r.model, r.dataset, r.dataset_surface, r.metric, r.metric_surface, r.value, r.unit,
        int(r.is_delta), json.dumps(r.qualifiers), r.sentence, r.start_char, r.end_char, r.value_text,
        r.extractor, normalise(r.dataset), normalise(r.metric) if r.metric else None,
    )


def _from_db(record: sqlite3.Row, titles: dict[str, str]) -> ResultRow:
    data = {c: record[c] for c in _COLUMNS}
    data["is_delta"] = bool(data["is_delta"])
    data["qualifiers"] = json.loads(data["qualifiers"] or "[]")
    data["title"] = titles.get(data["paper_id"], "")
    return ResultRow(**data)


def _connect_ro(path: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise ResultsStoreError(f"cannot open the results table {path}: {exc}") from exc


class ResultsTable:
    """Every result of an index version; queries are exhaustive (all papers), not top-k.

    Names given to :meth:`query` and :meth:`mentions` are resolved through the lexicon, fuzzily
    ("ade 20k", "COCO box AP", "top-1"); a name the lexicon does not know is matched on its
    normalised form, so datasets found only by the "the X dataset" rule stay reachable.
    """

    def __init__(self, db: sqlite3.Connection, lexicon: Lexicon, titles: dict[str, str] | None = None,
                 source: str = ":memory:") -> None:
        db.row_factory = sqlite3.Row
        self._db = db
        self._lock = threading.Lock()  # one connection shared by the UI's worker threads
        self.lexicon = lexicon
        self.titles = titles or {}
        self.source = source

    # ----- construction ----------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, lexicon: Lexicon | None = None, titles: dict[str, str] | None = None) -> ResultsTable:
        """The table stored in an index version (read-only)."""
        db = _connect_ro(path)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            db.execute("SELECT 1 FROM results LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise ResultsStoreError(f"{path} is not a results table: {exc}") from exc
        if version != SCHEMA_VERSION:
            raise ResultsStoreError(f"{path} has schema version {version}; this paperqa reads {SCHEMA_VERSION}")
        return cls(db, lexicon or get_lexicon(), titles, str(path))

    @classmethod
    def from_rows(cls, rows: Iterable[ResultRow], lexicon: Lexicon | None = None,
                  titles: dict[str, str] | None = None) -> ResultsTable:
        """An in-memory table (an index built before results existed, or tests)."""
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.executescript(_SCHEMA)
        db.executemany(
            f"INSERT INTO results ({', '.join(_COLUMNS)}, dataset_key, metric_key) "
            f"VALUES ({', '.join('?' for _ in range(len(_COLUMNS) + 2))})",
            (_to_db(r) for r in rows),
        )
        db.commit()
        return cls(db, lexicon or get_lexicon(), titles)

    @classmethod
    def from_papers(cls, papers: Iterable[Paper], lexicon: Lexicon | None = None) -> ResultsTable:
        from .results import RuleExtractor

        papers = list(papers)
        lexicon = lexicon or get_lexicon()
        return cls.from_rows(RuleExtractor(lexicon).extract_many(papers), lexicon,
                             {p.paper_id: p.title for p in papers})

    # ----- queries ---------------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[ResultRow]:
        with self._lock:
            records = self._db.execute(sql, params).fetchall()
        return [_from_db(r, self.titles) for r in records]

    def _dataset_key(self, dataset: str) -> str:
        return normalise(self.lexicon.resolve_dataset(dataset) or dataset)

    def _metric_key(self, metric: str) -> str:
        return normalise(self.lexicon.resolve_metric(metric) or metric)

    def query(
        self, dataset: str | None = None, metric: str | None = None, min_value: float | None = None,
        max_value: float | None = None, paper_ids: Iterable[str] | None = None, include_deltas: bool = False,
        include_mentions: bool = False,
    ) -> list[ResultRow]:
        """Every row matching the filters, best first by the metric's direction.

        Rows with a value come first, sorted best-first (higher is better unless the lexicon says
        lower, e.g. FID, error rates); deltas ("+3.2 mIoU") are left out unless
        ``include_deltas``, and then come after the absolute figures; ``include_mentions`` adds the
        value-less rows of papers that name the dataset without a figure, last.
        """
        where: list[str] = ["1 = 1"]
        params: list[object] = []
        if dataset:
            where.append("dataset_key = ?")
            params.append(self._dataset_key(dataset))
        if metric:
            where.append("metric_key = ?")
            params.append(self._metric_key(metric))
        if not include_deltas:
            where.append("is_delta = 0")
        value_filter = ["value IS NOT NULL"]
        if min_value is not None:
            value_filter.append("value >= ?")
            params.append(float(min_value))
        if max_value is not None:
            value_filter.append("value <= ?")
            params.append(float(max_value))
        if paper_ids is not None:
            ids = list(dict.fromkeys(paper_ids))
            where.append(f"paper_id IN ({', '.join('?' for _ in ids)})" if ids else "0 = 1")
            params.extend(ids)
        value_sql = " AND ".join(value_filter)
        if include_mentions and min_value is None and max_value is None:
            value_sql = f"({value_sql} OR value IS NULL)"
        rows = self._rows(f"SELECT * FROM results WHERE {' AND '.join(where)} AND {value_sql}", params)
        return self.sort(rows)

    def sort(self, rows: Iterable[ResultRow]) -> list[ResultRow]:
        """Absolute figures best-first (by each row's metric direction), then deltas, then mentions."""
        def key(r: ResultRow) -> tuple:
            if r.value is None:
                return (2, 0.0, r.paper_id)
            sign = 1.0 if self.lexicon.direction(r.metric) == "lower" else -1.0
            return (1 if r.is_delta else 0, sign * r.value, r.paper_id)

        return sorted(rows, key=key)

    def mentions(self, dataset: str, exclude_with_figure: bool = True) -> list[ResultRow]:
        """Papers that name ``dataset`` without any figure for it: one value-less row per paper."""
        key = self._dataset_key(dataset)
        rows = self._rows("SELECT * FROM results WHERE dataset_key = ? AND value IS NULL", (key,))
        if exclude_with_figure:
            with self._lock:
                with_figure = {r[0] for r in self._db.execute(
                    "SELECT DISTINCT paper_id FROM results WHERE dataset_key = ? AND value IS NOT NULL", (key,))}
            rows = [r for r in rows if r.paper_id not in with_figure]
        seen: set[str] = set()
        return [r for r in rows if not (r.paper_id in seen or seen.add(r.paper_id))]  # type: ignore[func-returns-value]

    def datasets_of(self, paper_ids: Iterable[str]) -> dict[str, set[str]]:
        """The datasets each paper names (with or without a figure), in one query."""
        ids = list(dict.fromkeys(paper_ids))
        found: dict[str, set[str]] = {pid: set() for pid in ids}
        with self._lock:
            for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
                chunk = ids[start:start + 500]
                for pid, dataset in self._db.execute(
                        f"SELECT DISTINCT paper_id, dataset FROM results WHERE paper_id IN ({', '.join('?' for _ in chunk)})",
                        chunk):
                    found[pid].add(dataset)
        return found

    def for_paper(self, paper_id: str) -> list[ResultRow]:
        return self._rows("SELECT * FROM results WHERE paper_id = ? ORDER BY start_char, id", (paper_id,))

    def datasets(self) -> list[tuple[str, int]]:
        """(dataset, number of papers reporting a figure on it), most reported first."""
        with self._lock:
            return [(r[0], r[1]) for r in self._db.execute(
                "SELECT dataset, COUNT(DISTINCT paper_id) AS n FROM results WHERE value IS NOT NULL "
                "GROUP BY dataset ORDER BY n DESC, dataset")]

    def metrics(self, dataset: str | None = None) -> list[tuple[str, int]]:
        """(metric, number of papers reporting it), optionally on one dataset, most reported first."""
        sql = ("SELECT metric, COUNT(DISTINCT paper_id) AS n FROM results WHERE value IS NOT NULL "
               "AND metric IS NOT NULL")
        params: list[object] = []
        if dataset:
            sql += " AND dataset_key = ?"
            params.append(self._dataset_key(dataset))
        with self._lock:
            return [(r[0], r[1]) for r in self._db.execute(sql + " GROUP BY metric ORDER BY n DESC, metric", params)]

    def count(self, with_value: bool | None = None) -> int:
        """Rows in the table (``with_value``: only figures, or only mentions)."""
        sql = "SELECT COUNT(*) FROM results"
        if with_value is not None:
            sql += " WHERE value IS NOT NULL" if with_value else " WHERE value IS NULL"
        with self._lock:
            return int(self._db.execute(sql).fetchone()[0])

    def paper_ids(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT DISTINCT paper_id FROM results")}

    def close(self) -> None:
        with self._lock:
            self._db.close()
