"""The results table: stored in the index version, atomic and incremental, queried whole."""

from __future__ import annotations

import json
import sqlite3

import pytest

from paperqa.api import PaperQA
from paperqa.index_store import IndexStore
from paperqa.lexicon import get_lexicon
from paperqa.models import Paper, ResultRow
from paperqa.results_table import RESULTS_FILE, ResultsTable

PAPERS_A = [
    {"id": "2101.00001", "title": "AlphaSeg: a segmenter",
     "abstract": "We propose AlphaSeg for semantic segmentation. AlphaSeg attains 52.7 mIoU on ADE20K and "
                 "81.0% mIoU on Cityscapes val set."},
    {"id": "2101.00002", "title": "BetaNet: faster generators",
     "abstract": "We study image generation. BetaNet reaches an FID of 2.95 on FFHQ and 3.10 FID on "
                 "CIFAR-10, with 40M parameters."},
    {"id": "2101.00003", "title": "A study of segmentation benchmarks",
     "abstract": "We evaluate twelve segmentation models on ADE20K and Cityscapes and discuss their failure "
                 "modes in detail."},
]
PAPERS_B = [
    {"id": "2102.00004", "title": "GammaSeg: segmentation at scale",
     "abstract": "GammaSeg achieves 55.1% mIoU on ADE20K, improving the previous best by +2.4 mIoU."},
    {"id": "2102.00005", "title": "DeltaGAN",
     "abstract": "DeltaGAN obtains a FID of 1.80 on FFHQ at 1024x1024 resolution."},
]


def _jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def small_qa(tmp_path, embedder):
    qa = PaperQA(tmp_path / "index", embedder=embedder)
    qa.ingest([_jsonl(tmp_path / "a.jsonl", PAPERS_A)])
    return qa


def test_ingest_writes_the_table_into_the_version_folder(small_qa):
    store = small_qa.retriever.store
    assert store.results_path == store.version_dir / RESULTS_FILE
    assert store.results_path.is_file()
    info = small_qa.info()
    assert info.results == 4  # 52.7, 81.0, 2.95, 3.10
    rows = small_qa.results(dataset="ADE20K")
    assert [(r.paper_id, r.value, r.metric) for r in rows] == [("2101.00001", 52.7, "mIoU")]
    assert rows[0].title == "AlphaSeg: a segmenter"
    paper = small_qa.papers["2101.00001"]
    assert paper.abstract[rows[0].start_char:rows[0].end_char] == rows[0].sentence


def test_second_ingest_keeps_old_rows_and_adds_only_new_papers(small_qa, tmp_path, monkeypatch):
    first = small_qa.retriever.store
    extracted: list[str] = []
    original = small_qa._extract

    def spy(papers):
        extracted.extend(p.paper_id for p in papers)
        return original(papers)

    monkeypatch.setattr(small_qa, "_extract", spy)
    report = small_qa.ingest([_jsonl(tmp_path / "b.jsonl", PAPERS_B)])
    assert report.added == 2
    assert sorted(extracted) == ["2102.00004", "2102.00005"]  # old papers are not re-extracted
    second = small_qa.retriever.store
    assert second.version_dir != first.version_dir
    ade = small_qa.results(dataset="ade20k", metric="mIoU")
    assert [(r.paper_id, r.value) for r in ade] == [("2102.00004", 55.1), ("2101.00001", 52.7)]
    # the previous version's file is untouched: it still holds only the first papers
    old = ResultsTable.open(first.results_path, get_lexicon())
    assert old.paper_ids() == {"2101.00001", "2101.00002", "2101.00003"}


def test_reingest_of_known_papers_writes_nothing(small_qa, tmp_path):
    before = small_qa.retriever.store.version_dir
    small_qa.ingest([tmp_path / "a.jsonl"])
    assert small_qa.retriever.store.version_dir == before


def test_a_failed_write_leaves_the_previous_version_and_its_table(small_qa, tmp_path, monkeypatch):
    from paperqa import index_store

    before = small_qa.retriever.store.version_dir

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(index_store, "write_results", boom)
    with pytest.raises(OSError, match="disk full"):
        small_qa.ingest([_jsonl(tmp_path / "b.jsonl", PAPERS_B)])
    reopened = IndexStore.open(small_qa.index_dir)
    assert reopened.version_dir == before
    assert ResultsTable.open(reopened.results_path, get_lexicon()).count() > 0
    assert not [p for p in (small_qa.index_dir / "versions").iterdir() if p.name.startswith(".tmp")]


def test_index_without_a_results_file_is_extracted_in_memory_then_stored_on_next_ingest(small_qa, tmp_path,
                                                                                      embedder):
    # an index written before this feature: no results.sqlite in its live version
    store = small_qa.retriever.store
    store.results_path.unlink()
    old = PaperQA(small_qa.index_dir, embedder=embedder)
    assert old.info().results is None
    rows = old.results(dataset="FFHQ", metric="FID")
    assert [r.value for r in rows] == [2.95]
    assert old.info().results == 4  # counted from the in-memory table once it exists
    old.ingest([_jsonl(tmp_path / "b.jsonl", PAPERS_B)])
    new_store = old.retriever.store
    assert new_store.results_path is not None  # the next ingest stores every paper's rows
    stored = ResultsTable.open(new_store.results_path, get_lexicon())
    assert stored.paper_ids() == {"2101.00001", "2101.00002", "2101.00003", "2102.00004", "2102.00005"}


def test_a_table_written_with_another_lexicon_is_re_extracted(small_qa, tmp_path, embedder):
    extra = tmp_path / "extra.yaml"
    extra.write_text("datasets:\n  - {name: AlphaBench, aliases: [Alpha-Bench], area: test}\n", "utf-8")
    _jsonl(tmp_path / "c.jsonl", [{"id": "2103.00006", "title": "EpsilonNet",
                                    "abstract": "EpsilonNet scores 77.5% accuracy on Alpha-Bench."}])
    qa = PaperQA(small_qa.index_dir, embedder=embedder, overrides={"results.lexicon": [str(extra)]})
    rows = qa.results(dataset="alphabench")
    assert rows == []  # no paper names it yet, but the lexicon change did not break anything
    qa.ingest([tmp_path / "c.jsonl"])
    assert [r.value for r in qa.results(dataset="AlphaBench")] == [77.5]
    assert [r.value for r in qa.results(dataset="ADE20K")] == [52.7]


# ----- queries ----------------------------------------------------------------------------------


def _row(pid, dataset, metric, value, delta=False):
    return ResultRow(paper_id=pid, dataset=dataset, metric=metric, value=value, is_delta=delta,
                     sentence=f"{pid} {value}")


@pytest.fixture
def table():
    rows = [
        _row("p1", "FFHQ", "FID", 2.95), _row("p2", "FFHQ", "FID", 1.80), _row("p3", "FFHQ", "FID", 4.10),
        _row("p1", "ImageNet", "Top-1 Error", 18.0), _row("p2", "ImageNet", "Top-1 Error", 15.5),
        _row("p1", "ADE20K", "mIoU", 52.7), _row("p2", "ADE20K", "mIoU", 57.6), _row("p3", "ADE20K", "mIoU", 3.2, True),
        ResultRow(paper_id="p4", dataset="ADE20K", sentence="p4 names ADE20K"),
        _row("p5", "ImageNet", "Top-1 Accuracy", 84.7), _row("p6", "ImageNet", "Top-1 Accuracy", 87.1),
    ]
    return ResultsTable.from_rows(rows, titles={"p1": "Paper one"})


def test_lower_is_better_metrics_sort_ascending(table):
    assert [r.value for r in table.query(dataset="FFHQ", metric="FID")] == [1.80, 2.95, 4.10]
    assert [r.value for r in table.query(dataset="ImageNet", metric="top-1 error")] == [15.5, 18.0]


def test_higher_is_better_metrics_sort_descending_and_deltas_are_left_out(table):
    assert [r.value for r in table.query(dataset="ade 20k", metric="mean IoU")] == [57.6, 52.7]
    with_deltas = table.query(dataset="ADE20K", metric="mIoU", include_deltas=True)
    assert [(r.value, r.is_delta) for r in with_deltas] == [(57.6, False), (52.7, False), (3.2, True)]


def test_min_and_max_constraints(table):
    assert [r.value for r in table.query(dataset="ImageNet-1K", metric="top-1", min_value=85)] == [87.1]
    assert [r.value for r in table.query(dataset="FFHQ", metric="FID", max_value=3.0)] == [1.80, 2.95]
    assert [r.value for r in table.query(dataset="FFHQ", min_value=2, max_value=3)] == [2.95]


def test_paper_ids_filter_and_titles(table):
    rows = table.query(dataset="FFHQ", paper_ids=["p1", "p3"])
    assert [(r.paper_id, r.title) for r in rows] == [("p1", "Paper one"), ("p3", "")]
    assert table.query(dataset="FFHQ", paper_ids=[]) == []


def test_mentions_are_papers_naming_the_dataset_without_a_figure(table):
    assert [r.paper_id for r in table.mentions("ADE20K")] == ["p4"]
    rows = table.query(dataset="ADE20K", metric=None, include_mentions=True)
    assert [r.paper_id for r in rows][-1] == "p4" and rows[-1].value is None


def test_datasets_and_metrics_counts(table):
    assert dict(table.datasets()) == {"FFHQ": 3, "ImageNet": 4, "ADE20K": 3}
    assert dict(table.metrics("ImageNet")) == {"Top-1 Error": 2, "Top-1 Accuracy": 2}


def test_query_over_a_large_table_reads_back_every_field(tmp_path):
    from paperqa.results_table import write_results

    rows = [ResultRow(paper_id=f"p{i}", dataset="ADE20K" if i % 7 == 0 else "COCO", metric="mIoU",
                      value=float(i % 60), qualifiers=["val", "single-scale"], value_text=f"{i % 60}\\%", unit="%",
                      sentence="s", start_char=3, end_char=4, model="M") for i in range(20000)]
    path = tmp_path / RESULTS_FILE
    assert write_results(path, rows) == 20000
    table = ResultsTable.open(path, get_lexicon())
    got = table.query(dataset="ADE20K", metric="mIoU")
    assert len(got) == len([i for i in range(20000) if i % 7 == 0])
    assert got[0].qualifiers == ["val", "single-scale"] and got[0].value_text.endswith("\\%")
    assert got[0].unit == "%" and got[0].model == "M"
    with sqlite3.connect(path) as db:  # the lookup is served by the (dataset, metric) index
        plan = " ".join(str(r) for r in db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM results WHERE dataset_key = 'ade20k' AND metric_key = 'miou'"))
    assert "results_dataset_metric" in plan


def test_from_papers_extracts_rows(tmp_path):
    papers = [Paper(paper_id=r["id"], title=r["title"], abstract=r["abstract"]) for r in PAPERS_A]
    table = ResultsTable.from_papers(papers)
    assert [r.value for r in table.query(dataset="Cityscapes")] == [81.0]
    assert {r.paper_id for r in table.mentions("Cityscapes")} == {"2101.00003"}
    assert table.datasets_of(["2101.00001", "2101.00003", "2101.00002", "missing"]) == {
        "2101.00001": {"ADE20K", "Cityscapes"}, "2101.00003": {"ADE20K", "Cityscapes"},
        "2101.00002": {"FFHQ", "CIFAR-10"}, "missing": set()}

