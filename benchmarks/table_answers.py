"""P@10 and recall of the cross-paper table answers alone: no search, no embeddings, no LLM.

For each "which papers report METRIC on DATASET?" question: ``crosspaper.parse_question``, then
``crosspaper.table_rows`` and ``crosspaper.table_answer`` over a results table extracted in memory
from the whole corpus; the papers of the answer's rows, in order, are the ranking. P@10 and recall
are counted as in ``paperqa.eval.aggregate_eval`` (gold among the first 10 / min(10, gold)).
This is the table half of ``benchmarks/crosspaper.py`` without its BM25 half, so it runs in
seconds; the real eval (``paperqa eval aggregate``) goes through ``PaperQA.ask`` on an embedded index.

    python benchmarks/table_answers.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from paperqa.crosspaper import answer_support, parse_question, table_answer, table_rows
from paperqa.eval.aggregate_eval import precision_at, recall_of
from paperqa.eval.extraction import read_corpus, read_jsonl
from paperqa.lexicon import get_lexicon
from paperqa.results_table import ResultsTable

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", default=str(SHARED / "eval" / "pwc-dev" / "aggregate_questions.jsonl"))
    parser.add_argument("--corpus", default=str(SHARED / "data" / "ml-abstracts" / "ml_abstracts.jsonl"))
    args = parser.parse_args()
    lexicon = get_lexicon()
    papers = read_corpus(args.corpus)
    table = ResultsTable.from_papers(papers.values(), lexicon)
    p10: list[float] = []
    recall: list[float] = []
    unanswered = 0
    questions = read_jsonl(args.questions)
    for item in questions:
        gold = set(item["gold_ids"])
        query = parse_question(item["question"], lexicon)
        ranking: list[str] = []
        if query is not None:
            rows, mentions = table_rows(query, table, papers)
            answer = table_answer(query, rows, mentions, papers, lambda pid: [], None, len(papers),
                                  support=answer_support(query, rows, mentions, table, lexicon),
                                  direction_of=lexicon.direction)
            ranking = list(dict.fromkeys(r.paper_id for r in answer.table))
        if not ranking:
            unanswered += 1
            continue
        p10.append(precision_at(ranking, gold) or 0.0)
        recall.append(recall_of(ranking, gold) or 0.0)
    print(f"{len(questions)} questions, {len(p10)} answered from the table ({unanswered} not): "
          f"P@10 {sum(p10) / max(1, len(p10)):.3f}, recall {sum(recall) / max(1, len(recall)):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
