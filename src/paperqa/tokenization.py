"""Keyword tokenisation, the one definition shared by the BM25 index, BM25 search and the
extractive answerer's keyword coverage (so a query and the index always split words alike).

bm25s does the splitting, stopwords and (optional) Snowball stemming via PyStemmer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import bm25s

from .config import RetrievalConfig


@lru_cache(maxsize=8)
def _stemmer(language: str) -> Any:
    import Stemmer  # PyStemmer: only needed when stemming is on

    return Stemmer.Stemmer(language)


def bm25_tokenize(texts: list[str], retrieval: RetrievalConfig, return_ids: bool = True) -> Any:
    """bm25s tokens of ``texts``: a ``Tokenized`` (ids + vocabulary) for indexing when
    ``return_ids``, else one list of token strings per text."""
    stemmer = _stemmer(retrieval.bm25_stemmer) if retrieval.bm25_stemmer else None
    return bm25s.tokenize(
        texts, stopwords=retrieval.bm25_stopwords or [], stemmer=stemmer, return_ids=return_ids,
        show_progress=False,
    )


def tokenize_words(texts: list[str], retrieval: RetrievalConfig) -> list[list[str]]:
    """One list of (stemmed, stopword-free) token strings per text."""
    tokens: list[list[str]] = bm25_tokenize(texts, retrieval, return_ids=False)
    return tokens


def tokenize_query(text: str, retrieval: RetrievalConfig) -> list[str]:
    return tokenize_words([text], retrieval)[0]
