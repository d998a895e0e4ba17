"""Extractive answers: quote the retrieved sentences that best answer the question.

This is the answer path with no language model (and the fallback when the model is down). It
never writes a word of its own about the papers: every line is a sentence copied from an
abstract with its citation, so it cannot invent a fact or a source. It refuses when no sentence
is relevant enough, instead of quoting whatever ranked first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .chunking import sentence_spans
from .config import AnswerConfig, RetrievalConfig
from .embedding import Embedder
from .models import Answer, Chunk, Citation, Hit
from .tokenization import tokenize_words

EXTRACTIVE_NOTICE = (
    "Extractive answer: the sentences below are quoted from the retrieved abstracts, not generated. "
    "Configure an LLM (llm.base_url) for written answers."
)


# A chunk's stored sentences: (spans (n, 2), vectors (n, d)), or None when the index has none.
SentenceLookup = Callable[[Chunk], "tuple[np.ndarray, np.ndarray] | None"]


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, with its place in the passage (and its stored vector)."""

    hit: Hit
    start: int
    end: int
    vector: np.ndarray | None = None

    @property
    def text(self) -> str:
        return self.hit.chunk.text[self.start : self.end]


def extractive_answer(
    question: str, hits: list[Hit], embedder: Embedder, answer_cfg: AnswerConfig, retrieval_cfg: RetrievalConfig,
    passages: list[Hit] | None = None, term_weights: Callable[[list[str]], np.ndarray] | None = None,
    stored_sentences: SentenceLookup | None = None,
) -> Answer:
    """Quote the best sentences, each with a numbered citation; or refuse.

    ``passages`` (default: ``hits``) are where quotes may come from, e.g. the hits plus the
    other passages of the same papers; ``hits`` is what the answer reports as retrieved.
    ``stored_sentences`` gives the sentence spans and vectors the index stored at ingest; without
    it (or for chunks it lacks) sentences are split and encoded now, which is most of the time an
    extractive answer takes.
    """
    candidates = _candidates(passages if passages is not None else hits, stored_sentences)
    if not candidates:
        return refusal(question, hits, answer_cfg)
    if answer_cfg.require_named_terms:
        missing = missing_named_terms(question, [c.hit.chunk.text for c in candidates])
        if missing:
            reason = f"The retrieved passages never mention {', '.join(missing)}."
            return refusal(question, hits, answer_cfg, reason=reason)
    relevance = sentence_relevance(
        question, [c.text for c in candidates], embedder, answer_cfg, retrieval_cfg, term_weights,
        vectors=[c.vector for c in candidates],
    )
    chosen = _choose(candidates, relevance, answer_cfg)
    if not chosen:
        return refusal(question, hits, answer_cfg, best_relevance=float(relevance.max()))
    citations = [_citation(i, c) for i, c in enumerate(chosen, start=1)]
    return Answer(
        question=question,
        text=_render(citations),
        citations=citations,
        refused=False,
        mode="extractive",
        notice=EXTRACTIVE_NOTICE,
        hits=hits,
    )


def refusal(
    question: str, hits: list[Hit], cfg: AnswerConfig, best_relevance: float | None = None, reason: str | None = None
) -> Answer:
    if reason is None:
        detail = "" if best_relevance is None else f" (best sentence relevance {best_relevance:.2f} < {cfg.min_relevance})"
        reason = f"No retrieved passage was relevant enough to quote{detail}."
    return Answer(question=question, text=cfg.refusal_text, refused=True, mode="extractive", notice=reason, hits=hits)


_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-./]*[A-Za-z0-9]|[A-Za-z0-9]")


def _is_name(word: str) -> bool:
    """Model, dataset and metric names: "YOLOv8", "EfficientNet-B7", "GPT-3", "ADE20K", "mIoU", "CNN"."""
    has_letter = any(ch.isalpha() for ch in word)
    has_digit = any(ch.isdigit() for ch in word)
    inner_upper = any(ch.isupper() for ch in word[1:])
    return has_letter and (has_digit or inner_upper)


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def missing_named_terms(question: str, passages: list[str]) -> list[str]:
    """Names in the question that no retrieved passage contains.

    A question about "YOLOv8 on COCO" must not be answered with quotes about YOLOv5: sentence
    similarity cannot tell them apart, an exact name check can. Hyphenated names are matched whole
    when they carry a digit ("GPT-3", "ImageNet-1K"), else by their name-like parts ("CNN" in
    "CNN-transformer"); spacing, case and punctuation are ignored ("Top-1" matches "top 1").
    """
    text = _squash(" | ".join(passages))
    missing = []
    for word in dict.fromkeys(_WORD.findall(question)):
        if not _is_name(word):
            continue
        parts = [word] if any(ch.isdigit() for ch in word) else [p for p in re.split(r"[-/]", word) if _is_name(p)]
        if any(_squash(part) not in text for part in parts):
            missing.append(word)
    return missing


def sentence_relevance(
    question: str, sentences: list[str], embedder: Embedder, answer_cfg: AnswerConfig, retrieval_cfg: RetrievalConfig,
    term_weights: Callable[[list[str]], np.ndarray] | None = None, vectors: list[np.ndarray | None] | None = None,
) -> np.ndarray:
    """Blend of semantic similarity and keyword coverage.

    Similarity alone misses "which papers report ADE20K mIoU" (the embedding barely knows the
    dataset's name); keywords alone quote any sentence that repeats a common word. ``vectors``
    (stored at ingest) shortlist ``answer.rescore_sentences`` candidates so that only those are
    encoded now; without them (or with a NaN among them) every sentence is encoded.
    """
    question_vector = embedder.embed_query(question)
    coverage = _keyword_coverage(question, sentences, retrieval_cfg, term_weights)
    w = answer_cfg.keyword_weight
    stored = vectors is not None and all(v is not None and not np.isnan(v[0]) for v in vectors)
    shortlist_size = answer_cfg.rescore_sentences
    if not stored or shortlist_size >= len(sentences):
        similarity = embedder.embed_texts(sentences, query_time=True) @ question_vector
        return (1 - w) * similarity + w * coverage
    assert vectors is not None
    approximate = (1 - w) * (np.stack(vectors).astype(np.float32) @ question_vector) + w * coverage
    if shortlist_size == 0:
        return approximate
    # Stored vectors are pooled from the passage's tokens, so they carry the passage's context:
    # good for ranking candidates, not exact enough to quote from. The shortlist they rank is
    # re-scored with each sentence encoded on its own, as every sentence used to be; the rest
    # cannot be quoted (relevance -1, below any threshold).
    shortlist = np.argsort(-approximate, kind="stable")[:shortlist_size]
    exact = embedder.embed_texts([sentences[i] for i in shortlist], query_time=True) @ question_vector
    relevance = np.full(len(sentences), -1.0, dtype=np.float32)
    relevance[shortlist] = (1 - w) * exact + w * coverage[shortlist]
    return relevance


def _keyword_coverage(
    question: str, sentences: list[str], retrieval_cfg: RetrievalConfig,
    term_weights: Callable[[list[str]], np.ndarray] | None,
) -> np.ndarray:
    """Weighted share of the question's keywords (BM25 tokens: stemmed, no stopwords) in each sentence."""
    tokenised = tokenize_words([question, *sentences], retrieval_cfg)
    keywords = list(dict.fromkeys(tokenised[0]))
    if not keywords:
        return np.zeros(len(sentences), dtype=np.float32)
    weights = term_weights(keywords) if term_weights else np.ones(len(keywords))
    total = float(weights.sum()) or 1.0
    coverage = []
    for tokens in tokenised[1:]:
        present = set(tokens)
        coverage.append(sum(w for kw, w in zip(keywords, weights, strict=True) if kw in present) / total)
    return np.array(coverage, dtype=np.float32)


def _candidates(hits: list[Hit], stored: SentenceLookup | None = None) -> list[Candidate]:
    """Every sentence of every hit once: overlapping chunks repeat sentences of one paper."""
    seen: set[tuple[str, str]] = set()
    candidates = []
    for hit in hits:
        found = stored(hit.chunk) if stored is not None else None
        if found is not None:
            spans, vectors = found
            pairs = zip(spans.tolist(), vectors, strict=True)
        else:
            pairs = ((span, None) for span in sentence_spans(hit.chunk.text))
        for (start, end), vector in pairs:
            key = (hit.paper_id, hit.chunk.text[start:end])
            if key not in seen:
                seen.add(key)
                candidates.append(Candidate(hit, start, end, vector))
    return candidates


def _choose(candidates: list[Candidate], relevance: np.ndarray, cfg: AnswerConfig) -> list[Candidate]:
    best = float(relevance.max())
    if best < cfg.min_relevance:
        return []
    floor = max(cfg.min_relevance, cfg.relative_threshold * best)
    per_paper: dict[str, int] = {}
    chosen: list[Candidate] = []
    for index in np.argsort(-relevance, kind="stable"):
        if relevance[index] < floor or len(chosen) == cfg.max_sentences:
            break
        candidate = candidates[index]
        if per_paper.get(candidate.hit.paper_id, 0) >= cfg.max_sentences_per_paper:
            continue
        per_paper[candidate.hit.paper_id] = per_paper.get(candidate.hit.paper_id, 0) + 1
        chosen.append(candidate)
    # Group quotes of one paper together, papers in order of their best quote.
    order = {pid: i for i, pid in enumerate(dict.fromkeys(c.hit.paper_id for c in chosen))}
    return sorted(chosen, key=lambda c: (order[c.hit.paper_id], c.start))


def _citation(key: int, candidate: Candidate) -> Citation:
    hit = candidate.hit
    return Citation(
        key=key,
        paper_id=hit.paper_id,
        title=hit.title,
        passage=hit.chunk.text,
        chunk_id=hit.chunk.chunk_id,
        quote=candidate.text,
        quote_start=candidate.start,
        quote_end=candidate.end,
        score=hit.score,
        url=hit.paper.url,
        authors=hit.paper.authors,
        year=hit.paper.year,
    )


def _render(citations: list[Citation]) -> str:
    """One bullet per paper: its title, then each quoted sentence with its citation key."""
    lines = []
    by_paper: dict[str, list[Citation]] = {}
    for citation in citations:
        by_paper.setdefault(citation.paper_id, []).append(citation)
    for group in by_paper.values():
        quotes = " ".join(f"\u201c{c.quote}\u201d [{c.key}]" for c in group)
        lines.append(f"- **{group[0].title}**: {quotes}")
    return "\n".join(lines)
