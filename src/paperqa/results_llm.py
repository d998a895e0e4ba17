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

from .chunking import count_tokens
from .config import Settings
from .lexicon import Lexicon
from .llm import LLMClient, LLMUnavailableError
from .models import Paper, ResultRow
from .results import RuleExtractor, sentence_spans, written_numbers

_ROW: dict = {
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
}
SCHEMA: dict = {
    "type": "object",
    "properties": {"results": {"type": "array", "items": _ROW}},
    "required": ["results"],
    "additionalProperties": False,
}
RESPONSE_FORMAT = {"type": "json_schema", "json_schema": {"name": "reported_results", "schema": SCHEMA, "strict": True}}
# Most tokens a row can cost: the names' maxLength plus the whitespace vLLM's JSON grammar lets a
# model put in (SmolLM2 wrote 70-105), so that ``max_tokens`` leaves room for every row allowed.
_TOKENS_PER_ROW = 160


def batch_response_format(n_papers: int, n_sentences: int, values: Sequence[str], max_rows: int) -> dict:
    """:data:`RESPONSE_FORMAT` narrowed to one batch, so that decoding cannot leave it.

    A real model (SmolLM2 on vLLM 0.32, measured) otherwise numbers papers that were never sent and
    keeps adding rows until ``max_tokens`` cuts the JSON: ``paper`` and ``sentence`` are bounded by
    what the batch holds, ``value`` is one of the figures written in it, names are short, and the list
    has at most ``max_rows`` rows. Every constraint is one vLLM's structured output (xgrammar) enforces.
    """
    row = json.loads(json.dumps(_ROW))
    row["properties"]["paper"].update(minimum=1, maximum=n_papers)
    row["properties"]["sentence"].update(minimum=1, maximum=max(1, n_sentences))
    row["properties"]["value"]["enum"] = list(values)
    for name, longest in (("model", 80), ("dataset", 80), ("metric", 60), ("split", 40)):
        row["properties"][name]["maxLength"] = longest  # names, not sentences (SmolLM2 pasted whole ones)
    schema = {**SCHEMA, "properties": {"results": {"type": "array", "items": row, "maxItems": max_rows}}}
    return {"type": "json_schema", "json_schema": {"name": "reported_results", "schema": schema, "strict": True}}


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
        values = list(dict.fromkeys(n for p in papers for n in written_numbers(p.abstract)))
        if not values:
            return []  # no figure written in any of these abstracts: nothing to ask the model
        lines = []
        for i, (paper, spans) in enumerate(zip(papers, sentences, strict=True), 1):
            lines.append(f"Paper {i}: {paper.title}")
            lines.extend(f"  [{j}] {paper.abstract[s:e]}" for j, (s, e) in enumerate(spans, 1))
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]
        max_rows, max_tokens = self._room(messages, len(papers))
        response_format = batch_response_format(len(papers), max(map(len, sentences)), values, max_rows)
        result = self.client.chat(messages, max_tokens=max_tokens, response_format=response_format)
        items = complete_rows(result.text)
        if items is None:
            raise ValueError(f"the model's answer is not the requested JSON (finish reason {result.finish_reason})")
        rows = []
        for item in items:
            row = self._row(item, papers, sentences)
            if row is not None:
                rows.append(row)
        return rows

    def _room(self, messages: list[dict[str, str]], n_papers: int) -> tuple[int, int]:
        """(most rows, max_tokens) for one call: every row the schema allows must fit in the answer,
        and the answer in what the server's context window leaves after the prompt."""
        llm = self.settings.llm
        window = self.client.server_info().context_window(llm.context_window)
        # cl100k_base is not the served model's tokenizer: a 30% slack, wider than the 10% of
        # prompting.count_message_tokens (not measured for batches of abstracts; kept on the safe side).
        prompt = int(sum(count_tokens(m["content"]) for m in messages) * 1.3) + 32
        wanted = self.settings.results.llm_max_rows_per_paper * n_papers
        room = window - prompt
        if room < _TOKENS_PER_ROW + 16:
            raise ValueError(f"{n_papers} abstracts leave no room for an answer in a context window of "
                             f"{window} tokens (lower results.llm_batch_size)")
        max_rows = max(1, min(wanted, (room - 16) // _TOKENS_PER_ROW))
        return max_rows, min(room, _TOKENS_PER_ROW * max_rows + 16)

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
        found = re.search(r"(?<![\w.])" + re.escape(value_text.lstrip("+")) + r"(?!\w|\.\d)", sentence)
        if not value_text or found is None:
            return None  # the value is not written in the cited sentence: not kept
        try:
            value = float(value_text.lstrip("+").replace(",", ""))
        except ValueError:
            return None
        percent = re.match(r"\s?\\?%", sentence[found.end():found.end() + 3])
        unit = "%" if percent else None
        text = f"{paper.title}\n{paper.abstract}"
        if not self._written(dataset, text, datasets=True):
            return None  # a dataset the paper does not name (a small model invents them): not kept
        metric_text = item.get("metric")
        if metric_text and not self._written(str(metric_text), text, datasets=False):
            metric_text = None  # a metric the paper does not name is dropped, the figure kept
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

    def _written(self, name: str, text: str, datasets: bool) -> bool:
        """Whether the paper names ``name``: as written (case, spaces and punctuation aside), or one of
        the lexicon's names of the same dataset / metric ("ADE-20K" for "ADE20K")."""
        if f" {_folded(name)} " in f" {_folded(text)} " and _folded(name):
            return True
        if datasets:
            canonical, found = self.lexicon.resolve_dataset(name), self.lexicon.find_datasets(text)
        else:
            canonical, found = self.lexicon.resolve_metric(name), self.lexicon.find_metrics(text)
        return canonical is not None and any(m.name == canonical for m in found)


def _folded(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.casefold()))


def complete_rows(text: str) -> list[object] | None:
    """The rows of the model's ``{"results": [...]}``, or None when it is not that JSON.

    An answer cut by ``max_tokens`` keeps the rows completed before the cut (each is checked like
    any other row); only an answer with no readable start is None. Hand-rolled over
    ``json.JSONDecoder.raw_decode`` because the JSON libraries here parse whole documents only.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        items = data.get("results")
        return items if isinstance(items, list) else None
    opening = re.match(r'\s*\{\s*"results"\s*:\s*\[', text)
    if opening is None:
        return None
    decoder, at = json.JSONDecoder(), opening.end()
    rows: list[object] = []
    while True:
        at = len(text) - len(text[at:].lstrip(" \t\r\n,"))
        try:
            item, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            return rows
        rows.append(item)
