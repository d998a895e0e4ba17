"""The optional LLM extractor, against the stand-in vLLM server (structured output with a JSON schema)."""

from __future__ import annotations

import json

import pytest
from fake_vllm import Reply

from paperqa.config import load_config
from paperqa.lexicon import get_lexicon
from paperqa.llm import LLMClient, LLMUnavailableError
from paperqa.models import Paper
from paperqa.results_llm import RESPONSE_FORMAT, LLMExtractor, batch_response_format, complete_rows

PAPERS = [
    Paper(paper_id="p1", title="AlphaSeg",
          abstract="We propose AlphaSeg. AlphaSeg attains 52.7 mIoU on ADE-20K and 81.0% on Cityscapes."),
    Paper(paper_id="p2", title="BetaGAN", abstract="BetaGAN reaches an FID of 2.95 on FFHQ."),
]


def settings(fake, **extra):
    overrides = {"llm.base_url": fake.base_url, "llm.retries": 0, "llm.backoff_s": 0.0,
                 "results.extractor": "llm", "results.llm_batch_size": 2, **extra}
    return load_config(overrides=overrides)


def rows_reply(*rows, **reply):
    return Reply(content=json.dumps({"results": list(rows)}), **reply)


def item(paper, sentence, dataset, value, metric=None, model=None, delta=False, split=None):
    return {"paper": paper, "sentence": sentence, "model": model, "dataset": dataset, "metric": metric,
            "value": value, "is_delta": delta, "split": split}


def test_rows_are_kept_only_when_the_value_is_written_in_the_cited_sentence(fake_vllm):
    fake_vllm.queue(rows_reply(
        item(1, 2, "ADE-20K", "52.7", "mean IoU", "AlphaSeg"),
        item(1, 2, "Cityscapes", "81.0", "mIoU", split="val"),
        item(1, 1, "ADE20K", "52.7", "mIoU"),          # value not in sentence 1: dropped
        item(1, 2, "COCO", "53.0", "AP"),              # invented figure: dropped
        item(2, 1, "FFHQ", "2.95", "FID"),
        item(2, 7, "FFHQ", "2.95", "FID"),             # no sentence 7: dropped
        item(3, 1, "FFHQ", "2.95", "FID"),             # no paper 3: dropped
        item(2, 1, "CelebA", "2.95", "FID"),           # a dataset the paper does not name: dropped
        item(2, 1, "FFHQ", "2.95", "IS"),              # a metric it does not name: the figure stays, the metric goes
        unconstrained=True,  # a server that ignores the schema: the checks do not rely on it
    ))
    extractor = LLMExtractor(settings(fake_vllm), get_lexicon())
    rows, failed = extractor.extract_many(PAPERS)
    assert failed == set()
    got = [(r.paper_id, r.dataset, r.metric, r.value, r.unit, r.model, r.extractor) for r in rows]
    assert got == [("p1", "ADE20K", "mIoU", 52.7, None, "AlphaSeg", "llm"),
                   ("p1", "Cityscapes", "mIoU", 81.0, "%", None, "llm"),
                   ("p2", "FFHQ", "FID", 2.95, None, None, "llm"),
                   ("p2", "FFHQ", None, 2.95, None, None, "llm")]
    assert rows[1].value_text == "81.0%" and rows[1].qualifiers == ["val"]
    assert PAPERS[0].abstract[rows[0].start_char:rows[0].end_char] == rows[0].sentence
    # one call for the batch of two, constrained by the JSON schema as vLLM expects it
    [request] = fake_vllm.chat_requests
    # narrowed to the batch: 2 papers, at most 2 sentences, the figures written in them, 12 rows a paper
    assert request.body["response_format"] == batch_response_format(2, 2, ["52.7", "81.0", "2.95"], 24)
    row_schema = request.body["response_format"]["json_schema"]["schema"]["properties"]["results"]
    assert row_schema["maxItems"] == 24 and row_schema["items"]["properties"]["paper"]["maximum"] == 2
    assert RESPONSE_FORMAT["json_schema"]["schema"]["properties"]["results"]["items"].keys() == row_schema["items"].keys()
    assert "[2] AlphaSeg attains 52.7 mIoU" in request.prompt_text and "Paper 2: BetaGAN" in request.prompt_text


def test_both_keeps_rule_rows_and_adds_what_the_model_found_beyond_them(fake_vllm):
    fake_vllm.queue(rows_reply(item(1, 2, "ADE20K", "52.7", "mIoU"), item(1, 2, "Cityscapes", "81.0", None)))
    fake_vllm.queue(rows_reply())
    from paperqa.results import RuleExtractor

    rule_rows = RuleExtractor().extract_many(PAPERS)
    extractor = LLMExtractor(settings(fake_vllm, **{"results.llm_batch_size": 1}), get_lexicon())
    merged = extractor.merge(rule_rows, PAPERS, keep_rules=True)
    assert [r for r in merged if r.extractor == "rules"] == rule_rows
    extra = [(r.dataset, r.value) for r in merged if r.extractor == "llm"]
    assert ("ADE20K", 52.7) not in extra  # the rules already had it
    assert len(fake_vllm.chat_requests) == 2


def test_a_failing_server_falls_back_to_the_rules_with_a_warning(fake_vllm):
    fake_vllm.queue(Reply(status=500, message="engine dead"))
    extractor = LLMExtractor(settings(fake_vllm), get_lexicon())
    rows = extractor.merge([], PAPERS, keep_rules=False)
    assert {(r.dataset, r.value) for r in rows if r.value is not None} >= {("ADE20K", 52.7), ("FFHQ", 2.95)}
    assert all(r.extractor == "rules" for r in rows)
    assert extractor.warnings and "engine dead" in extractor.warnings[0]


def test_malformed_json_from_the_model_skips_the_batch(fake_vllm):
    # A server that ignores the schema (constrained decoding could not write this): see fake_vllm.Reply.unconstrained
    fake_vllm.queue(Reply(content="Sure! Here are the results: 52.7", unconstrained=True))
    extractor = LLMExtractor(settings(fake_vllm), get_lexicon())
    rows, failed = extractor.extract_many(PAPERS)
    assert rows == [] and failed == {"p1", "p2"}
    assert "not the requested JSON" in extractor.warnings[0]


def test_an_answer_cut_by_max_tokens_keeps_the_rows_completed_before_the_cut(fake_vllm):
    whole = json.dumps({"results": [item(1, 2, "ADE-20K", "52.7", "mIoU"), item(2, 1, "FFHQ", "2.95", "FID")]},
                       indent=2)
    cut = whole[:whole.index('"FID"')]  # the second row is unfinished
    assert complete_rows(cut) == [item(1, 2, "ADE-20K", "52.7", "mIoU")]
    assert complete_rows(whole[:whole.index("{", 2)]) == [] and complete_rows("Sure! 52.7") is None
    fake_vllm.queue(Reply(content=cut, finish_reason="length"))
    extractor = LLMExtractor(settings(fake_vllm), get_lexicon())
    rows, failed = extractor.extract_many(PAPERS)
    assert failed == set() and [(r.paper_id, r.dataset, r.value) for r in rows] == [("p1", "ADE20K", 52.7)]


def test_abstracts_without_a_figure_are_not_sent(fake_vllm):
    papers = [Paper(paper_id="p3", title="Gamma", abstract="We study attention. It is useful in ResNet-50 models.")]
    rows, failed = LLMExtractor(settings(fake_vllm), get_lexicon()).extract_many(papers)
    assert rows == [] and failed == set() and fake_vllm.chat_requests == []


def test_the_stand_in_rejects_a_malformed_schema_like_vllm(fake_vllm):
    client = LLMClient(settings(fake_vllm).llm)
    with pytest.raises(LLMUnavailableError, match="json_schema"):
        client.chat([{"role": "user", "content": "x"}], response_format={"type": "json_schema"})
    ok = client.chat([{"role": "user", "content": "x"}], response_format=RESPONSE_FORMAT)
    assert json.loads(ok.text) == {"results": []}  # the stand-in's default answer to a schema


def test_ingest_with_the_llm_extractor_stores_its_rows(fake_vllm, tmp_path, embedder):
    from paperqa.api import PaperQA

    source = tmp_path / "p.jsonl"
    source.write_text("".join(json.dumps({"id": p.paper_id, "title": p.title, "abstract": p.abstract}) + "\n"
                              for p in PAPERS), "utf-8")
    fake_vllm.queue(rows_reply(item(1, 2, "ADE20K", "52.7", "mIoU", "AlphaSeg"), item(2, 1, "FFHQ", "2.95", "FID")))
    qa = PaperQA(tmp_path / "index", embedder=embedder, settings=settings(fake_vllm))
    report = qa.ingest([source])
    assert report.warnings == []
    rows = qa.results(dataset="ADE20K", metric="mIoU")
    assert [(r.paper_id, r.value, r.extractor, r.title) for r in rows] == [("p1", 52.7, "llm", "AlphaSeg")]
    assert qa.info().results == 2
