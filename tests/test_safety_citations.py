"""Issue 11 item 5: a citation is accepted only when the cited passage supports the sentence.

Reproduced with the stand-in vLLM server: an answer repeating a planted "Swin reaches 99.9 mIoU"
while citing the real Swin passage, and a sentence copied from one abstract but cited to another.
"""

from __future__ import annotations

from fake_vllm import FakeVLLM, Reply
from hit_factory import llm_settings, sample_hits

from paperqa.citations import check_answer, numbers, support
from paperqa.config import load_config
from paperqa.eval.qa_eval import QAItemResult, aggregate
from paperqa.generation import AnswerGenerator, uncited_reason
from paperqa.models import Answer

QUESTION = "What do Swin and ConvNeXt reach?"
REFUSAL = "No passage in the index answers this question."


def ask(server: FakeVLLM, content: str, **answer_cfg) -> Answer:
    server.queue(Reply(content=content))
    settings = llm_settings(server.base_url)
    if answer_cfg:
        settings = settings.with_overrides({f"answer.{k}": v for k, v in answer_cfg.items()})
    return AnswerGenerator(settings).answer(QUESTION, sample_hits(3))


def test_planted_number_is_not_accepted(fake_vllm: FakeVLLM) -> None:
    answer = ask(fake_vllm, "Swin Transformer reaches 99.9 mIoU on ADE20K [3]. "
                            "ConvNeXt is constructed entirely from standard ConvNet modules [2].")
    assert "99.9" not in answer.text
    assert answer.unsupported_sentences == ["Swin Transformer reaches 99.9 mIoU on ADE20K."]
    assert answer.stats.unsupported_citations == 1
    assert [c.title for c in answer.citations] == ["A ConvNet for the 2020s"]  # no Swin sentence highlighted
    assert answer.text == "ConvNeXt is constructed entirely from standard ConvNet modules [1]."


def test_sentence_copied_from_another_abstract_is_not_accepted(fake_vllm: FakeVLLM) -> None:
    answer = ask(fake_vllm, "ConvNeXt is constructed entirely from standard ConvNet modules [3].")
    assert answer.citations == [] and "ConvNeXt" not in answer.text
    assert answer.stats.unsupported_citations == 1
    # nothing supported is left: PaperQA shows the extractive answer instead, saying why (issue 9's rule)
    reason = uncited_reason(answer)
    assert reason is not None and "1 sentence(s) its cited passages do not support" in reason


def test_supported_paraphrase_is_kept(fake_vllm: FakeVLLM) -> None:
    answer = ask(fake_vllm, "Swin computes its representation with shifted windows and reaches 87.3 top-1 "
                            "accuracy on ImageNet-1K [3].")
    assert not answer.refused and answer.unsupported_sentences == [] and answer.stats.unsupported_citations == 0
    assert [c.title for c in answer.citations] == ["Swin Transformer"]


def test_uncited_sentences_are_dropped_by_default(fake_vllm: FakeVLLM) -> None:
    assert load_config().answer.keep_uncited is False
    answer = ask(fake_vllm, "Swin reaches 99.9 mIoU. ConvNeXt is built from ConvNet modules [2].")
    assert answer.text == "ConvNeXt is built from ConvNet modules [1]."
    assert answer.uncited_sentences == ["Swin reaches 99.9 mIoU."]


def test_numbers_and_support_units() -> None:
    assert numbers("It reaches 87.80% and 1,024 tokens [3].") == {"87.8", "1024"}
    assert numbers("1. ConvNeXt reaches 87.8% [2]") == {"87.8"}
    assert numbers("0.50 or .5") == {"0.5"}
    result = support("Swin reaches 99.9 mIoU [1].", ["Swin reaches 53.5 mIoU on ADE20K."])
    assert result.missing_numbers == ("99.9",) and not result.ok(0.0)
    assert support("Swin reaches 53.5 mIoU [1].", ["Swin reaches 53.5 mIoU on ADE20K."]).ok(0.3)


def test_check_answer_renumbers_after_dropping() -> None:
    hits = sample_hits(3)
    checked = check_answer("Swin reaches 99.9 [3]. ConvNeXt is built from standard ConvNet modules [2].",
                           hits, REFUSAL, min_support=0.3)
    assert checked.text == "ConvNeXt is built from standard ConvNet modules [1]."
    assert [c.paper_id for c in checked.citations] == ["paper-2"] and len(checked.unsupported_sentences) == 1


def test_eval_counts_unsupported_citations() -> None:
    item = {"id": "a", "type": "lookup", "question": "q", "gold_ids": [], "retrieved": [], "cited": [],
            "gold_recall_at_k": None, "gold_recall_passages": None, "gold_recall_cited": None,
            "citation_precision": None, "fact_recall": None, "refused": False, "invalid_citations": 0,
            "answer_mode": "generated", "answer": "x", "timings_s": {}}
    items = [QAItemResult(**item, unsupported_citations=2), QAItemResult(**item, unsupported_citations=1)]
    assert aggregate(items)["unsupported_citations"] == 3
