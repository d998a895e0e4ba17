"""The optional LLM extractor of results (``results.extractor: llm | both``).

Abstracts are sent in batches (``results.llm_batch_size``) to the configured OpenAI-compatible
server with vLLM's structured output: ``response_format: {"type": "json_schema", ...}`` constrains
the answer to a list of rows, each naming the paper and sentence it comes from. A row is kept only
when its value is written literally in that sentence (the model may not invent or round figures);
datasets and metrics are mapped to canonical names through the lexicon.

When the server fails, the batch is skipped with a warning and the rule extractor's rows stand
(``both``), or the rule extractor is used for those papers (``llm``): an ingest never fails, and
never silently loses a paper's results, because a model is down.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from .config import Settings
from .lexicon import Lexicon
from .llm import LLMClient, LLMUnavailableError
from .models import Paper, ResultRow
from .results import RuleExtractor, sentence_spans

SCHEMA: dict = {
    "type": "object",
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "paper": {"type": "integer", "description": "paper number, as given"},
                    "sentence": {"type": "integer", "description": "sentence number within that paper"},
                    "model": {"type": ["string", "null"]},
                    "dataset": {"type": "string"},
                    "metric": {"type": ["string", "null"]},
                    "value": {"type": "string", "description": "the figure exactly as written"},
                    "is_delta": {"type": "boolean", "description": "an improvement over something, not an absolute"},
                    "split": {"type": ["string", "null"]},
                },
                "required": ["paper", "sentence", "model", "dataset", "metric", "value", "is_delta", "split"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["results"],
    "additionalProperties": False,
}
RESPONSE_FORMAT = {"type": "json_schema", "json_schema": {"name": "reported_results", "schema": SCHEMA, "strict": True}}

SYSTEM = (
    "You extract the experimental results that research abstracts report. For every figure that is a "
    "result on a named benchmark dataset, return one row: the paper and sentence numbers, the model or "
    "method it belongs to (null if the sentence names none), the dataset, the metric (null if not named), "
    "the value copied exactly as written in the sentence (digits only, no unit), whether it is an "
    "improvement over another method (is_delta) and the split (val, test, test-dev...) or null. Do not "
    "report counts, years, model sizes or costs. Return only rows you can point to in a sentence."
)


class LLMExtractor:
    """Result rows from an LLM with a JSON schema, each checked against the sentence it cites."""

    name = "llm"

    def __init__(self, settings: Settings, lexicon: Lexicon, client: LLMClient | None = None) -> None:
        self.settings = settings
        self.lexicon = lexicon
        self.client = client or LLMClient(settings.llm)
        self.warnings: list[str] = []

    def extract_many(self, papers: Sequence[Paper]) -> tuple[list[ResultRow], set[str]]:
        """(rows, ids of the papers whose batch failed)."""
        rows: list[ResultRow] = []
        failed: set[str] = set()
        size = self.settings.results.llm_batch_size
        for i in range(0, len(papers), size):
            batch = list(papers[i:i + size])
            try:
                rows.extend(self._batch(batch))
            except (LLMUnavailableError, ValueError) as exc:
                failed.update(p.paper_id for p in batch)
                self.warnings.append(f"LLM results extraction skipped {len(batch)} papers "
                                     f"({batch[0].paper_id}...): {exc}")
        return rows, failed

    def merge(self, rule_rows: list[ResultRow], papers: Sequence[Paper], keep_rules: bool = True) -> list[ResultRow]:
        """The LLM's rows plus (``keep_rules``) the rule rows it does not repeat; rules stand in for failed batches."""
        llm_rows, failed = self.extract_many(papers)
        if not keep_rules:
            fallback = RuleExtractor(self.lexicon).extract_many(p for p in papers if p.paper_id in failed)
            return llm_rows + fallback
        seen = {(r.paper_id, r.dataset, r.value) for r in rule_rows}
        return rule_rows + [r for r in llm_rows if (r.paper_id, r.dataset, r.value) not in seen]

    # ----- one call ------------------------------------------------------------------------------

    def _batch(self, papers: list[Paper]) -> list[ResultRow]:
        sentences = [[(s, e) for s, e in sentence_spans(p.abstract)] for p in papers]
        lines = []
        for i, (paper, spans) in enumerate(zip(papers, sentences, strict=True), 1):
            lines.append(f"Paper {i}: {paper.title}")
            lines.extend(f"  [{j}] {paper.abstract[s:e]}" for j, (s, e) in enumerate(spans, 1))
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]
        result = self.client.chat(messages, max_tokens=max(self.settings.llm.max_tokens, 256 * len(papers)),
                                  response_format=RESPONSE_FORMAT)
        try:
            items = json.loads(result.text)["results"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"the model's answer is not the requested JSON: {exc}") from None
        rows = []
        for item in items if isinstance(items, list) else []:
            row = self._row(item, papers, sentences)
            if row is not None:
                rows.append(row)
        return rows

    def _row(self, item: object, papers: list[Paper], sentences: list[list[tuple[int, int]]]) -> ResultRow | None:
        if not isinstance(item, dict):
            return None
        try:
            p, s = int(item["paper"]) - 1, int(item["sentence"]) - 1
            value_text = str(item["value"]).strip()
            dataset = str(item["dataset"]).strip()
        except (KeyError, TypeError, ValueError):
            return None
        if not (0 <= p < len(papers) and 0 <= s < len(sentences[p])) or not dataset:
            return None
        paper = papers[p]
        start, end = sentences[p][s]
        sentence = paper.abstract[start:end]
        found = re.search(r"(?<![\w.])" + re.escape(value_text.lstrip("+")) + r"(?![\d])", sentence)
        if not value_text or found is None:
            return None  # the value is not written in the cited sentence: not kept
        try:
            value = float(value_text.lstrip("+").replace(",", ""))
        except ValueError:
            return None
        percent = re.match(r"\s?\\?%", sentence[found.end():found.end() + 3])
        unit = "%" if percent else None
        metric_text = item.get("metric")
        metric = (self.lexicon.resolve_metric(metric_text) or str(metric_text).strip()) if metric_text else None
        split = item.get("split")
        return ResultRow(
            paper_id=paper.paper_id, title=paper.title, model=(item.get("model") or None),
            dataset=self.lexicon.resolve_dataset(dataset) or dataset, dataset_surface=dataset,
            metric=metric, metric_surface=str(metric_text or ""), value=value, unit=unit,
            is_delta=bool(item.get("is_delta")), qualifiers=[str(split)] if split else [],
            sentence=sentence, start_char=start, end_char=end,
            value_text=sentence[found.start():found.end() + (percent.end() if percent else 0)],
            extractor=self.name,
        )
