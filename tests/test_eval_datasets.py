"""Dataset loaders, and the bundled QA set checked against the corpus it is about."""

import json
from pathlib import Path

import pytest

from paperqa.eval import metrics as m
from paperqa.eval.datasets import (
    DatasetError,
    load_beir,
    load_qa,
    read_qrels,
    resolve_gold,
)
from paperqa.sources import bundled_corpus_paths, load_papers

BUNDLED_QA = Path(__file__).resolve().parents[1] / "eval" / "datasets" / "bundled_qa.jsonl"


@pytest.fixture(scope="module")
def bundled_papers():
    return load_papers(bundled_corpus_paths()).papers


@pytest.fixture(scope="module")
def bundled_qa(bundled_papers):
    return resolve_gold(load_qa(BUNDLED_QA), bundled_papers)


def test_bundled_qa_shape(bundled_qa):
    types = [i.type for i in bundled_qa.items]
    assert len(types) >= 40
    assert types.count("unanswerable") >= 10
    assert types.count("aggregate") >= 8
    assert len({i.question for i in bundled_qa.items}) == len(types)


def test_every_gold_id_is_a_paper_of_the_corpus(bundled_qa, bundled_papers):
    ids = {p.paper_id for p in bundled_papers}
    for item in bundled_qa.items:
        assert set(item.gold_ids) <= ids, item.id
        assert len(item.gold_ids) == len(item.gold_titles), item.id  # each title resolved to its own paper


def test_every_key_fact_is_stated_in_a_gold_abstract(bundled_qa, bundled_papers):
    """Lookups: every fact in the (single) gold abstract; lists: each fact in one of the gold abstracts."""
    by_id = {p.paper_id: p for p in bundled_papers}
    for item in bundled_qa.items:
        abstracts = [by_id[g].abstract for g in item.gold_ids]
        for fact in item.key_facts:
            assert any(m.fact_in_text(fact, a) for a in abstracts), (item.id, fact)


def test_unknown_gold_title_is_reported(tmp_path, bundled_papers):
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps({"question": "q?", "type": "lookup", "gold_titles": ["No Such Paper"]}) + "\n")
    with pytest.raises(DatasetError, match="No Such Paper"):
        resolve_gold(load_qa(path), bundled_papers)


def test_qa_validation_errors_name_the_line(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text('{"question": "a?", "type": "lookup", "gold_ids": ["x"]}\n{"question": "b?", "type": "guess"}\n')
    with pytest.raises(DatasetError, match=":2:"):
        load_qa(path)
    path.write_text('{"question": "a?", "type": "unanswerable", "gold_ids": ["x"]}\n')
    with pytest.raises(DatasetError, match="cannot have gold"):
        load_qa(path)


def test_beir_loader_both_qrels_layouts(tmp_path):
    (tmp_path / "corpus.jsonl").write_text('{"_id": "d1", "title": "T", "text": "some text here"}\n')
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "a"}\n{"_id": "q2", "text": "b"}\n')
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    data = load_beir(tmp_path, "test")
    assert data.queries == {"q1": "a"}  # only judged queries
    assert data.qrels == {"q1": {"d1": 1}}
    (tmp_path / "qrels_dev.tsv").write_text("query-id\tcorpus-id\tscore\nq2\td1\t2\n")
    assert load_beir(tmp_path, "dev").qrels == {"q2": {"d1": 2}}
    with pytest.raises(DatasetError, match="no qrels for split 'train'"):
        load_beir(tmp_path, "train")


def test_read_qrels_rejects_bad_score(tmp_path):
    path = tmp_path / "q.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq1\td1\tx\n")
    with pytest.raises(DatasetError, match=":2:"):
        read_qrels(path)
