"""Answer-level metrics of one configuration on a question-answer set.

Per question: gold-paper recall among the first ``recall_k`` distinct papers retrieved, among
the passages handed to the answer, and among the cited passages; citation precision (cited
papers that are gold); key-fact match in the answer text; refusal; invalid citations.
Unanswerable questions count only toward the refusal rate; the other measures are over the
answerable ones (a refusal of an answerable question is a false refusal).

Generated answers (``answer.mode`` generated, not an extractive fallback) also get the citation
measures of ``answer.format``: the share of their sentences that carry a valid citation (pooled
over all of them) and invalid citations per answer, with the answer format and prompt version
that produced them.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..citations import cited_keys, split_answer_sentences
from . import metrics as m
from .datasets import QADataset, QAItem
from .latency import LatencySummary, StageTimes
from .progress import progress_bar
from .retrieval_eval import doc_ranking

if TYPE_CHECKING:
    from ..api import PaperQA
    from ..models import Answer
    from .judge import LLMJudge


class QAItemResult(BaseModel):
    id: str
    type: str
    question: str
    gold_ids: list[str]
    retrieved: list[str]
    cited: list[str]
    gold_recall_at_k: float | None
    gold_recall_passages: float | None
    gold_recall_cited: float | None
    citation_precision: float | None
    fact_recall: float | None
    refused: bool
    invalid_citations: int
    unsupported_citations: int = 0
    answer_mode: str
    answer: str
    judge_correct: bool | None = None
    timings_s: dict[str, float]
    answer_format: str | None = None
    prompt_version: str | None = None
    sentences: int = 0
    cited_sentences: int = 0
    notice: str | None = None


def sentence_counts(answer: Answer) -> tuple[int, int]:
    """(sentences, sentences with a valid citation) of a generated answer; a refusal has none.

    Sentences removed by the checker for lacking a citation (``keep_uncited: false``) still count:
    ``uncited_sentences`` lists every uncited sentence, kept in the text or not.
    """
    if answer.refused or answer.mode != "generated":
        return 0, 0
    cited = sum(1 for s in split_answer_sentences(answer.text) if cited_keys(s))
    return cited + len(answer.uncited_sentences), cited


class QAResult(BaseModel):
    config_name: str
    settings: dict[str, Any]
    recall_k: int
    n_questions: int
    metrics: dict[str, float | int | None]
    by_type: dict[str, dict[str, float | int | None]]
    judge: str | None
    latency: dict[str, LatencySummary]
    latency_raw_s: dict[str, list[float]]
    throughput_qps: float
    wall_s: float
    per_item: list[QAItemResult]
    prompt_versions: list[str] = []


def _one(qa: PaperQA, item: QAItem, recall_k: int, judge: LLMJudge | None) -> QAItemResult:
    hits, search_t = qa.search_timed(item.question, k=recall_k * 3)
    retrieved = doc_ranking(hits)[:recall_k]
    start = time.perf_counter()
    answer = qa.ask(item.question)
    ask_s = time.perf_counter() - start
    gold = set(item.gold_ids)
    cited = m.dedupe(c.paper_id for c in answer.citations)
    passages = m.dedupe(h.paper_id for h in answer.hits)
    timings = {f"search.{k}": v for k, v in search_t.items()}
    timings["ask.total"] = ask_s
    if answer.stats.retrieval_s is not None:
        timings["ask.retrieval"] = answer.stats.retrieval_s
    if answer.stats.time_to_first_token_s is not None:
        timings["ask.first_token"] = answer.stats.time_to_first_token_s
    for stage, seconds in (answer.stats.settings.timings_s).items():
        timings[f"ask.{stage}"] = seconds
    n_sentences, n_cited = sentence_counts(answer)
    verdict = judge.judge(item, answer.text) if judge is not None and item.answerable and not answer.refused else None
    return QAItemResult(
        id=item.id,
        type=item.type,
        question=item.question,
        gold_ids=item.gold_ids,
        retrieved=retrieved,
        cited=cited,
        gold_recall_at_k=m.recall_at_k(retrieved, gold, recall_k),
        gold_recall_passages=m.recall_at_k(passages, gold, len(passages) or 1),
        gold_recall_cited=m.recall_at_k(cited, gold, len(cited) or 1),
        citation_precision=m.precision(cited, gold) if item.answerable else None,
        fact_recall=m.fact_recall(item.key_facts, answer.text) if item.answerable else None,
        refused=answer.refused,
        invalid_citations=len(answer.invalid_citations),
        unsupported_citations=answer.stats.unsupported_citations,
        answer_mode=answer.mode,
        answer=answer.text,
        judge_correct=verdict,
        timings_s=timings,
        answer_format=answer.stats.answer_format,
        prompt_version=answer.stats.prompt_version,
        sentences=n_sentences,
        cited_sentences=n_cited,
        notice=answer.notice,
    )


def aggregate(items: list[QAItemResult]) -> dict[str, float | int | None]:
    """Means over the answerable questions; refusal rate over the unanswerable ones."""
    answerable = [r for r in items if r.type != "unanswerable"]
    unanswerable = [r for r in items if r.type == "unanswerable"]
    judged = [r.judge_correct for r in answerable if r.judge_correct is not None]
    generated = [r for r in items if r.answer_mode == "generated"]
    generated_sentences = sum(r.sentences for r in generated)
    gen_answerable = [r for r in generated if r.type != "unanswerable"]
    gen_unanswerable = [r for r in generated if r.type == "unanswerable"]
    return {
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "gold_recall@k": m.mean_defined(r.gold_recall_at_k for r in answerable),
        "gold_recall_passages": m.mean_defined(r.gold_recall_passages for r in answerable),
        "gold_recall_cited": m.mean_defined(r.gold_recall_cited for r in answerable),
        "citation_precision": m.mean_defined(r.citation_precision for r in answerable),
        "key_fact_match": m.mean_defined(r.fact_recall for r in answerable),
        "refusal_rate_unanswerable": (sum(r.refused for r in unanswerable) / len(unanswerable)) if unanswerable else None,
        "false_refusal_rate": (sum(r.refused for r in answerable) / len(answerable)) if answerable else None,
        "invalid_citations": sum(r.invalid_citations for r in items),
        "unsupported_citations": sum(r.unsupported_citations for r in items),
        "judge_correct": (sum(judged) / len(judged)) if judged else None,
        "generated_answers": len(generated),
        "generated_sentences": generated_sentences,
        "cited_sentence_share": (sum(r.cited_sentences for r in generated) / generated_sentences
                                 if generated_sentences else None),
        "invalid_citations_per_answer": (sum(r.invalid_citations for r in generated) / len(generated)
                                         if generated else None),
        "generated_refused_unanswerable": sum(r.refused for r in gen_unanswerable),
        "generated_unanswerable": len(gen_unanswerable),
        "generated_false_refusals": sum(r.refused for r in gen_answerable),
        "generated_answerable": len(gen_answerable),
        "generated_key_fact_match": m.mean_defined(r.fact_recall for r in gen_answerable),
    }


def evaluate_qa(
    qa: PaperQA,
    dataset: QADataset,
    config_name: str,
    recall_k: int = 10,
    concurrency: int = 1,
    judge: LLMJudge | None = None,
    progress: bool = True,
) -> QAResult:
    """Ask every question; concurrently when ``concurrency`` > 1 (an LLM server batches them)."""
    start = time.perf_counter()
    items = dataset.items
    if concurrency > 1:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = [pool.submit(_one, qa, item, recall_k, judge) for item in items]
            results = [f.result() for f in progress_bar(futures, total=len(futures), desc=config_name, enabled=progress)]
    else:
        results = [_one(qa, item, recall_k, judge) for item in
                   progress_bar(items, total=len(items), desc=config_name, enabled=progress)]
    wall = time.perf_counter() - start
    stages = StageTimes()
    for r in results:
        stages.add(r.timings_s)
    return QAResult(
        config_name=config_name,
        settings=qa.settings.model_dump(mode="json"),
        recall_k=recall_k,
        n_questions=len(results),
        metrics=aggregate(results),
        by_type={t: aggregate([r for r in results if r.type == t]) for t in sorted({r.type for r in results})},
        judge=judge.label if judge is not None else None,
        latency=stages.summary(),
        latency_raw_s=stages.raw(),
        throughput_qps=len(results) / wall if wall > 0 else 0.0,
        wall_s=wall,
        per_item=results,
        prompt_versions=sorted({r.prompt_version for r in results if r.prompt_version}),
    )
