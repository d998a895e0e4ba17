"""``PaperQA``: the one object the CLI, the web UI and the evaluation harness talk to.

Each instance owns its settings, its embedding model and its loaded index version, so two
instances on two index folders never interfere. An ingest builds a new index version on disk and
swaps it in; searches that already started keep the version they began with.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .answering import extractive_answer, refusal
from .chunking import ChunkPlan, indexed_text, sentence_spans, text_offset
from .config import Settings, cache_dir, load_config
from .crosspaper import (
    QualifierJudge,
    TableQuery,
    answer_support,
    cited_chunk_id,
    parse_question,
    rank_rows,
    table_answer,
    table_rows,
)
from .embedding import Embedder, progress_bar
from .errors import IndexNotFoundError, LLMUnavailableError, QuestionError
from .index_store import (
    IndexStore,
    ResultsUpdate,
    SentenceSpill,
    SentenceVectors,
    index_cache_key,
    slices,
    spill_folder,
    writer_lock,
)
from .lexicon import Lexicon, get_lexicon
from .models import (
    Answer,
    AnswerStream,
    Chunk,
    Hit,
    IndexInfo,
    IngestReport,
    Paper,
    ResultRow,
    SourceProblem,
)
from .records import PaperSpill, Subset
from .results import EXTRACTOR_VERSION, RuleExtractor
from .results_table import ResultsStoreError, ResultsTable, read_meta
from .retrieval import Retriever, SearchFilters
from .sources import bundled_corpus_paths, is_title_hash_id, load_papers, plan_files, title_key

if TYPE_CHECKING:  # pragma: no cover
    from .generation import AnswerGenerator

History = list[dict[str, str]]
def default_index_dir(settings: Settings, model_id: str) -> Path:
    """The bundled corpus's index: one folder per index identity and build settings, built on first use."""
    digest = index_cache_key(settings, model_id, corpus="bundled")
    return cache_dir() / f"bundled-{digest}"


class PaperQA:
    """Ingest papers, search them, and answer questions with cited passages."""

    def __init__(
        self,
        index_dir: str | os.PathLike[str] | None = None,
        config: str | os.PathLike[str] | None = None,
        overrides: dict[str, Any] | None = None,
        *,
        settings: Settings | None = None,
        use_index_settings: bool = False,
        embedder: Embedder | None = None,
        store: IndexStore | None = None,
    ) -> None:
        """``index_dir`` and ``index.dir`` both unset means the bundled corpus (built on first use).

        ``store`` hands over an already loaded version of the index at ``index_dir`` (see
        :meth:`with_settings`) instead of reading it from disk again.
        """
        self.settings = settings or load_config(config, overrides)
        chosen_dir = index_dir or self.settings.index.dir
        self.embedder = embedder or Embedder(self.settings.embedding)
        self.bundled = chosen_dir is None
        self.index_dir = Path(chosen_dir).expanduser() if chosen_dir else default_index_dir(self.settings, self.embedder.model_id)
        self._lock = threading.RLock()
        self._retriever: Retriever | None = None
        self._pending: IndexStore | None = None  # a loaded or just written version, searched once asked
        self._generator: AnswerGenerator | None = None
        self._results: tuple[IndexStore, ResultsTable] | None = None
        self._extraction_warnings: list[str] = []
        if store is not None:
            self._load(use_index_settings, store)
        elif IndexStore.exists(self.index_dir):
            self._load(use_index_settings)

    @classmethod
    def from_config(cls, path: str | os.PathLike[str], **kwargs: Any) -> PaperQA:
        return cls(config=path, **kwargs)

    def with_settings(self, overrides: dict[str, Any]) -> PaperQA:
        """Same index and model, other retrieval/answer settings: for comparing configurations."""
        settings = self.settings.with_overrides(overrides)
        store = self.retriever.store  # builds the bundled index first if it has to
        return PaperQA(self.index_dir, settings=settings, embedder=self._shared_embedder(settings), store=store)

    # ----- index -------------------------------------------------------------------------------

    def _load(self, use_index_settings: bool = False, store: IndexStore | None = None) -> None:
        store = store or IndexStore.open(self.index_dir)
        if use_index_settings:
            self.settings = self.settings.with_overrides(store.settings_overrides())
            self.embedder = self._shared_embedder(self.settings)
        store.check_compatible(self.settings, self.embedder.model_id)
        self._pending, self._retriever = store, None

    def _shared_embedder(self, settings: Settings) -> Embedder:
        return self.embedder if settings.embedding == self.embedder.cfg else Embedder(settings.embedding)

    @property
    def retriever(self) -> Retriever:
        """The retriever over the live index version; builds the bundled index on first use.

        After an ingest it is built on first use too: an ingest alone never loads the records
        into memory (``paperqa ingest`` of millions of passages stays within the slices it embeds).
        """
        if self._retriever is None:
            with self._lock:
                if self._retriever is None:
                    if self._pending is None and self.bundled:
                        self.ingest(bundled_corpus_paths())
                    if self._pending is None:
                        raise IndexNotFoundError(
                            f"no index at {self.index_dir}: run `paperqa ingest PATH --index-dir {self.index_dir}` first"
                        )
                    self._retriever, self._pending = Retriever(self._pending, self.embedder, self.settings), None
        return self._retriever

    def info(self) -> IndexInfo:
        info = self.retriever.store.info()
        if info.results is None and self._results is not None and self._results[0] is self.retriever.store:
            info.results = self._results[1].count(with_value=True)  # an older index, extracted in memory
        return info

    # ----- results table -----------------------------------------------------------------------

    @property
    def lexicon(self) -> Lexicon:
        """The packaged lexicon plus the files of ``results.lexicon``."""
        return get_lexicon(self.settings.results.lexicon)

    @property
    def results_table(self) -> ResultsTable:
        """Every result extracted from the live index version (queried whole, not top-k).

        An index written before results existed, or with another lexicon or extractor version, is
        extracted in memory on first use (the next ingest stores it).
        """
        store = self.retriever.store
        cached = self._results
        if cached is not None and cached[0] is store:
            return cached[1]
        with self._lock:
            if self._results is None or self._results[0] is not store:
                lexicon = self.lexicon
                papers = self.retriever.papers
                titles = {pid: p.title for pid, p in papers.items()}
                path = store.results_path
                if path is not None and _results_current(path, lexicon):
                    table = ResultsTable.open(path, lexicon, titles)
                else:
                    table = ResultsTable.from_rows(self._extract(list(papers.values())), lexicon, titles)
                self._results = (store, table)
            return self._results[1]

    def results(
        self, dataset: str | None = None, metric: str | None = None, min_value: float | None = None,
        max_value: float | None = None, paper_ids: Sequence[str] | None = None, include_deltas: bool = False,
        include_mentions: bool = False,
    ) -> list[ResultRow]:
        """Every paper's reported result matching the filters, best first (see :meth:`ResultsTable.query`).

        ``dataset`` and ``metric`` are resolved through the lexicon ("ade 20k", "COCO box AP",
        "top-1"); each row carries the paper's title and the sentence with its offsets.
        """
        return self.results_table.query(dataset=dataset, metric=metric, min_value=min_value, max_value=max_value,
                                         paper_ids=paper_ids, include_deltas=include_deltas,
                                         include_mentions=include_mentions)

    def _extract(self, papers: list[Paper]) -> list[ResultRow]:
        """Rows of the results the papers' abstracts state, with the configured extractor."""
        mode = self.settings.results.extractor
        rows: list[ResultRow] = []
        if mode in ("rules", "both"):
            rows.extend(RuleExtractor(self.lexicon).extract_many(papers))
        if mode in ("llm", "both") and papers:
            from .results_llm import LLMExtractor

            extractor = LLMExtractor(self.settings, self.lexicon)
            rows = extractor.merge(rows, papers, keep_rules=mode == "both")
            self._extraction_warnings.extend(extractor.warnings)
        return rows

    def _results_update(self, store: IndexStore | None, new: Sequence[Paper], seconds: list[float]) -> ResultsUpdate:
        """New papers' rows over the previous version's table; everything when that table is stale.

        The rows are extracted lazily, a slice of papers at a time, while the table is written
        (never all rows in memory); ``seconds[0]`` accumulates the time spent extracting.
        """
        lexicon = self.lexicon
        meta = {"lexicon": lexicon.fingerprint, "extractor_version": EXTRACTOR_VERSION,
                "extractor": self.settings.results.extractor}
        base = store.results_path if store is not None else None
        if base is not None and _results_current(base, lexicon, self.settings.results.extractor):
            return ResultsUpdate(rows=self._extract_slices(new, seconds), base=base, meta=meta)
        known = store.papers.values() if store is not None else []  # streamed from the version's file
        return ResultsUpdate(rows=self._extract_slices(itertools.chain(known, new), seconds), base=None, meta=meta)

    def _extract_slices(self, papers: Iterable[Paper], seconds: list[float]) -> Iterator[ResultRow]:
        for part in slices(papers, _RESULTS_SLICE):
            t = time.perf_counter()
            rows = self._extract(part)
            seconds[0] += time.perf_counter() - t
            yield from rows

    @property
    def papers(self) -> dict[str, Paper]:
        return self.retriever.papers

    def ingest(
        self, paths: Sequence[str | os.PathLike[str]], fmt: str | None = None, progress: bool = False,
        strict: bool = True,
    ) -> IngestReport:
        """Add the papers in ``paths`` that the index does not hold yet; never re-embeds old ones.

        With ``strict`` (the default) a file that cannot be read raises ``SourceError`` before
        anything is written; otherwise such files are reported in ``errors`` and skipped.
        """
        started = time.perf_counter()
        plan_files([Path(p) for p in paths], fmt, strict)  # a bad path fails before the index folder is touched
        # Papers go to a scratch file as they are parsed (only dedupe keys stay in memory), under the
        # writer lock: another writer's pruning removes scratch folders it does not own.
        with self._lock, writer_lock(self.index_dir), spill_folder(self.index_dir) as spill:
            parsed = PaperSpill(spill / "parsed.jsonl")
            loaded = load_papers([Path(p) for p in paths], fmt=fmt, cfg=self.settings.ingest, strict=strict,
                                 into=parsed)
            parsed.finish()
            report = IngestReport(errors=loaded.errors, warnings=loaded.warnings, skipped=loaded.duplicates)
            report.timings_s["parse"] = time.perf_counter() - started
            store = self._latest_store()
            new, updated = _split_known(store, parsed)
            report.skipped += len(parsed) - len(new)
            if len(new) or updated:
                self._pending = self._write(store, new, updated, report, progress, spill)
                self._retriever = None
        report.added = len(new)
        report.timings_s["total"] = time.perf_counter() - started
        return report

    def _latest_store(self) -> IndexStore | None:
        """Re-read the index under the writer lock: another process may have ingested meanwhile."""
        if not IndexStore.exists(self.index_dir):
            return None
        store = IndexStore.open(self.index_dir)
        store.check_compatible(self.settings, self.embedder.model_id)
        return store

    def _write(
        self, store: IndexStore | None, new: Sequence[Paper], updated: list[Paper], report: IngestReport,
        progress: bool, spill: Path,
    ) -> IndexStore:
        t = time.perf_counter()
        chunks = ChunkPlan(new, self.settings.chunking)  # passages rebuilt a slice at a time, never all held
        report.timings_s["chunk"] = time.perf_counter() - t
        report.chunks_added = len(chunks)
        # One streaming pass: slices of passages are embedded while the index consumes them, so the
        # vectors are never held together and sentence vectors go to disk as they come; result rows
        # are extracted a slice of papers at a time as the table is written.
        t = time.perf_counter()
        embed_s, results_s = [0.0], [0.0]
        self._extraction_warnings = []
        results = self._results_update(store, new, results_s)
        dtype = self.embedder.dtype
        vectors, sentences = self._embed_chunks(chunks, with_sentences=store is None or store.sentences is not None,
                                                progress=progress, spill=spill, seconds=embed_s)
        if store is None:
            result = IndexStore.create(self.index_dir, new, chunks, vectors, self.settings, self.embedder.model_id,
                                       results=results, sentences=sentences, embedding_dtype=dtype)
        else:
            result = store.add(updated, new, chunks, vectors, self.settings, results=results,
                               sentences=sentences, embedding_dtype=dtype)
        report.warnings.extend(SourceProblem(path="(results extraction)", message=w) for w in self._extraction_warnings)
        report.timings_s["embed"] = embed_s[0]
        report.timings_s["results"] = results_s[0]
        report.timings_s["index"] = time.perf_counter() - t - embed_s[0] - results_s[0]
        return result

    def _embed_chunks(
        self, chunks: Sequence[Chunk], with_sentences: bool, progress: bool, spill: Path, seconds: list[float]
    ) -> tuple[Iterator[np.ndarray], SentenceSpill | SentenceVectors | None]:
        """Passage vectors, a slice of ``embedding.ingest_slice`` passages at a time, and the sentence
        vectors extractive answers quote from (``embedding.sentence_vectors``), which consuming the
        passage vectors writes to ``spill``. ``seconds[0]`` accumulates the time spent embedding."""
        chunking = self.settings.chunking
        mode = self.settings.embedding.sentence_vectors if with_sentences else "none"
        size = self.settings.embedding.ingest_slice
        bar = progress_bar(len(chunks), progress)

        def timed(batches: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
            while True:
                t = time.perf_counter()
                batch = next(batches, None)
                seconds[0] += time.perf_counter() - t
                if batch is None:
                    return
                yield batch

        if mode == "encoded":  # every sentence on its own, as the answer would at question time (held in memory)
            t = time.perf_counter()
            spans = [sentence_spans(c.text) for c in chunks]
            vectors = self.embedder.embed_texts([indexed_text(c, chunking) for c in chunks], bar)
            flat = self.embedder.embed_texts([c.text[a:b] for c, s in zip(chunks, spans, strict=True) for a, b in s])
            seconds[0] += time.perf_counter() - t
            return iter([vectors]), SentenceVectors.from_flat(spans, flat)
        if mode == "none":
            return timed(self.embedder.embed_passages([indexed_text(c, chunking) for c in part], None, bar).passages
                         for part in slices(chunks, size)), None
        offsets, flat_spans = SentenceVectors.layout(sentence_spans(c.text) for c in chunks)
        sink = SentenceSpill(spill / "sentence_vectors.npy", offsets, flat_spans, self.embedder.dimension)

        def pooled() -> Iterator[np.ndarray]:
            for start in range(0, len(chunks), size):
                part = chunks[start : start + size]
                shifted = [(flat_spans[offsets[start + i] : offsets[start + i + 1]] + text_offset(c, chunking)).tolist()
                           for i, c in enumerate(part)]
                embedded = self.embedder.embed_passages([indexed_text(c, chunking) for c in part], shifted, bar)
                assert embedded.sentences is not None
                sink.write(embedded.sentences)
                yield embedded.passages

        return timed(pooled()), sink

    # ----- search and answers ------------------------------------------------------------------

    def search(
        self, query: str, k: int | None = None, mode: str | None = None, filters: SearchFilters | None = None,
        distinct_papers: bool | None = None,
    ) -> list[Hit]:
        """The top-k passages for ``query`` (hybrid by default), best first.

        ``distinct_papers=True`` returns the best passage of each of the top-k papers instead
        (default: ``retrieval.distinct_papers``).
        """
        return self.search_timed(query, k, mode, filters, distinct_papers)[0]

    def search_timed(
        self, query: str, k: int | None = None, mode: str | None = None, filters: SearchFilters | None = None,
        distinct_papers: bool | None = None,
    ) -> tuple[list[Hit], dict[str, float]]:
        """Like :meth:`search`, with seconds spent per stage (embed_query, dense, bm25, fuse, total)."""
        query = self._check_question(query)
        t = time.perf_counter()
        hybrid = (mode or self.settings.retrieval.mode) == "hybrid"
        table_chunks = self._table_chunks(query, filters) if hybrid else None  # dense/bm25 modes stay pure
        table_s = time.perf_counter() - t
        result = self.retriever.retrieve(query, k=k, mode=mode, filters=filters, distinct_papers=distinct_papers,
                                         table_chunks=table_chunks)
        if table_chunks is not None:
            result.timings["table"] = table_s
            result.timings["total"] += table_s
        return result.hits, result.timings

    def _table_chunks(self, question: str, filters: SearchFilters | None) -> list[str] | None:
        """For a cross-paper question, the passage each paper of its table answer is cited from, in
        the table's order (search fuses them in: ``retrieval.table_weight``); else None."""
        if self.settings.retrieval.table_weight <= 0 or self.retriever.size == 0:
            return None
        table_query = self.table_query(question)
        if table_query is None:
            return None
        try:
            rows, mentions, support = self._table_inputs(table_query, filters)
        except ResultsStoreError:  # an index without a results table searches as before
            return None
        papers, chunks_of = self.papers, self.retriever.chunks_of_paper
        ranked = rank_rows(table_query, rows, mentions, papers, support=support, direction_of=self.lexicon.direction)
        return [cited_chunk_id(row, papers[row.paper_id], chunks_of(row.paper_id)) for row in ranked]

    @property
    def generator(self) -> AnswerGenerator:
        """The LLM answer path (vLLM's OpenAI server); built on first use, no network until asked."""
        if self._generator is None:
            # The LLM client (openai) is imported only for generated answers.
            from .generation import AnswerGenerator

            self._generator = AnswerGenerator(self.settings)
        return self._generator

    def answer_mode(self) -> str:
        mode = self.settings.answer.mode
        if mode == "auto":
            return "generated" if self.settings.llm.base_url else "extractive"
        return mode

    def ask(
        self, question: str, history: History | None = None, k: int | None = None, mode: str | None = None,
        filters: SearchFilters | None = None,
    ) -> Answer:
        """Answer with citations to retrieved passages, or refuse when they hold no answer."""
        return self.stream(question, history, k, mode, filters).get_response()

    def stream(
        self, question: str, history: History | None = None, k: int | None = None, mode: str | None = None,
        filters: SearchFilters | None = None,
    ) -> AnswerStream:
        """Text deltas as they are produced, then the final :class:`Answer` (see :class:`AnswerStream`).

        The final answer is authoritative: if the model fails mid-stream, the deltas already
        sent are superseded by the extractive fallback that the final answer carries.
        """
        question = self._check_question(question)  # a bad question fails here, not at the first delta
        return AnswerStream(self._stream(question, history, k, mode, filters))

    def _stream(
        self, question: str, history: History | None, k: int | None, mode: str | None,
        filters: SearchFilters | None,
    ) -> Generator[str, None, Answer]:
        started = time.perf_counter()
        generated = self.answer_mode() == "generated"
        search_question, failure = question, None
        if generated and history:
            try:  # a follow-up is retrieved as the standalone question the model rewrites it into
                search_question = self.generator.standalone_question(question, history)
            except LLMUnavailableError as exc:
                failure = self._unavailable(exc)
        table_query = self.table_query(search_question)
        if table_query is not None:  # a cross-paper question: answered from the whole results table
            answer = self._table_answer(table_query, filters)
            if answer.table:  # else no paper names the dataset: the passage path answers, or refuses
                yield from answer.text.splitlines(keepends=True)
                answer.stats.total_s = time.perf_counter() - started
                return answer
        hits, timings = self.search_timed(search_question, k, mode, filters)
        if not hits:
            answer = refusal(question, hits, self.settings.answer)
        elif generated and failure is None:
            answer = yield from self._generate_stream(question, hits, history)
        else:
            answer = yield from self._extract_stream(question, hits)
            if failure is not None:
                answer.notice = failure
        answer.stats.retrieval_s = timings.get("total")
        answer.stats.total_s = time.perf_counter() - started
        return answer

    # ----- cross-paper questions ----------------------------------------------------------------

    def table_query(self, question: str) -> TableQuery | None:
        """The results-table query a cross-paper question asks ("which papers report mIoU on ADE20K?"),
        or None for any other question (``answer.table_questions: false`` turns the path off)."""
        if not self.settings.answer.table_questions:
            return None
        return parse_question(question, self.lexicon)

    def _table_inputs(
        self, query: TableQuery, filters: SearchFilters | None
    ) -> tuple[list[ResultRow], list[ResultRow], Callable[[Paper], int] | None]:
        """The table's rows and mentions of the dataset (within ``filters``) and the ranking support."""
        papers = self.papers
        rows, mentions = table_rows(query, self.results_table, papers)
        if filters is not None and not filters.is_empty():
            allowed = {pid for pid, paper in papers.items() if filters.matches(paper)}
            rows = [r for r in rows if r.paper_id in allowed]
            mentions = [r for r in mentions if r.paper_id in allowed]
        return rows, mentions, answer_support(query, rows, mentions, self.results_table, self.lexicon)

    def _table_answer(self, query: TableQuery, filters: SearchFilters | None = None) -> Answer:
        """Every paper of the index reporting the pair, sorted, cited; then those naming the dataset only."""
        papers = self.papers
        rows, mentions, support = self._table_inputs(query, filters)
        judge = None
        if query.qualifier and self.answer_mode() == "generated":
            from .llm import LLMClient

            llm = self.settings.llm
            judge = QualifierJudge(LLMClient(llm), llm.concurrency, llm.fallback_to_extractive)
        answer = table_answer(query, rows, mentions, papers, self.retriever.chunks_of_paper, judge=judge,
                              total_papers=len(papers), support=support, direction_of=self.lexicon.direction)
        if judge is not None and judge.failure:
            answer.notice = (f"{answer.notice} The language model was unavailable, so the qualifier "
                             f"\u201c{query.qualifier}\u201d is matched by its words only. Reason: {judge.failure}")
        elif judge is not None:
            answer.stats.model = llm.model
        return answer

    def _generate_stream(
        self, question: str, hits: list[Hit], history: History | None
    ) -> Generator[str, None, Answer]:
        """The model's deltas; on LLMUnavailableError, the extractive answer with a notice saying why."""
        try:
            answer = yield from self.generator.stream(question, hits, history).deltas()
        except LLMUnavailableError as exc:
            notice = self._unavailable(exc)
            answer = self._extractive(question, hits)
            answer.notice = notice
            return answer
        from .generation import rejected_summary, uncited_reason  # generation loads only for generated answers

        reason = uncited_reason(answer)
        if reason is None:
            return answer
        # An answer that cites nothing never reaches a user as an answer (streamed deltas included:
        # the final answer supersedes them); the extractive one does, saying why.
        fallback = self._extractive(question, hits)
        fallback.notice = (f"The generated answer was not shown because {reason}, so this answer is extractive "
                           "(sentences quoted from the abstracts, not generated).")
        fallback.stats.settings.rejected_generation = rejected_summary(answer, reason)
        return fallback

    def _unavailable(self, exc: LLMUnavailableError) -> str:
        """The notice for falling back to an extractive answer; re-raises when fallback is off."""
        if not self.settings.llm.fallback_to_extractive:
            raise exc
        return (f"The language model was unavailable, so this answer is extractive (sentences quoted from "
                f"the abstracts, not generated). Reason: {exc}")

    def _extractive(self, question: str, hits: list[Hit]) -> Answer:
        """Quotes from the retrieved papers' passages, keywords weighted by this index's IDF."""
        retriever = self.retriever
        return extractive_answer(
            question, hits, self.embedder, self.settings.answer, self.settings.retrieval,
            passages=retriever.with_sibling_passages(hits), term_weights=retriever.term_weights,
            stored_sentences=retriever.store.sentences_of,
        )

    def _extract_stream(self, question: str, hits: list[Hit]) -> Generator[str, None, Answer]:
        answer = self._extractive(question, hits)
        yield from answer.text.splitlines(keepends=True)
        return answer

    def _check_question(self, question: str) -> str:
        question = (question or "").strip()
        if not question:
            raise QuestionError("the question is empty")
        if re.search("[\ud800-\udfff]", question):
            raise QuestionError("the question holds a lone surrogate (e.g. \\ud800), which is not valid "
                                    "Unicode text; retype it")
        limit = self.settings.answer.max_question_chars
        if len(question) > limit:
            raise QuestionError(
                f"the question is {len(question):,} characters long; the limit is {limit:,} "
                "(answer.max_question_chars). Ask about one thing at a time."
            )
        return question


_RESULTS_SLICE = 2_000  # papers extracted at a time while the results table is written


def _results_current(path: Path, lexicon: Lexicon, extractor: str | None = None) -> bool:
    """True when the stored table was written with this lexicon and extractor (else re-extract)."""
    try:
        meta = read_meta(path)
    except ResultsStoreError:  # an unreadable table is rebuilt rather than trusted
        return False
    return (meta.get("lexicon") == lexicon.fingerprint and meta.get("extractor_version") == EXTRACTOR_VERSION
            and (extractor is None or meta.get("extractor", "rules") == extractor))


def _split_known(store: IndexStore | None, papers: Sequence[Paper]) -> tuple[Sequence[Paper], list[Paper]]:
    """(papers the index lacks, known papers whose source list grows).

    A paper is known by its id, or by its title when either side has no real id (the rule of
    ``sources.same_paper``): distinct arXiv papers can share a title.
    """
    if store is None:
        return papers, []
    by_title: dict[str, str] = {}
    for known in store.papers.values():
        by_title.setdefault(title_key(known.title), known.paper_id)
    new: list[int] = []  # rows of ``papers``: a view, not a copy, of what the parse wrote
    updated: list[Paper] = []
    for row, paper in enumerate(papers):
        known_id = paper.paper_id if paper.paper_id in store.papers else _title_match(paper, by_title)
        if known_id is None:
            new.append(row)
            continue
        known = store.papers[known_id]
        extra_sources = [s for s in paper.sources if s not in known.sources]
        if extra_sources:
            updated.append(known.model_copy(update={"sources": known.sources + extra_sources}))
    return Subset(papers, new), updated


def _title_match(paper: Paper, by_title: dict[str, str]) -> str | None:
    known_id = by_title.get(title_key(paper.title))
    if known_id is not None and (is_title_hash_id(paper.paper_id) or is_title_hash_id(known_id)):
        return known_id
    return None
