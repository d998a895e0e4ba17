"""The records that travel between modules: papers, chunks, hits, citations, answers.

They are pydantic models so that the index store, the CLI's ``--json`` output, the web UI and
the evaluation reports all serialise them the same way.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Paper(BaseModel):
    """One paper as read from a source file; ``paper_id`` is stable across re-ingests."""

    paper_id: str
    title: str
    abstract: str
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    url: str | None = None
    categories: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list, description="file names the paper was read from")


class Chunk(BaseModel):
    """A passage of one abstract; offsets point into ``Paper.abstract`` so a UI can highlight it."""

    chunk_id: str
    paper_id: str
    title: str
    text: str
    position: int = Field(description="0-based order of the chunk within its abstract")
    start_char: int
    end_char: int


class Hit(BaseModel):
    """A retrieved passage with the evidence of how each retriever ranked it."""

    chunk: Chunk
    paper: Paper
    score: float = Field(description="fused score in hybrid mode, else the retriever's own score")
    rank: int = Field(description="1-based rank in the final list")
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None
    bm25_score: float | None = None

    @property
    def paper_id(self) -> str:
        return self.paper.paper_id

    @property
    def title(self) -> str:
        return self.paper.title

    @property
    def text(self) -> str:
        return self.chunk.text


class Citation(BaseModel):
    """A numbered source of an answer: the passage and, inside it, the sentence that was cited."""

    key: int
    paper_id: str
    title: str
    passage: str
    chunk_id: str
    quote: str = Field(description="the cited sentence, as it stands in the passage")
    quote_start: int = Field(description="offset of the quote in the passage")
    quote_end: int
    score: float
    url: str | None = None
    authors: list[str] = Field(default_factory=list)
    year: int | None = None


class ResultRow(BaseModel):
    """One result an abstract states ("52.7 mIoU on ADE20K"), with the sentence that states it.

    Rows are extracted at ingest (``results`` module) and stored in the index version; a
    cross-paper question is answered from all of them, not from the top-k passages. A row with
    ``value`` None records a paper that names the dataset without a figure for it.
    """

    paper_id: str
    title: str = ""
    model: str | None = Field(default=None, description="the method the sentence attributes it to")
    dataset: str = Field(description="canonical dataset name from the lexicon, e.g. ADE20K")
    dataset_surface: str = Field(default="", description="the dataset as written in the abstract")
    metric: str | None = Field(default=None, description="canonical metric name, e.g. mIoU")
    metric_surface: str = ""
    value: float | None = None
    unit: str | None = Field(default=None, description="%, points, ms, M params, ...")
    is_delta: bool = Field(default=False, description="an improvement (+3.2 mIoU over X), not an absolute")
    qualifiers: list[str] = Field(default_factory=list, description="split, single-scale, params, ...")
    sentence: str = Field(default="", description="the sentence stating the result")
    start_char: int = Field(default=0, description="offset of the sentence in Paper.abstract")
    end_char: int = 0
    value_text: str = Field(default="", description="the value as written, e.g. 84.7\\%")
    extractor: str = Field(default="rules", description="rules | llm")
    citation: Citation | None = Field(default=None, description="filled when the row is part of an answer")


class AnswerStats(BaseModel):
    """What it cost to produce an answer, recorded for evaluation and the UI."""

    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    time_to_first_token_s: float | None = None
    retrieval_s: float | None = None
    total_s: float | None = None
    settings: dict = Field(default_factory=dict)


class Answer(BaseModel):
    """An answer whose every citation points at a retrieved passage."""

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    refused: bool = False
    mode: Literal["extractive", "generated"] = "extractive"
    notice: str | None = Field(default=None, description="shown to the user: extractive, model down, ...")
    invalid_citations: list[str] = Field(default_factory=list)
    uncited_sentences: list[str] = Field(default_factory=list)
    hits: list[Hit] = Field(default_factory=list, description="everything retrieved, cited or not")
    table: list[ResultRow] = Field(
        default_factory=list, description="cross-paper answers: every paper reporting the asked result"
    )
    stats: AnswerStats = Field(default_factory=AnswerStats)


class SourceProblem(BaseModel):
    """Why an input file, or one record in it, was not indexed."""

    path: str
    line: int | None = None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


class IngestReport(BaseModel):
    """What an ingest did; ``errors`` lists records or files that were rejected."""

    added: int = 0
    skipped: int = Field(default=0, description="papers already in the index, or duplicates across files")
    chunks_added: int = 0
    errors: list[SourceProblem] = Field(default_factory=list)
    warnings: list[SourceProblem] = Field(default_factory=list)
    timings_s: dict[str, float] = Field(default_factory=dict)


class IndexInfo(BaseModel):
    """What an index holds, for ``paperqa info`` and the UI's library tab."""

    index_dir: str
    papers: int
    chunks: int
    embedding_model: str
    dimension: int
    index_type: str
    chunk_size: int
    chunk_overlap: int
    paperqa_version: str
    sources: dict[str, int] = Field(default_factory=dict, description="source file name -> paper count")
    created_at: str | None = None
    updated_at: str | None = None
    results: int | None = Field(
        default=None, description="results-table rows with a figure; None: not extracted yet (older index)"
    )
