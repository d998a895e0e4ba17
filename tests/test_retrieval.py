"""Search on the bundled corpus with the real model, FAISS and BM25, and extractive answers."""

from __future__ import annotations

import pytest

from paperqa.api import QuestionError
from paperqa.retrieval import SearchFilters, dedupe_by_paper

ADE20K_QUESTION = "Which CNN-transformer hybrids report ADE20K mIoU?"


def test_moat_is_in_the_top_five_papers_for_the_ade20k_question(bundled_qa):
    hits = bundled_qa.search(ADE20K_QUESTION, k=10)
    top_papers = [h.title for h in dedupe_by_paper(hits)][:5]
    assert any(t.startswith("MOAT") for t in top_papers), top_papers


def test_hybrid_hits_carry_rank_in_each_retriever(bundled_qa):
    hits = bundled_qa.search(ADE20K_QUESTION, k=10, mode="hybrid")
    assert [h.rank for h in hits] == list(range(1, 11))
    assert all(h.dense_rank is not None or h.bm25_rank is not None for h in hits)
    assert any(h.dense_rank is not None and h.bm25_rank is not None for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_modes_use_only_their_retriever(bundled_qa):
    dense = bundled_qa.search(ADE20K_QUESTION, k=5, mode="dense")
    bm25 = bundled_qa.search(ADE20K_QUESTION, k=5, mode="bm25")
    assert all(h.bm25_rank is None and h.dense_rank == h.rank for h in dense)
    assert all(h.dense_rank is None and h.bm25_rank == h.rank for h in bm25)


def test_keyword_search_finds_an_exact_term(bundled_qa):
    hits = bundled_qa.search("RveRNet", k=3, mode="bm25")
    assert "RveRNet" in hits[0].text


def test_title_filter_keeps_k_results(bundled_qa):
    hits = bundled_qa.search("image classification accuracy", k=5, filters=SearchFilters(title_contains="transformer"))
    assert len(hits) == 5  # filtering inside each retriever: no starvation
    assert all("transformer" in h.title.lower() for h in hits)


def test_source_filter(bundled_qa):
    source = "004_4757aacaa2b45415.txt"
    hits = bundled_qa.search("vision transformer", k=8, filters=SearchFilters(sources=[source]))
    assert hits and all(source in h.paper.sources for h in hits)


def test_year_filter_excludes_papers_without_a_year(bundled_qa, tmp_path):
    record = {"id": "2106.04803", "title": "CoAtNet: Marrying Convolution and Attention for All Data Sizes",
              "abstract": "Transformers have attracted increasing interests in computer vision, but they still fall "
                          "behind state-of-the-art convolutional networks. CoAtNet reaches 86.0% ImageNet top-1."}
    path = tmp_path / "coatnet.jsonl"
    path.write_text(__import__("json").dumps(record) + "\n")
    bundled_qa.ingest([path])
    hits = bundled_qa.search("convolution and attention", k=5, filters=SearchFilters(year_min=2021, year_max=2021))
    assert [h.paper_id for h in hits] == ["2106.04803"]  # the feed dumps carry no years
    assert hits[0].paper.url == "https://arxiv.org/abs/2106.04803"


def test_extractive_answer_quotes_the_sentence_with_the_figure(bundled_qa):
    answer = bundled_qa.ask(ADE20K_QUESTION)
    assert not answer.refused and answer.mode == "extractive"
    assert "not generated" in answer.notice
    moat = [c for c in answer.citations if c.title.startswith("MOAT")]
    assert moat and "ADE20K" in moat[0].quote and "mIoU" in moat[0].quote
    for citation in answer.citations:
        assert citation.passage[citation.quote_start : citation.quote_end] == citation.quote
        assert f"[{citation.key}]" in answer.text
    assert [c.key for c in answer.citations] == list(range(1, len(answer.citations) + 1))


@pytest.mark.parametrize("question", ["What is the boiling point of water at sea level?",
                                      "Who won the 2018 FIFA World Cup?",
                                      "What mAP does YOLOv8 reach on COCO val2017?"])
def test_unanswerable_question_is_refused(bundled_qa, question):
    answer = bundled_qa.ask(question)
    assert answer.refused and not answer.citations
    assert answer.text == bundled_qa.settings.answer.refusal_text


def test_stream_yields_text_then_the_answer(bundled_qa):
    items = list(bundled_qa.stream("What top-1 accuracy does MOAT reach on ImageNet-1K?"))
    *deltas, final = items
    assert deltas and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == final.text
    assert any("89.1%" in c.quote for c in final.citations)


@pytest.mark.parametrize("question", ["", "   ", "x" * 100_000])
def test_bad_questions_are_refused_with_a_reason(bundled_qa, question):
    with pytest.raises(QuestionError):
        bundled_qa.ask(question)


def test_with_settings_shares_the_loaded_index_and_model(bundled_qa):
    bm25_view = bundled_qa.with_settings({"retrieval.mode": "bm25", "retrieval.k": 3})
    assert bm25_view.retriever.store.chunks is bundled_qa.retriever.store.chunks  # not re-read from disk
    assert bm25_view.embedder is bundled_qa.embedder
    assert len(bm25_view.search(ADE20K_QUESTION)) == 3
    assert all(h.dense_rank is None for h in bm25_view.search(ADE20K_QUESTION))


def test_distinct_papers_returns_k_different_papers(bundled_qa):
    question = "Which papers report ADE20K mIoU?"
    passages = bundled_qa.search(question, k=10)
    papers = bundled_qa.search(question, k=10, distinct_papers=True)
    assert len(papers) == 10
    assert len({h.paper_id for h in papers}) == 10
    assert [h.rank for h in papers] == list(range(1, 11))
    # each paper keeps its best passage, in the order of the passage ranking
    assert [h.paper_id for h in papers[:3]] == [h.paper_id for h in dedupe_by_paper(passages)][:3]


def test_names_heavy_questions_lean_on_bm25():
    from paperqa.config import load_config
    from paperqa.retrieval import fusion_weights, names_share

    assert names_share("Which papers report mIoU on ADE20K?") == 1.0
    assert names_share("how do vision transformers scale with data") == 0.0
    cfg = load_config(overrides={"retrieval.names_bm25_boost": 2.0}).retrieval
    assert fusion_weights("Which papers report mIoU on ADE20K?", cfg) == {"dense": 1.0, "bm25": 3.0, "table": 0.5}
    assert fusion_weights("how do vision transformers scale", cfg) == {"dense": 1.0, "bm25": 1.0, "table": 0.5}
    off = load_config().retrieval
    assert fusion_weights("mIoU on ADE20K", off)["bm25"] == off.bm25_weight
