"""The records that travel between modules: papers, chunks, hits, citations, answers.

They are pydantic models so that the index store, the CLI's ``--json`` output, the web UI and
the evaluation reports all serialise them the same way.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
    qualifier_evidence: str | None = Field(
        default=None, description="in an answer with a qualitative part: the paper's sentence that matches it best")
    qualifier_match: float | None = Field(default=None, description="share of the qualifier's terms that sentence holds")
    qualifier_verdict: Literal["yes", "no", "unclear"] | None = Field(
        default=None, description="the LLM's judgement of the qualifier, when an LLM is configured")


class GenerationInfo(BaseModel):
    """How a generated answer was produced: the model's settings and what happened on the way.
    Every field is optional (an extractive answer has none of them).

    Reading it like the dict it used to be (``stats.settings["finish_reason"]``, ``.get(...)``)
    still works; new code reads attributes. Keys added by newer code are kept (``extra="allow"``).
    """

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    base_url: str | None = None
    engine: str | None = Field(default=None, description="set by the in-process batched engine")
    context_window: int | None = None
    context_window_source: str | None = Field(default=None, description="server max_model_len | llm.context_window")
    max_tokens: int | None = None
    temperature: float | None = None
    evidence: str | None = Field(default=None, description="answer.evidence: off | llm")
    keep_uncited: bool | None = None
    standalone_question: str | None = Field(default=None, description="a follow-up rewritten to stand alone")
    passages_retrieved: int | None = None
    passages_in_prompt: int | None = None
    passages_dropped: int | None = Field(default=None, description="lowest-ranked passages cut to fit the prompt")
    prompt_budget_tokens: int | None = None
    prompt_tokens_estimated: int | None = None
    evidence_rejected: int | None = None
    evidence_unreadable: int | None = None
    attempts: int | None = Field(default=None, description="calls made for the answer, retries included")
    finish_reason: str | None = None
    refusal_reason: str | None = None
    llm_calls: int | None = None
    token_counts: str | None = Field(default=None, description="server usage | estimated (cl100k_base)")
    batch_size: int | None = None
    total_s_is: str | None = None
    timings_s: dict[str, float] = Field(default_factory=dict, description="seconds per stage, e.g. evidence")
    cut_by: str | None = Field(default=None, description='finish_reason "length": llm.max_tokens | context window')
    rejected_generation: dict[str, Any] | None = Field(
        default=None, description="a generated answer that cited nothing, replaced by the extractive one: why, "
                                  "its text, tokens and settings")
    json_sentences: int | None = Field(default=None, description="answer.format json: sentences the model finished")
    json_error: str | None = Field(default=None, description="answer.format json: why the JSON reply ended early")
    json_rejected: str | None = Field(
        default=None, description="answer.format json: the server's message when it refused the schema (text used)")
    answer_format_note: str | None = None

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, None)
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        """``"key" in settings``: the key is set (as with :meth:`get`, None counts as unset)."""
        return isinstance(key, str) and getattr(self, key, None) is not None


class AnswerStats(BaseModel):
    """What it cost to produce an answer, recorded for evaluation and the UI."""

    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    time_to_first_token_s: float | None = None
    retrieval_s: float | None = None
    total_s: float | None = None
    unsupported_citations: int = Field(
        default=0, description="cited sentences dropped because the cited passages do not back them"
    )
    prompt_version: str | None = Field(
        default=None, description="the answer prompt used, as name@version from paperqa/data/prompts.yaml")
    answer_format: Literal["text", "json"] | None = Field(
        default=None, description="how the model was asked to answer: free text, or JSON constrained by a schema")
    settings: GenerationInfo = Field(default_factory=GenerationInfo)


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
    unsupported_sentences: list[str] = Field(
        default_factory=list, description="cited sentences dropped: a number or too many words not in the cited passage"
    )
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


class AnswerStream:
    """An answer as it is produced: text deltas, then the final :class:`Answer`.

    Like llama-index's ``StreamingResponse``: iterate :meth:`deltas` for the text (typed
    ``str``), then :meth:`get_response` for the checked answer, which is authoritative (after a
    fallback or with uncited sentences removed it differs from the streamed text). Iterating the
    stream itself yields the deltas and then the Answer, as ``qa.stream()`` always has.
    :meth:`close` ends the underlying model stream early (the UI's Stop button).
    """

    def __init__(self, source: Generator[str, None, Answer]) -> None:
        self._source = source
        self._answer: Answer | None = None
        self._answer_yielded = False

    def deltas(self) -> Generator[str, None, Answer]:
        """The text as it arrives; returns (``yield from``) the final Answer."""
        if self._answer is None:
            self._answer = yield from self._source
        return self._answer

    def get_response(self) -> Answer:
        """The final Answer, running the rest of the stream first if needed."""
        for _ in self.deltas():
            pass
        assert self._answer is not None
        return self._answer

    @property
    def answer(self) -> Answer | None:
        """The final Answer once the stream has ended, else None."""
        return self._answer

    def __iter__(self) -> Iterator[str | Answer]:
        return self

    def __next__(self) -> str | Answer:
        if self._answer is None:
            try:
                return next(self._source)
            except StopIteration as end:
                self._answer = end.value
        if self._answer_yielded:
            raise StopIteration
        self._answer_yielded = True
        assert self._answer is not None
        return self._answer

    def close(self) -> None:
        self._source.close()
