"""Ranking and answer metrics, written out so that each number in a report can be recomputed by hand.

Conventions (the same as trec_eval / BEIR, so figures compare with published ones):

* A ranking is a list of document ids, best first. Duplicates are dropped keeping the first
  occurrence: retrieval is chunk-level and a paper's score is its best chunk.
* ``qrels`` maps a document id to a graded relevance; grades <= 0 are not relevant.
* nDCG uses linear gain (``rel / log2(rank + 1)``), as pytrec_eval's ``ndcg_cut`` does.
* A query with no relevant document has no defined recall or nDCG: the functions return
  ``None`` and :func:`mean_defined` leaves it out of the mean (trec_eval skips such queries too)
  instead of silently counting it as 0 or 1.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..markup import unescape_markdown

Qrels = Mapping[str, int]


def dedupe(ranking: Iterable[str]) -> list[str]:
    """Ids in order of first appearance; the first occurrence is the best-scored one."""
    seen: set[str] = set()
    out: list[str] = []
    for doc_id in ranking:
        if doc_id not in seen:
            seen.add(doc_id)
            out.append(doc_id)
    return out


def rank_by_score(scores: Mapping[str, float]) -> list[str]:
    """Ids by descending score; ties are broken by id so that two runs produce the same order."""
    return [doc_id for doc_id, _ in sorted(scores.items(), key=lambda item: (-item[1], item[0]))]


def relevant(qrels: Qrels) -> set[str]:
    return {doc_id for doc_id, grade in qrels.items() if grade > 0}


def dcg_at_k(ranking: Sequence[str], qrels: Qrels, k: int) -> float:
    ranked = dedupe(ranking)[:k]
    return sum(max(qrels.get(doc_id, 0), 0) / math.log2(i + 2) for i, doc_id in enumerate(ranked))


def ndcg_at_k(ranking: Sequence[str], qrels: Qrels, k: int) -> float | None:
    """Normalised DCG at ``k``; ``None`` when the query has no relevant document."""
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    if not ideal:
        return None
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg_at_k(ranking, qrels, k) / idcg


def recall_at_k(ranking: Sequence[str], qrels: Qrels | Iterable[str], k: int) -> float | None:
    """Share of the relevant documents found in the first ``k``; ``None`` when there are none."""
    rel = relevant(qrels) if isinstance(qrels, Mapping) else set(qrels)
    if not rel:
        return None
    return len(rel.intersection(dedupe(ranking)[:k])) / len(rel)


def mrr_at_k(ranking: Sequence[str], qrels: Qrels | Iterable[str], k: int) -> float | None:
    """Reciprocal rank of the first relevant document within ``k`` (0 if none is there)."""
    rel = relevant(qrels) if isinstance(qrels, Mapping) else set(qrels)
    if not rel:
        return None
    for i, doc_id in enumerate(dedupe(ranking)[:k]):
        if doc_id in rel:
            return 1.0 / (i + 1)
    return 0.0


def precision(predicted: Iterable[str], gold: Iterable[str]) -> float | None:
    """Share of the distinct predicted ids that are gold; ``None`` when nothing was predicted."""
    pred = set(predicted)
    if not pred:
        return None
    return len(pred.intersection(gold)) / len(pred)


def mean_defined(values: Iterable[float | None]) -> float | None:
    """Mean over the defined values; ``None`` if there are none."""
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else None


# --- key facts -----------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])\d+(?:,\d{3})*(?:\.\d+)?")


def normalize_text(text: str) -> str:
    """Case-folded, NFKC, LaTeX percent unescaped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).replace("\\%", "%").casefold()
    return re.sub(r"\s+", " ", text).strip()


def numbers_in(text: str) -> list[float]:
    """Every number written in ``text`` ("1,024" -> 1024.0, "87.1%" -> 87.1)."""
    return [float(m.group().replace(",", "")) for m in _NUMBER.finditer(unicodedata.normalize("NFKC", text))]


def _as_number(fact: str | float) -> float | None:
    if isinstance(fact, bool):
        return None
    if isinstance(fact, int | float):
        return float(fact)
    stripped = fact.strip().rstrip("%").strip()
    try:
        return float(stripped.replace(",", ""))
    except ValueError:
        return None


def fact_in_text(fact: str | float, text: str) -> bool:
    """Whether an answer states a key fact.

    A number matches any number in the text with the same value (58 == "58.0%"); a string
    matches as a case-insensitive substring, also with all whitespace removed ("3.1 x" == "3.1x").
    """
    # A table answer's text is Markdown with every cell escaped ("57\\.6\\%"): facts are matched on the literal text.
    text = unescape_markdown(text)
    value = _as_number(fact)
    if value is not None:
        return any(math.isclose(value, n, rel_tol=0, abs_tol=1e-9) for n in numbers_in(text))
    needle, hay = normalize_text(str(fact)), normalize_text(text)
    if needle in hay:
        return True
    return needle.replace(" ", "") in hay.replace(" ", "")


def fact_recall(facts: Sequence[str | int | float], text: str) -> float | None:
    """Share of the key facts stated in ``text``; ``None`` when the question lists none."""
    if not facts:
        return None
    return sum(fact_in_text(f, text) for f in facts) / len(facts)
