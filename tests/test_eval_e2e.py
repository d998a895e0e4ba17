"""The harness end to end on a tiny BEIR set and a tiny QA set written here (seconds, not minutes)."""

import json

import pytest

from paperqa.eval import metrics as m
from paperqa.eval.runner import RunOptions, build_variants, run_eval

DOCS = {
    "d1": ("Photosynthesis in desert plants", "Cacti fix carbon at night through crassulacean acid metabolism, "
           "which saves water in arid climates."),
    "d2": ("Volcanic eruptions and climate", "Sulfate aerosols from large eruptions cool the planet for one to "
           "two years after the event."),
    "d3": ("Honeybee navigation", "Forager bees communicate the direction and distance of flowers with a waggle "
           "dance performed inside the hive."),
    "d4": ("Graphene conductivity", "Graphene sheets conduct electricity with very high electron mobility at "
           "room temperature, reaching 200000 cm2/Vs."),
    "d5": ("Antibiotic resistance in hospitals", "Methicillin-resistant Staphylococcus aureus spreads between "
           "patients through contaminated hands of staff."),
    "d6": ("Deep sea hydrothermal vents", "Tube worms near hydrothermal vents rely on symbiotic bacteria that "
           "oxidise hydrogen sulfide."),
    "d7": ("Glacier retreat in the Alps", "Alpine glaciers lost about half of their volume between 1900 and "
           "2011 according to reconstructed mass balance."),
    "d8": ("Sleep and memory consolidation", "Slow-wave sleep replays hippocampal activity and strengthens "
           "declarative memories learned the day before."),
}
QUERIES = {
    "q1": ("How do bees tell others where flowers are?", {"d3": 1}),
    "q2": ("electron mobility of graphene", {"d4": 1}),
    "q3": ("Do volcanic eruptions cool the climate?", {"d2": 1, "d7": 1}),
    "q4": ("hospital spread of resistant Staphylococcus aureus", {"d5": 1}),
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    beir = root / "tinybeir"
    beir.mkdir()
    (beir / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": t, "text": a}) + "\n" for i, (t, a) in DOCS.items()))
    (beir / "queries.jsonl").write_text("".join(json.dumps({"_id": q, "text": t}) + "\n" for q, (t, _) in QUERIES.items()))
    (beir / "qrels_test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{g}\n" for q, (_, rel) in QUERIES.items() for d, g in rel.items()))
    qa = root / "tiny_qa.jsonl"
    qa.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "a", "question": "What electron mobility does graphene reach at room temperature?", "type": "lookup",
         "gold_ids": ["d4"], "key_facts": [200000]},
        {"id": "b", "question": "Which insects dance to share where food is?", "type": "lookup",
         "gold_titles": ["Honeybee navigation"], "key_facts": ["waggle dance"]},
        {"id": "c", "question": "What is the boiling point of liquid nitrogen in kelvin?", "type": "unanswerable"},
    ]))
    return {"root": root, "beir": beir, "qa": qa, "cache": root / "cache", "out": root / "reports"}


@pytest.fixture(scope="module")
def reports(tiny):
    options = RunOptions(qa_corpus=[tiny["beir"] / "corpus.jsonl"], progress=False, out_dir=tiny["out"],
                         cache_dir=tiny["cache"], command="test")
    beir = run_eval([tiny["beir"]], build_variants(compare=["mode=bm25,dense,hybrid"]), options)
    qa = run_eval([tiny["qa"]], build_variants(compare=["mode=bm25,hybrid"]), options)
    return beir + qa


def test_reports_written_with_everything(reports):
    assert len(reports) == 2
    for folder in reports:
        assert (folder / "report.json").is_file()
        assert (folder / "report.md").is_file()
        data = json.loads((folder / "report.json").read_text())
        assert data["meta"]["command"] == "test"
        assert {"mode=bm25", "mode=hybrid"} <= set(data["configs"])
    assert (reports[0] / "recall_at_k.png").stat().st_size > 1000
    assert (reports[0] / "latency_retrieval.png").is_file()
    assert (reports[0] / "dataset" / "qrels_test.tsv").is_file()
    assert (reports[1] / "dataset" / "tiny_qa.jsonl").is_file()


def test_retrieval_metrics_match_the_rankings(reports):
    data = json.loads((reports[0] / "report.json").read_text())
    rows = {r["config_name"]: r for r in data["retrieval"]}
    assert data["dataset_info"]["queries"] == 4 and data["dataset_info"]["papers"] == 8
    for row in rows.values():
        # the summary is the mean of per-query values recomputed from the stored rankings
        ndcgs = [m.ndcg_at_k(q["top"], QUERIES[q["query_id"]][1], 10) for q in row["per_query"]]
        assert row["metrics"]["ndcg@10"] == pytest.approx(sum(ndcgs) / len(ndcgs))
        assert row["latency"]["total"]["n"] == 4
        assert row["throughput_qps"] > 0
    # dense ranks all 8 papers; BM25 returns only papers sharing a query term, and q3's second
    # judged paper (glaciers) shares none: recall@100 = (1 + 1 + 1/2 + 1) / 4
    assert rows["mode=dense"]["metrics"]["recall@100"] == pytest.approx(1.0)
    assert rows["mode=bm25"]["metrics"]["recall@100"] == pytest.approx(0.875)
    assert "embed_query" not in rows["mode=bm25"]["latency"]
    assert "embed_query" in rows["mode=dense"]["latency"]
    # keyword queries with unique terms: BM25 puts the judged paper first
    assert rows["mode=bm25"]["metrics"]["mrr@10"] == pytest.approx(1.0)
    md = (reports[0] / "report.md").read_text()
    assert "| mode=hybrid |" in md and "nDCG@10" in md


def test_qa_metrics(reports):
    data = json.loads((reports[1] / "report.json").read_text())
    for row in data["qa"]:
        mt = row["metrics"]
        assert mt["answerable"] == 2 and mt["unanswerable"] == 1
        items = {i["id"]: i for i in row["per_item"]}
        assert items["b"]["gold_ids"] == ["d3"]  # resolved from the title
        assert items["c"]["citation_precision"] is None and items["c"]["fact_recall"] is None
        refused = items["c"]["refused"]
        assert mt["refusal_rate_unanswerable"] == (1.0 if refused else 0.0)
        assert mt["invalid_citations"] == 0  # extractive answers cite retrieved passages only
        assert mt["judge_correct"] is None  # judge off by default
    bm25 = next(r for r in data["qa"] if r["config_name"] == "mode=bm25")
    assert bm25["metrics"]["gold_recall@k"] == pytest.approx(1.0)


def test_generated_answers_through_fake_vllm(tiny, fake_vllm, reports):
    """With an LLM configured the same harness measures generated answers, concurrently, with TTFT."""
    variants = build_variants(fixed=[f"llm.base_url={fake_vllm.base_url}", f"llm.model={fake_vllm.models[0]}",
                                     "mode=hybrid"])
    options = RunOptions(qa_corpus=[tiny["beir"] / "corpus.jsonl"], progress=False, out_dir=tiny["out"],
                         cache_dir=tiny["cache"], judge=True)
    folder = run_eval([tiny["qa"]], variants, options)[0]
    data = json.loads((folder / "report.json").read_text())
    row = data["qa"][0]
    assert {i["answer_mode"] for i in row["per_item"]} == {"generated"}
    assert "ask.first_token" in row["latency"] and "ask.evidence" in row["latency"]
    assert row["judge"].startswith("LLM judge")
    assert "LLM judge" in (folder / "report.md").read_text()
    assert len(fake_vllm.requests) >= 3


def test_text_and_json_formats_compared(tiny, fake_vllm, reports):
    """--compare answer.format=text,json: citation measures, prompt versions and first-text time per format."""
    from paperqa.prompting import load_prompts

    variants = build_variants(compare=["answer.format=text,json"],
                              fixed=[f"llm.base_url={fake_vllm.base_url}", f"llm.model={fake_vllm.models[0]}",
                                     "mode=hybrid"])
    options = RunOptions(qa_corpus=[tiny["beir"] / "corpus.jsonl"], progress=False, out_dir=tiny["out"],
                         cache_dir=tiny["cache"])
    folder = run_eval([tiny["qa"]], variants, options)[0]
    data = json.loads((folder / "report.json").read_text())
    prompts = load_prompts()
    assert data["meta"]["prompts"] == {name: p.version for name, p in prompts.items()}
    rows = {r["config_name"]: r for r in data["qa"]}
    for fmt in ("text", "json"):
        row = rows[f"format={fmt}"]
        assert {i["answer_format"] for i in row["per_item"] if not i["refused"]} == {fmt}
        assert row["prompt_versions"] == [prompts[f"answer_{fmt}"].label]
        mt = row["metrics"]
        # the stand-in cites passages [1] and [2] in both formats: every sentence carries a citation
        assert mt["generated_answers"] == 3 and mt["generated_sentences"] >= 4
        assert mt["cited_sentence_share"] == 1.0 and mt["invalid_citations_per_answer"] == 0
        assert "ask.first_text" in row["latency"] and "ask.first_token" in row["latency"]
    md = (folder / "report.md").read_text()
    assert "### Generated answers: citations and time per answer" in md
    assert f"| format=json | json / {prompts['answer_json'].label} | 3 of 3 |" in md
    assert "| 0 of 1 | 0 of 2 |" in md  # the stand-in answers the unanswerable question too
