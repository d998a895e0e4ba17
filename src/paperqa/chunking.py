"""Split abstracts into passages small enough for the embedding model to read whole.

Token counts use tiktoken ``cl100k_base`` through ``llama_index.core.utils.get_tokenizer``, which
loads the encoding from llama-index-core's bundled cache: a plain ``tiktoken.get_encoding`` would
try to download it and fail offline.
"""

from __future__ import annotations

import array
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from .config import ChunkingConfig
from .models import Chunk, Paper
from .records import LazySequence

if TYPE_CHECKING:  # pragma: no cover
    from llama_index.core.node_parser import SentenceSplitter

# llama-index is imported inside the functions that use it: importing llama_index.core takes
# seconds, and `paperqa search` / `info` never chunk.


def token_counter() -> Callable[[str], list]:
    """The cl100k_base encoder used everywhere paperqa counts tokens."""
    from llama_index.core.utils import get_tokenizer

    return get_tokenizer()


def count_tokens(text: str) -> int:
    return len(token_counter()(text))


@cache
def _splitter(chunk_size: int, chunk_overlap: int) -> SentenceSplitter:
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 2),
        tokenizer=token_counter(),
        include_metadata=False,
        include_prev_next_rel=False,
    )


def chunk_paper(paper: Paper, cfg: ChunkingConfig) -> list[Chunk]:
    """Passages of one abstract with character offsets into it, so citations can highlight them."""
    from llama_index.core import Document
    from llama_index.core.schema import TextNode

    splitter = _splitter(cfg.chunk_size, cfg.chunk_overlap)
    nodes = splitter.get_nodes_from_documents([Document(text=paper.abstract, id_=paper.paper_id)])
    chunks = []
    for position, node in enumerate(nodes):
        assert isinstance(node, TextNode)  # SentenceSplitter makes text nodes, with character offsets
        start, end = _offsets(paper.abstract, node.get_content(), node.start_char_idx, node.end_char_idx)
        chunks.append(
            Chunk(
                chunk_id=f"{paper.paper_id}#{position}",
                paper_id=paper.paper_id,
                title=paper.title,
                text=paper.abstract[start:end],
                position=position,
                start_char=start,
                end_char=end,
            )
        )
    return chunks


def chunk_papers(papers: Iterable[Paper], cfg: ChunkingConfig) -> list[Chunk]:
    return [chunk for paper in papers for chunk in chunk_paper(paper, cfg)]


class ChunkPlan(LazySequence[Chunk]):
    """The passages of papers as compact arrays (paper, start, end: 12 bytes a passage).

    An ingest chunks every paper once, up front (it needs the count and the sentence layout
    before embedding), but a :class:`Chunk` object costs ~2 KB: the plan rebuilds each passage
    from its paper when a slice is embedded or written, so they are never all held together.
    Reading a passage back gives the same record :func:`chunk_paper` made.
    """

    def __init__(self, papers: Sequence[Paper], cfg: ChunkingConfig) -> None:
        self.papers = papers
        paper, start, end = array.array("i"), array.array("i"), array.array("i")
        first = array.array("q", [0])  # row of each paper's first passage, for positions
        for index, one in enumerate(papers):
            chunks = chunk_paper(one, cfg)
            for chunk in chunks:
                paper.append(index)
                start.append(chunk.start_char)
                end.append(chunk.end_char)
            first.append(first[-1] + len(chunks))
        self._paper = np.frombuffer(paper, dtype=np.int32)
        self._start = np.frombuffer(start, dtype=np.int32)
        self._end = np.frombuffer(end, dtype=np.int32)
        self._first = np.frombuffer(first, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._paper)

    def _item(self, row: int) -> Chunk:
        index = int(self._paper[row])
        paper = self.papers[index]
        position = row - int(self._first[index])
        start, end = int(self._start[row]), int(self._end[row])
        return Chunk(chunk_id=f"{paper.paper_id}#{position}", paper_id=paper.paper_id, title=paper.title,
                     text=paper.abstract[start:end], position=position, start_char=start, end_char=end)


def indexed_text(chunk: Chunk, cfg: ChunkingConfig) -> str:
    """What the retrievers see: the title gives a passage from the middle of an abstract its topic."""
    return f"{chunk.title}\n{chunk.text}" if cfg.title_in_chunk else chunk.text


def text_offset(chunk: Chunk, cfg: ChunkingConfig) -> int:
    """Where ``chunk.text`` starts inside :func:`indexed_text`."""
    return len(chunk.title) + 1 if cfg.title_in_chunk else 0


def _offsets(abstract: str, text: str, start: int | None, end: int | None) -> tuple[int, int]:
    """The splitter's offsets, or a search for the text when it could not give them."""
    if start is not None and end is not None and abstract[start:end] == text:
        return start, end
    found = abstract.find(text)
    if found >= 0:
        return found, found + len(text)
    # The splitter normalises whitespace in rare cases; fall back to the span it reported.
    start = start or 0
    return start, min(len(abstract), end if end is not None else start + len(text))


@cache
def _sentence_tokenizer() -> Callable[[str], list[str]]:
    # llama-index's punkt tokenizer ships with llama-index-core: no nltk download at run time.
    from llama_index.core.node_parser.text.utils import split_by_sentence_tokenizer

    return split_by_sentence_tokenizer()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text``, so a quote can be highlighted in place."""
    spans = []
    cursor = 0
    for sentence in _sentence_tokenizer()(text):
        stripped = sentence.strip()
        if not stripped:
            continue
        start = text.find(stripped, cursor)
        if start < 0:
            continue
        spans.append((start, start + len(stripped)))
        cursor = start + len(stripped)
    return spans
