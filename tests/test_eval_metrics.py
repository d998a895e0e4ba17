"""Each metric against values worked out by hand (the arithmetic is in the comments)."""

import math

import pytest

from paperqa.eval import metrics as m


def test_dedupe_keeps_first_occurrence():
    assert m.dedupe(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_rank_by_score_breaks_ties_by_id():
    assert m.rank_by_score({"b": 1.0, "a": 1.0, "c": 2.0}) == ["c", "a", "b"]


def test_ndcg_single_relevant_at_rank_2():
    # DCG = 1/log2(3); IDCG = 1/log2(2) = 1
    assert m.ndcg_at_k(["x", "r", "y"], {"r": 1}, 10) == pytest.approx(1 / math.log2(3))


def test_ndcg_graded_and_cutoff():
    qrels = {"a": 2, "b": 1, "c": 1}
    # ranking b, z, a with k=3: DCG = 1/1 + 0 + 2/log2(4)=1 -> 2.0
    # ideal a, b, c: 2/1 + 1/log2(3) + 1/2 = 2.5 + 0.6309 = 3.1309
    ideal = 2 + 1 / math.log2(3) + 0.5
    assert m.ndcg_at_k(["b", "z", "a"], qrels, 3) == pytest.approx(2.0 / ideal)
    # cut at 1: DCG = 1; IDCG@1 = 2
    assert m.ndcg_at_k(["b", "z", "a"], qrels, 1) == pytest.approx(0.5)


def test_duplicates_do_not_count_twice():
    # "r" repeated must not add gain twice nor push "s" down: dedupe -> r, s
    qrels = {"r": 1, "s": 1}
    assert m.ndcg_at_k(["r", "r", "s"], qrels, 2) == pytest.approx(1.0)
    assert m.recall_at_k(["r", "r", "x"], qrels, 2) == pytest.approx(0.5)


def test_no_relevant_docs_is_undefined_and_skipped_in_mean():
    assert m.ndcg_at_k(["a"], {}, 10) is None
    assert m.ndcg_at_k(["a"], {"a": 0}, 10) is None  # grade 0 is not relevant
    assert m.recall_at_k(["a"], {}, 10) is None
    assert m.mrr_at_k(["a"], [], 10) is None
    assert m.mean_defined([1.0, None, 0.0]) == pytest.approx(0.5)
    assert m.mean_defined([None]) is None


def test_recall_and_mrr():
    qrels = {"a": 1, "b": 1, "c": 1, "d": 1}
    ranking = ["x", "b", "y", "a"]
    assert m.recall_at_k(ranking, qrels, 2) == pytest.approx(0.25)
    assert m.recall_at_k(ranking, qrels, 100) == pytest.approx(0.5)
    assert m.mrr_at_k(ranking, qrels, 10) == pytest.approx(0.5)
    assert m.mrr_at_k(ranking, qrels, 1) == 0.0


def test_ties_resolved_deterministically_before_metrics():
    # relevant "b" ties with "a"; the id tie-break puts "a" first, so MRR is 1/2 every run
    ranking = m.rank_by_score({"b": 0.5, "a": 0.5})
    assert m.mrr_at_k(ranking, {"b": 1}, 10) == pytest.approx(0.5)


def test_precision():
    assert m.precision(["a", "b", "b"], {"a"}) == pytest.approx(0.5)
    assert m.precision([], {"a"}) is None


@pytest.mark.parametrize(
    ("fact", "text", "expected"),
    [
        (87.1, "reaches 87.1% top-1", True),
        (58.0, "58 PQ on COCO", True),
        (58, "58.0\\% PQ", True),
        (87.1, "reaches 187.1 points", False),
        (8.2, "VTM-17.0 and 18.2", False),
        (1024, "uses 1,024 tokens", True),
        ("3.1x", "reduces cost by up to 3.1 x", True),
        ("TuSimple", "won the tusimple challenge", True),
        ("ScheduledDropPath", "uses dropout", False),
        ("37.6 million", "37.6  Million examples", True),
    ],
)
def test_fact_in_text(fact, text, expected):
    assert m.fact_in_text(fact, text) is expected


def test_fact_recall():
    assert m.fact_recall([87.1, 84.3], "87.1% on ImageNet") == pytest.approx(0.5)
    assert m.fact_recall([], "anything") is None


def test_facts_are_found_in_a_markdown_table_answer():
    """A table answer's text escapes every cell ("57\\.6\\%"): its figures still count as stated."""
    assert m.fact_recall([57.6, 55.2], "| 1 | MOAT\\: a model | 57\\.6\\% |\n| 2 | kMaX | 55\\.2\\% |") == 1.0
