"""Evaluation datasets: BEIR retrieval sets and question-answer sets in JSON Lines.

BEIR layout (https://github.com/beir-cellar/beir): ``corpus.jsonl`` (``_id``, ``title``, ``text``),
``queries.jsonl`` (``_id``, ``text``) and relevance judgements as ``qrels/<split>.tsv`` or
``qrels_<split>.tsv`` (``query-id``, ``corpus-id``, ``score`` with a header line). The corpus is
read by paperqa's own loader at ingest time, which keeps BEIR ``_id`` as the ``paper_id``, so
qrels ids are paper ids.

QA sets: one JSON object per line with ``question``, ``type`` (``lookup`` | ``aggregate`` |
``unanswerable``), gold papers as ``gold_ids`` (paper ids) and/or ``gold_titles`` (exact
titles, resolved against the loaded corpus with :func:`paperqa.sources.title_key`, so the file
stays valid if id rules change), and ``key_facts`` (strings or numbers the answer must state).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from ..errors import DatasetError
from ..models import Paper


class BeirDataset(BaseModel):
    """The queries of one split that have judgements, and the judgements."""

    name: str
    root: Path
    corpus_path: Path
    split: str
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    @property
    def kind(self) -> str:
        return "beir"


class QAItem(BaseModel):
    id: str
    question: str = Field(min_length=1)
    type: Literal["lookup", "aggregate", "unanswerable"]
    gold_ids: list[str] = Field(default_factory=list)
    gold_titles: list[str] = Field(default_factory=list)
    key_facts: list[str | int | float] = Field(default_factory=list)
    note: str | None = None

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


class QADataset(BaseModel):
    name: str
    path: Path
    corpus_paths: list[Path]
    items: list[QAItem]

    @property
    def kind(self) -> str:
        return "qa"


def is_beir_dir(path: Path) -> bool:
    return path.is_dir() and (path / "corpus.jsonl").is_file() and (path / "queries.jsonl").is_file()


def qrels_path(root: Path, split: str) -> Path:
    """``qrels/<split>.tsv`` (BEIR) or ``qrels_<split>.tsv`` (flattened copies)."""
    for candidate in (root / "qrels" / f"{split}.tsv", root / f"qrels_{split}.tsv"):
        if candidate.is_file():
            return candidate
    available = sorted(p.name for p in [*root.glob("qrels_*.tsv"), *root.glob("qrels/*.tsv")])
    raise DatasetError(f"{root}: no qrels for split '{split}' (found: {', '.join(available) or 'none'})")


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row or (number == 1 and not row[-1].strip().lstrip("-").isdigit()):
                continue  # blank line or header
            if len(row) < 3:
                raise DatasetError(f"{path}:{number}: expected query-id, corpus-id, score")
            try:
                grade = int(row[-1])
            except ValueError:
                raise DatasetError(f"{path}:{number}: score '{row[-1]}' is not an integer") from None
            qrels.setdefault(row[0].strip(), {})[row[-2].strip()] = grade
    return qrels


def read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for number, record in _jsonl(path):
        if "_id" not in record or "text" not in record:
            raise DatasetError(f"{path}:{number}: a query needs '_id' and 'text'")
        queries[str(record["_id"])] = str(record["text"])
    return queries


def load_beir(path: str | Path, split: str = "test", limit: int | None = None) -> BeirDataset:
    """The judged queries of ``split`` (first ``limit`` by file order when given)."""
    root = Path(path)
    if not is_beir_dir(root):
        raise DatasetError(f"{root}: not a BEIR folder (needs corpus.jsonl and queries.jsonl)")
    qrels = read_qrels(qrels_path(root, split))
    all_queries = read_queries(root / "queries.jsonl")
    missing = [qid for qid in qrels if qid not in all_queries]
    if missing:
        raise DatasetError(f"{root}: qrels name queries absent from queries.jsonl: {', '.join(missing[:5])}")
    queries = {qid: text for qid, text in all_queries.items() if qid in qrels}
    if limit is not None:
        queries = dict(list(queries.items())[:limit])
    return BeirDataset(
        name=f"{root.name}-{split}",
        root=root,
        corpus_path=root / "corpus.jsonl",
        split=split,
        queries=queries,
        qrels={qid: qrels[qid] for qid in queries},
    )


def load_qa(path: str | Path, corpus_paths: Iterable[str | Path] | None = None) -> QADataset:
    """Read a QA set; ``corpus_paths`` default to the bundled corpus (what the bundled set is about)."""
    from ..sources import bundled_corpus_paths

    file = Path(path)
    items: list[QAItem] = []
    seen: set[str] = set()
    for number, record in _jsonl(file):
        record.setdefault("id", f"line{number}")
        try:
            item = QAItem(**record)
        except ValidationError as exc:
            raise DatasetError(f"{file}:{number}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
        if item.id in seen:
            raise DatasetError(f"{file}:{number}: duplicate id '{item.id}'")
        if item.answerable and not (item.gold_ids or item.gold_titles):
            raise DatasetError(f"{file}:{number}: an answerable question needs gold_ids or gold_titles")
        if not item.answerable and (item.gold_ids or item.gold_titles):
            raise DatasetError(f"{file}:{number}: an unanswerable question cannot have gold papers")
        seen.add(item.id)
        items.append(item)
    paths = [Path(p) for p in corpus_paths] if corpus_paths else bundled_corpus_paths()
    return QADataset(name=file.stem, path=file, corpus_paths=paths, items=items)


def resolve_gold(dataset: QADataset, papers: Iterable[Paper]) -> QADataset:
    """Gold titles -> paper ids of the loaded corpus; every gold id must exist in it.

    Raises :class:`DatasetError` listing each unknown id or title, because a gold paper that
    is not in the index would silently cap recall below 1.
    """
    from ..sources import title_key

    papers = list(papers)
    ids = {p.paper_id for p in papers}
    by_title = {title_key(p.title): p.paper_id for p in papers}
    problems: list[str] = []
    resolved: list[QAItem] = []
    for item in dataset.items:
        gold = list(item.gold_ids)
        problems += [f"{item.id}: unknown paper id '{g}'" for g in gold if g not in ids]
        for title in item.gold_titles:
            paper_id = by_title.get(title_key(title))
            if paper_id is None:
                problems.append(f"{item.id}: no paper titled '{title}'")
            elif paper_id not in gold:
                gold.append(paper_id)
        resolved.append(item.model_copy(update={"gold_ids": gold}))
    if problems:
        raise DatasetError(f"{dataset.path}: gold papers not in the corpus: " + "; ".join(problems))
    return dataset.model_copy(update={"items": resolved})


def _jsonl(path: Path) -> Iterable[tuple[int, dict]]:
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not valid JSON: {exc.msg}") from None
            if not isinstance(record, dict):
                raise DatasetError(f"{path}:{number}: expected a JSON object")
            yield number, record
