"""Cross-paper questions ("which papers report mIoU on ADE20K?") answered from the results table.

A top-k passage list can never enumerate *every* paper that reports a figure, so these questions
take another path: :func:`parse_question` recognises them and maps their dataset and metric
mentions through the lexicon (the same one the extractor uses), and :func:`table_answer` builds
the answer from all the rows the results table holds for that pair, sorted by value, with the
papers that name the dataset without a figure after them. A question that is not of this kind
parses to ``None`` and the ordinary retrieval + answer path runs unchanged.

Data flow: results table (rows, mentions) -> this module (pure functions, no I/O) -> ``api``.
The qualitative rest of a question ("CNN-transformer hybrids", "self-supervised") is never used
to drop a row: each row gets the sentence of its paper that best matches it, or "not stated",
and rows are ranked by that match; with an LLM configured, ``QualifierJudge`` gives a per-row
verdict with a quoted reason.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from .chunking import count_tokens, sentence_spans
from .markup import escape_markdown
from .models import Answer, Chunk, Citation, Paper, ResultRow

Direction = Literal["higher", "lower"]
NO_FIGURE = "evaluated, no figure in the abstract"
NOT_STATED = "not stated"


class Span(Protocol):
    """A lexicon name found in a text (``paperqa.lexicon.Mention``): canonical name and where it stands."""

    @property
    def name(self) -> str: ...

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


class Lexicon(Protocol):
    """What the question parser needs from the lexicon (``paperqa.lexicon.Lexicon``)."""

    def find_datasets(self, text: str) -> Sequence[Span]: ...

    def find_metrics(self, text: str) -> Sequence[Span]: ...

    def direction(self, metric: str | None) -> Direction: ...

    def resolve_dataset(self, name: str) -> str | None: ...

    def resolve_metric(self, name: str) -> str | None: ...

    def metric_pattern(self, metric: str) -> re.Pattern[str] | None: ...


class TableQuery(BaseModel):
    """A cross-paper question as a query on the results table."""

    question: str
    dataset: str = Field(description="canonical dataset name")
    metric: str | None = Field(default=None, description="canonical metric name; None = every metric")
    min_value: float | None = None
    max_value: float | None = None
    best_only: bool = Field(default=False, description="'best ... on X': only the best figure(s)")
    limit: int | None = Field(default=None, description="'top 5 models on X'")
    qualifier: str = Field(default="", description="the qualitative rest: 'CNN-transformer hybrids'")
    direction: Direction = "higher"
    in_lexicon: bool = Field(default=True, description="False: the dataset is unknown to the lexicon, so the "
                             "table has no row for it and papers naming it literally are listed instead")
    metric_text: str | None = Field(default=None, description="the metric as asked, when the lexicon does not know it")


# ----- recognising the question ------------------------------------------------------------------

_NUMBER = r"(\d+(?:\.\d+)?)\s*(?:\\?%|percent|points?|pp)?"
_AT_LEAST = r"(?:above|over|more than|greater than|higher than|better than|exceeding|at least|no less than|>=|≥|>)"
_AT_MOST = r"(?:below|under|less than|lower than|at most|no more than|<=|≤|<)"
_MIN_RE = re.compile(rf"{_AT_LEAST}\s*(?:an?\s+)?(?:\w+\s+)?{_NUMBER}", re.IGNORECASE)
_MAX_RE = re.compile(rf"{_AT_MOST}\s*(?:an?\s+)?(?:\w+\s+)?{_NUMBER}", re.IGNORECASE)
_BETWEEN_RE = re.compile(rf"between\s+{_NUMBER}\s+and\s+{_NUMBER}", re.IGNORECASE)
_TOP_N_RE = re.compile(r"\btop[\s-]+(\d+)\s+(?:papers?|models?|methods?|results?|approaches|entries|systems|works)\b",
                       re.IGNORECASE)
_BEST_RE = re.compile(r"\b(best|highest|lowest|strongest|top[- ]performing|state[- ]of[- ]the[- ]art|sota)\b", re.IGNORECASE)
_PLURAL_SUBJECT = re.compile(
    r"\b(papers|models|methods|approaches|works|architectures|networks|systems|results|baselines|backbones"
    r"|detectors|segmenters|classifiers|transformers|hybrids|variants|techniques|algorithms|studies|entries)\b",
    re.IGNORECASE)
_CUE_START = re.compile(r"^\W*(which|what|list|show|compare|rank|find|name|give|who)\b", re.IGNORECASE)
_REPORT_VERB = re.compile(
    r"\b(reports?|reported|reporting|evaluat\w*|benchmark\w*|achiev\w*|attain\w*|obtain\w*|reach\w*|scor\w*"
    r"|tested|results?|compare|comparison|leaderboard|perform\w*)\b", re.IGNORECASE)
# "What does MOAT achieve on ADE20K?" asks about one paper: the ordinary path answers it.
_SINGULAR_LOOKUP = re.compile(r"^\W*(what|how|which)\b(?:\s+\S+){0,3}?\s+(does|did|is|was)\b", re.IGNORECASE)

# Words that frame a cross-paper question and say nothing about which papers qualify.
_FRAME_TEXT = """
which what who list show compare comparison rank find name give all any every the a an of on in
for with and or to by at from as is are was were be been do does did that their its it they them
there this these those report reports reported reporting evaluate evaluates evaluated evaluating
evaluation achieve achieves achieved achieving attain attains attained obtain obtains obtained reach
reaches reached score scores scored scoring result results benchmark benchmarks benchmarked tested
performance perform performs performing papers paper models model methods method approaches
approach works work entries entry systems leaderboard best highest lowest strongest top sota
state art performing figure figures value values number numbers have has get gets got than
above over more greater higher better exceeding least below under less lower most no between
percent points point pp dataset datasets metric metrics set split using use uses used
"""
_FRAME_WORDS = frozenset(_FRAME_TEXT.split())


def parse_question(question: str, lexicon: Lexicon) -> TableQuery | None:
    """The table query a cross-paper question asks, or None when the question is of another kind."""
    datasets = list(lexicon.find_datasets(question))
    if not datasets:
        return _unknown_dataset_query(question, lexicon)
    metrics = list(lexicon.find_metrics(question))
    text = question.strip()
    bare = not _content_words(_blank(text, [*datasets, *metrics]))  # "ADE20K mIoU", "COCO box AP"
    constraint = _constraints(text)
    best = bool(_BEST_RE.search(text))
    top = _TOP_N_RE.search(text)
    cue = bool(_CUE_START.search(text) or _PLURAL_SUBJECT.search(text) or best or top or constraint != (None, None))
    if _SINGULAR_LOOKUP.search(text) and not _PLURAL_SUBJECT.search(text):
        return None
    if not (bare and metrics) and not (cue and (metrics or _REPORT_VERB.search(text) or _PLURAL_SUBJECT.search(text))):
        return None
    dataset = datasets[0].name
    metric = _metric_near(metrics, datasets[0])
    spans: list[Span] = [*datasets, *metrics]
    qualifier_text = _blank(text, spans)
    for pattern in (_BETWEEN_RE, _MIN_RE, _MAX_RE, _TOP_N_RE):
        qualifier_text = pattern.sub(" ", qualifier_text)
    low, high = constraint
    return TableQuery(
        question=question, dataset=dataset, metric=metric, min_value=low, max_value=high,
        best_only=best and not top, limit=int(top.group(1)) if top else None,
        qualifier=" ".join(_content_words(qualifier_text)), direction=lexicon.direction(metric),
        metric_text=None if metric else _asked_metric(text),
    )


def _asked_metric(question: str) -> str | None:
    """The metric of "which papers report METRIC on X?" as written, when it says more than "results"."""
    match = _REPORT_ON.search(question)
    metric = match.group("metric").strip() if match else ""
    return metric if _content_words(metric) else None


# "Which papers report METRIC on NAME?" where NAME is not in the lexicon (a dataset the lexicon
# does not cover): still a cross-paper question, answered from the papers that name NAME.
_REPORT_ON = re.compile(
    r"^\W*(?:which|what)\s+(?:papers|models|methods|works|approaches)\s+(?:report|evaluate|achieve|give)\w*\s+"
    r"(?P<metric>.+?)\s+(?:on|for)\s+(?:the\s+)?(?P<name>[A-Za-z0-9][^?]*?)(?:\s+(?:dataset|benchmark))?\s*\??\s*$",
    re.IGNORECASE)


def _unknown_dataset_query(question: str, lexicon: Lexicon) -> TableQuery | None:
    match = _REPORT_ON.search(question)
    if not match:
        return None
    name, metric_text = match.group("name").strip(), match.group("metric").strip()
    if not re.search(r"[A-Z0-9]", name):  # "on images", "on small data": not a dataset's name
        return None
    metric = lexicon.resolve_metric(metric_text)
    resolved = lexicon.resolve_dataset(name)
    if resolved is not None:
        return TableQuery(question=question, dataset=resolved, metric=metric, direction=lexicon.direction(metric))
    return TableQuery(question=question, dataset=name, metric=metric, direction=lexicon.direction(metric),
                      in_lexicon=False, metric_text=metric_text)


class ResultsSource(Protocol):
    """What the answer needs from the results table (``results_table.ResultsTable``)."""

    def query(self, dataset: str | None = None, metric: str | None = None, *, paper_ids: Sequence[str] | None = None,
              include_deltas: bool = False) -> list[ResultRow]: ...

    def mentions(self, dataset: str) -> list[ResultRow]: ...

    def datasets_of(self, paper_ids: Iterable[str]) -> dict[str, set[str]]: ...


def table_rows(query: TableQuery, table: ResultsSource, papers: dict[str, Paper]
               ) -> tuple[list[ResultRow], list[ResultRow]]:
    """Every row of the dataset (:func:`table_answer` puts the pair's first), and the papers naming
    the dataset without a figure."""
    if not query.in_lexicon:
        # The extractor keeps a few names it finds by shape ("the X dataset") as written: use their rows.
        rows = table.query(dataset=query.dataset, metric=query.metric, include_deltas=True) if query.metric else []
        return rows, literal_mentions(query, papers, lambda ids: _with_metric(query, table, ids))
    return table.query(dataset=query.dataset, include_deltas=True), table.mentions(query.dataset)


def _with_metric(query: TableQuery, table: ResultsSource, paper_ids: Sequence[str]) -> set[str]:
    """The papers among ``paper_ids`` with a figure for the asked metric (on any dataset) in the table."""
    return {r.paper_id for r in table.query(metric=query.metric, paper_ids=paper_ids)} if query.metric else set()


def literal_mentions(query: TableQuery, papers: dict[str, Paper],
                     with_metric: Callable[[list[str]], set[str]] | None = None) -> list[ResultRow]:
    """Papers whose title or abstract names the (lexicon-unknown) dataset, as value-less rows citing the
    sentence; those that also name the metric (literally, or with a figure for it in the results
    table: ``with_metric(paper_ids)``) come first."""
    name = re.sub(r"\s*\([^)]*\)\s*$", "", query.dataset).strip() or query.dataset  # "DAVIS (val)" -> "DAVIS"
    pattern = re.compile(r"(?<![\w-])" + re.escape(name).replace(r"\ ", r"[\s-]?") + r"(?![\w-])", re.IGNORECASE)
    metric_patterns = literal_metric_patterns(query)
    # Prefilter with plain substring tests (C speed) on the name's longest token in its usual casings;
    # the case-insensitive, word-bounded regex then runs only on the few candidates.
    token = max(re.findall(r"[A-Za-z0-9]+", name) or [name], key=len)
    casings = {token, token.lower(), token.upper(), token.capitalize()}
    candidates = [p for p in papers.values() if any(c in p.abstract or c in p.title for c in casings)]
    hits = [(paper, _outside_links(pattern, paper.abstract)) for paper in candidates]
    hits = [(paper, hit) for paper, hit in hits if hit is not None or pattern.search(paper.title)]
    metric_papers = with_metric([paper.paper_id for paper, _ in hits]) if with_metric and hits else set()
    found = []
    for paper, hit in hits:
        start, end = _sentence_at(paper.abstract, hit.start()) if hit else (0, 0)
        names_metric = paper.paper_id in metric_papers or any(p.search(paper.abstract) for p in metric_patterns)
        row = ResultRow(paper_id=paper.paper_id, title=paper.title, dataset=query.dataset,
                        dataset_surface=hit.group(0) if hit else name, metric=query.metric,
                        sentence=paper.abstract[start:end], start_char=start, end_char=end)
        found.append((not names_metric, paper.paper_id, row))
    return [row for *_, row in sorted(found, key=lambda item: item[:2])]


_LINK = re.compile(r"(?:https?://|www\.)\S+|\barXiv:\s?\S+", re.IGNORECASE)


def _outside_links(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The first match of ``pattern`` not inside a URL or an arXiv id ("github.com/x/DAVIS-tools" names no dataset)."""
    links = [m.span() for m in _LINK.finditer(text)]
    return next((m for m in pattern.finditer(text) if not any(s <= m.start() < e for s, e in links)), None)


def literal_metric_patterns(query: TableQuery) -> list[re.Pattern[str]]:
    """The asked metric as written ("NME (inter-ocular)" -> "NME"), whole words, any case."""
    names = [re.sub(r"\s*\([^)]*\)", "", m).strip() for m in (query.metric_text, query.metric) if m]
    return [re.compile(r"(?<!\w)" + re.escape(m) + r"(?!\w)", re.IGNORECASE) for m in dict.fromkeys(names) if m]


_SENTENCE_END = re.compile(r"[.!?](?=\s+[A-Z(\[]|\s*$)")


@lru_cache(maxsize=16_384)
def quick_sentences(text: str) -> tuple[tuple[int, int], ...]:
    """Sentence spans by punctuation: runs per row of an answer, where punkt costs ~1 ms an abstract.
    Cached: the same abstracts are listed question after question."""
    return tuple(_quick_sentences(text))


def _quick_sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if text[start:match.end()].strip():
            spans.append((start + len(text[start:match.end()]) - len(text[start:match.end()].lstrip()), match.end()))
        start = match.end()
    if text[start:].strip():
        spans.append((start + len(text[start:]) - len(text[start:].lstrip()), len(text.rstrip())))
    return spans


def _sentence_at(abstract: str, offset: int) -> tuple[int, int]:
    """The sentence around ``offset`` (a cheap split: this runs over every paper naming the dataset)."""
    start = 0
    for match in _SENTENCE_END.finditer(abstract, 0, offset):
        start = match.end()
    end_match = _SENTENCE_END.search(abstract, offset)
    end = end_match.end() if end_match else len(abstract)
    while start < end and abstract[start].isspace():
        start += 1
    return start, end


def _metric_near(metrics: Sequence[Span], dataset: Span) -> str | None:
    """The metric mentioned closest to the dataset ("COCO box AP and ADE20K mIoU" keeps it local)."""
    if not metrics:
        return None
    return min(metrics, key=lambda m: min(abs(m.start - dataset.end), abs(dataset.start - m.end))).name


def _constraints(text: str) -> tuple[float | None, float | None]:
    between = _BETWEEN_RE.search(text)
    if between:
        a, b = float(between.group(1)), float(between.group(2))
        return min(a, b), max(a, b)
    low = _MIN_RE.search(text)
    high = _MAX_RE.search(text)
    return (float(low.group(1)) if low else None, float(high.group(1)) if high else None)


def _blank(text: str, spans: Sequence[Span]) -> str:
    chars = list(text)
    for span in spans:
        for i in range(max(0, span.start), min(len(chars), span.end)):
            chars[i] = " "
    return "".join(chars)


def _content_words(text: str) -> list[str]:
    words = re.findall(r"[A-Za-z][\w+]*(?:[-/][\w+]+)*", text)
    return [w for w in words if w.casefold() not in _FRAME_WORDS]


# ----- the qualitative part ----------------------------------------------------------------------


@cache
def _stemmer():
    import Stemmer  # PyStemmer, already used by the BM25 tokenizer

    return Stemmer.Stemmer("english")


def qualifier_terms(qualifier: str) -> list[str]:
    """Stemmed terms of the qualifier; hyphenated words count by their parts ("CNN-transformer")."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", qualifier.casefold()) if len(p) > 1]
    return list(dict.fromkeys(_stemmer().stemWords(parts)))


@dataclass(frozen=True)
class Evidence:
    """The sentence of a paper (its title counts as one) that best matches the qualifier."""

    sentence: str | None
    start: int
    end: int
    share: float  # share of the qualifier's terms the sentence holds (0 = not stated)
    in_title: bool = False


def qualifier_evidence(paper: Paper, terms: Sequence[str]) -> Evidence:
    """Lexical match of the qualifier against each sentence of the abstract and the title."""
    if not terms:
        return Evidence(None, 0, 0, 0.0)
    best = Evidence(None, 0, 0, 0.0)
    wanted = set(terms)
    title_share = _share(paper.title, wanted)
    if title_share > 0:
        best = Evidence(paper.title, 0, len(paper.title), title_share, in_title=True)
    for start, end in quick_sentences(paper.abstract):
        share = _share(paper.abstract[start:end], wanted)
        if share > best.share:
            best = Evidence(paper.abstract[start:end], start, end, share)
    return best


def _share(text: str, wanted: set[str]) -> float:
    return len(wanted & _stemmed_words(text)) / len(wanted)


@lru_cache(maxsize=65_536)
def _stemmed_words(text: str) -> frozenset[str]:
    """A sentence's stemmed words. Cached: a search of a cross-paper question weighs the qualifier
    against every sentence of every listed paper (~1,000 rows on a big dataset), and the same
    sentences come back question after question."""
    return frozenset(_stemmer().stemWords([w for w in re.split(r"[^A-Za-z0-9]+", text.casefold()) if w]))


class Judgement(BaseModel):
    """An LLM's verdict on whether one row's paper fits the qualifier, with a quoted reason."""

    fits: Literal["yes", "no", "unclear"]
    quote: str | None = None


JudgeFn = Callable[[Sequence[Paper], str], dict[str, Judgement]]


# ----- building the answer -----------------------------------------------------------------------


def table_answer(
    query: TableQuery,
    rows: Sequence[ResultRow],
    mentions: Sequence[ResultRow],
    papers: dict[str, Paper],
    chunks_of: Callable[[str], Sequence[Chunk]],
    judge: JudgeFn | None = None,
    total_papers: int | None = None,
    support: Callable[[Paper], int] | None = None,
    direction_of: Callable[[str | None], Direction] | None = None,
) -> Answer:
    """The cited answer: :func:`rank_rows`, each row with its citation, and the text."""
    ordered = rank_rows(query, rows, mentions, papers, judge=judge, support=support, direction_of=direction_of)
    table, citations = [], []
    for key, row in enumerate(ordered, start=1):
        citation = _row_citation(key, row, papers[row.paper_id], chunks_of(row.paper_id))
        citations.append(citation)
        table.append(row.model_copy(update={"citation": citation, "title": row.title or papers[row.paper_id].title}))
    notice = ("Answered from the results table: figures quoted from every abstract in the index (not generated), "
              "not only from the top passages.")
    return Answer(question=query.question, text=render_text(query, table, total_papers), citations=citations,
                  refused=False, mode="extractive", notice=notice, table=table)


def rank_rows(
    query: TableQuery,
    rows: Sequence[ResultRow],
    mentions: Sequence[ResultRow],
    papers: dict[str, Paper],
    judge: JudgeFn | None = None,
    support: Callable[[Paper], int] | None = None,
    direction_of: Callable[[str | None], Direction] | None = None,
) -> list[ResultRow]:
    """Every paper reporting the pair (best figure per paper, sorted), then those without a figure.

    A question naming no metric the lexicon knows lists every figure on the dataset first: grouped by
    metric, the metric most papers report on the dataset first (the dataset's usual measure, so likely
    the one asked), each metric's figures in its own direction (``direction_of``, e.g. the lexicon's;
    higher-is-better without it), never comparing one metric's values with another's.

    Among the papers without the pair's figure, those with more signs that they report it come first:
    ``support(paper)`` counts them (:func:`pair_support`: the paper names the asked metric; it names
    another dataset that the papers reporting the pair name); then those naming the dataset in a
    sentence about results; then those whose abstract speaks of the state of the art; then those whose
    first sentence naming it comes later in the abstract.

    ``rows`` are the table's rows of the dataset (any order; deltas kept apart; rows of another
    metric list their paper after the pair's deltas, as evaluated on the dataset with the pair's
    figure unknown), ``mentions`` the papers that name the dataset without a figure. Nothing is dropped for the qualifier: rows
    are ranked by how well their paper matches it and each carries the evidence.
    """
    higher = query.direction == "higher"
    pair = [r for r in rows if r.value is not None and _of_pair(r, query)]
    best_rows = _best_per_paper([r for r in pair if not r.is_delta], higher)
    best_rows = [r for r in best_rows if _within(r.value, query)]
    with_figure = {r.paper_id for r in best_rows}
    deltas = _best_per_paper([r for r in pair if r.is_delta and r.paper_id not in with_figure],
                             higher) if query.min_value is None and query.max_value is None else []
    reported = with_figure | {r.paper_id for r in deltas}
    # papers with figures on the dataset for another metric (or none named): evaluated on it, the
    # pair's figure unknown; a figure whose metric is not named is shown first (it may be the pair's)
    # "best" / "top 5": the pair's figures only; when it has none, the papers evaluated on the dataset
    ranked_only = bool(query.best_only or query.limit) and bool(best_rows)
    others = [] if ranked_only or query.metric is None else _first_per_paper(
        r for r in sorted(rows, key=lambda r: r.metric is not None)
        if r.value is not None and not _of_pair(r, query) and r.paper_id not in reported and r.paper_id in papers)
    reported |= {r.paper_id for r in others}
    no_figure = [] if ranked_only else _first_per_paper(
        m for m in mentions if m.paper_id not in reported and m.paper_id in papers)
    terms = qualifier_terms(query.qualifier)
    listed = [p for p in dict.fromkeys(r.paper_id for r in (*best_rows, *deltas, *others, *no_figure)) if p in papers]
    verdicts = judge([papers[p] for p in listed], query.qualifier) if judge and terms else {}

    usual = _papers_per_metric(pair) if query.metric is None else {}
    ranked: list[tuple[tuple, ResultRow]] = []
    for group, group_rows in enumerate((best_rows, deltas, others, no_figure)):
        for position, row in enumerate(group_rows):
            paper = papers.get(row.paper_id)
            if paper is None:
                continue
            row = _with_qualifier(row, paper, terms, verdicts.get(row.paper_id))
            tier = _tier(row)
            value = row.value if row.value is not None else 0.0
            # among papers without a figure, those naming the dataset where they state results first
            evaluative = 0 if group < 3 or _EVALUATIVE.search(row.sentence) else 1
            # among papers without the pair's figure (another metric's or none), those whose abstract
            # names the asked metric first, whether they give a figure for another one or not
            named = 0 if group < 2 or support is None else -support(paper)
            if group == 2:  # another metric's figure is not comparable: not sorted by value
                value = 0.0
            # then, among papers without the pair's figure, those whose abstract speaks of the state of the art
            # (set against the benchmark's published best, so likely in its usual metric) before the others
            standing = 0 if group < 2 or _speaks_of_state_of_the_art(paper.abstract) else 1
            # then, among papers without a figure, those first naming the dataset later in their abstract:
            # abstracts state their results at the end, the setting and motivation at the start
            late = -row.start_char / max(1, len(paper.abstract)) if group == 3 else 0.0
            order = (0, -value if higher else value)
            if query.metric is None and group < 2:  # every metric's figures: by metric, then in its direction
                up = (direction_of(row.metric) if direction_of else "higher") == "higher"
                order = (-usual.get(row.metric, 0) if row.metric else 0, -value if up else value)
            ranked.append(((min(group, 2), tier, named, group, evaluative, standing, order, late, position), row))
    ranked.sort(key=lambda item: item[0])
    ordered = [row for _, row in ranked]
    if query.best_only and ranked_only:
        top_value = ordered[0].value
        ordered = [r for r in ordered if r.value == top_value and not r.is_delta] or ordered[:1]
    if query.limit and ranked_only:
        ordered = ordered[: query.limit]
    return ordered


def answer_support(query: TableQuery, rows: Sequence[ResultRow], mentions: Sequence[ResultRow], table: ResultsSource,
                   lexicon: Lexicon) -> Callable[[Paper], int] | None:
    """:func:`pair_support` for :func:`table_answer`, from the results table and the lexicon. A metric
    the lexicon does not know is matched as written (:func:`literal_metric_patterns`), and the papers
    giving any figure on the dataset stand for those reporting the pair. For a dataset the lexicon does
    not know, the one sign is the one :func:`literal_mentions` orders by (and the answer's text states):
    the paper names the metric as written, or has a figure for it in the table."""
    if not query.in_lexicon:
        with_metric = _with_metric(query, table, [r.paper_id for r in (*rows, *mentions)])
        patterns = literal_metric_patterns(query)

        def names_metric(paper: Paper) -> int:
            return int(paper.paper_id in with_metric or any(_names(p, paper.title, paper.abstract) for p in patterns))

        return names_metric
    datasets_of = table.datasets_of(r.paper_id for r in (*rows, *mentions))
    if query.metric:
        return pair_support(query, rows, datasets_of, lexicon.metric_pattern(query.metric))
    literal = literal_metric_patterns(query)
    return pair_support(query, rows, datasets_of, literal[0] if literal else None)


def pair_support(query: TableQuery, rows: Sequence[ResultRow], datasets_of: dict[str, set[str]],
                 metric_pattern: re.Pattern[str] | None) -> Callable[[Paper], int]:
    """How many signs a paper without the pair's figure gives that it reports the pair: its abstract
    names the asked metric (``metric_pattern``, any of the metric's names); it names another dataset
    that the papers giving the pair's figure (or improvement) also name (evaluated alongside them, so likely on the
    same task: a SUN RGB-D paper that names NYUv2 beside SUN RGB-D mIoU papers, not ScanNet).
    ``datasets_of``: each paper's datasets (every row of the table, figures and mentions)."""
    reporting = {r.paper_id for r in rows if r.value is not None and _of_pair(r, query)}
    companions = {d for pid in reporting for d in datasets_of.get(pid, ())} - {query.dataset}

    def support(paper: Paper) -> int:
        names = metric_pattern is not None and _names(metric_pattern, paper.title, paper.abstract)
        shares = bool(companions & (datasets_of.get(paper.paper_id, set()) - {query.dataset}))
        return int(names) + int(shares)

    return support


@lru_cache(maxsize=65_536)
def _names(pattern: re.Pattern[str], title: str, abstract: str) -> bool:
    """``pattern`` occurs in the title or abstract (cached: papers recur across questions)."""
    return bool(pattern.search(title) or pattern.search(abstract))


# A sentence stating results ("outperforms the state of the art on X"), not only naming X ("pretrained on X")
_EVALUATIVE = re.compile(r"\b(?:state[- ]of[- ]the[- ]art|SOTA|outperform\w*|surpass\w*|achiev\w*|results?|experiments?|"
                         r"evaluat\w*|performance)\b", re.IGNORECASE)
# An abstract that speaks of the state of the art positions its method against the benchmark's best
# published results, which are compared in the benchmark's usual metric
_STATE_OF_THE_ART = re.compile(r"\bstate[- ]of[- ]the[- ]arts?\b|\bSOTA\b", re.IGNORECASE)


@lru_cache(maxsize=65_536)
def _speaks_of_state_of_the_art(abstract: str) -> bool:
    """The abstract mentions the state of the art (cached: papers recur across questions)."""
    return bool(_STATE_OF_THE_ART.search(abstract))


def _of_pair(row: ResultRow, query: TableQuery) -> bool:
    """The row's figure is for the asked metric (any metric when the question names none)."""
    return query.metric is None or row.metric == query.metric


def _within(value: float | None, query: TableQuery) -> bool:
    if value is None:
        return False
    if query.min_value is not None and value < query.min_value:
        return False
    return not (query.max_value is not None and value > query.max_value)


def _best_per_paper(rows: Iterable[ResultRow], higher: bool) -> list[ResultRow]:
    best: dict[str, ResultRow] = {}
    for row in rows:
        held = best.get(row.paper_id)
        if held is None or (row.value > held.value if higher else row.value < held.value):  # type: ignore[operator]
            best[row.paper_id] = row
    return list(best.values())


def _papers_per_metric(rows: Iterable[ResultRow]) -> dict[str | None, int]:
    """How many papers give a figure (not an improvement) for each metric."""
    papers: dict[str | None, set[str]] = {}
    for row in rows:
        if row.value is not None and not row.is_delta:
            papers.setdefault(row.metric, set()).add(row.paper_id)
    return {metric: len(ids) for metric, ids in papers.items()}


def _first_per_paper(rows: Iterable[ResultRow]) -> list[ResultRow]:
    first: dict[str, ResultRow] = {}
    for row in rows:
        first.setdefault(row.paper_id, row)
    return list(first.values())


def _tier(row: ResultRow) -> int:
    """0: the paper states the qualifier (or the judge says yes); 1: partly; 2: not stated / no."""
    if row.qualifier_verdict == "yes":
        return 0
    if row.qualifier_verdict == "no":
        return 2
    share = row.qualifier_match or 0.0
    return 0 if share >= 0.999 else 1 if share > 0 else 2


def _with_qualifier(row: ResultRow, paper: Paper, terms: Sequence[str], judgement: Judgement | None) -> ResultRow:
    if not terms:
        return row
    evidence = qualifier_evidence(paper, terms)
    update: dict = {"qualifier_evidence": evidence.sentence, "qualifier_match": evidence.share}
    if judgement is not None:
        quote = judgement.quote if judgement.quote and judgement.quote in f"{paper.title}\n{paper.abstract}" else None
        update["qualifier_verdict"] = judgement.fits if quote or judgement.fits == "unclear" else "unclear"
        if quote:
            update["qualifier_evidence"] = quote
    return row.model_copy(update=update)


def cited_chunk_id(row: ResultRow, paper: Paper, chunks: Sequence[Chunk]) -> str:
    """The passage a row of :func:`table_answer` is cited from (what search fuses in), without the citation."""
    start, end, _ = _cited_span(row, paper)
    chunk = _chunk_holding(chunks, start, end)
    return chunk.chunk_id if chunk is not None else _whole_abstract_chunk_id(paper, chunks)


def _cited_span(row: ResultRow, paper: Paper) -> tuple[int, int, str]:
    """``(start, end, quote)`` of the row's sentence in the abstract."""
    start, end, quote = row.start_char, row.end_char, row.sentence
    if not quote or paper.abstract[start:end] != quote:
        found = paper.abstract.find(quote) if quote else -1
        if found >= 0:
            start, end = found, found + len(quote)
        else:  # no usable sentence (e.g. a mention row): cite the first sentence naming the dataset
            start, end = _sentence_naming(paper.abstract, row.dataset_surface or row.dataset)
            quote = paper.abstract[start:end]
    return start, end, quote


def _chunk_holding(chunks: Sequence[Chunk], start: int, end: int) -> Chunk | None:
    return next((c for c in chunks if c.start_char <= start and end <= c.end_char), None)


def _whole_abstract_chunk_id(paper: Paper, chunks: Sequence[Chunk]) -> str:
    """A sentence straddling two passages is cited within the whole abstract, under its first passage."""
    return chunks[0].chunk_id if chunks else f"{paper.paper_id}#0"


def _row_citation(key: int, row: ResultRow, paper: Paper, chunks: Sequence[Chunk]) -> Citation:
    """The row's sentence, located in the passage that holds it, so the faces can highlight it."""
    start, end, quote = _cited_span(row, paper)
    chunk = _chunk_holding(chunks, start, end)
    if chunk is not None:
        passage, chunk_id, offset = chunk.text, chunk.chunk_id, chunk.start_char
    else:  # the sentence straddles two passages: cite it within the whole abstract
        passage, chunk_id, offset = paper.abstract, _whole_abstract_chunk_id(paper, chunks), 0
    return Citation(
        key=key, paper_id=paper.paper_id, title=paper.title, passage=passage, chunk_id=chunk_id,
        quote=quote, quote_start=start - offset, quote_end=end - offset, score=1.0,
        url=paper.url, authors=paper.authors, year=paper.year,
    )


def _sentence_naming(abstract: str, name: str) -> tuple[int, int]:
    spans = sentence_spans(abstract) or [(0, len(abstract))]
    folded = name.casefold()
    for start, end in spans:
        if folded in abstract[start:end].casefold():
            return start, end
    return spans[0]


# ----- text --------------------------------------------------------------------------------------


def format_value(row: ResultRow) -> str:
    """The figure as the table shows it (84.7%, +3.2 ...), or "evaluated, no figure in the abstract"."""
    if row.value is None:
        return NO_FIGURE
    from .results import format_value as figure

    return f"{figure(row)} (improvement)" if row.is_delta else figure(row)


def pair_label(query: TableQuery, esc: Callable[[str], str] = str) -> str:
    if query.metric:
        return f"{esc(query.metric)} on {esc(query.dataset)}"
    return f"results on {esc(query.dataset)}"


def summary(query: TableQuery, table: Sequence[ResultRow], total_papers: int | None,
            esc: Callable[[str], str] = str) -> str:
    """One paragraph saying what the table holds; ``esc`` escapes the names that come from outside."""
    scope = f" among the {total_papers:,} papers in the index" if total_papers else ""
    note = ""
    if not query.in_lexicon:
        note = (f"{esc(query.dataset)} is not in the lexicon of datasets (extend it with results.lexicon), so "
                "its figures are rarely extracted; the papers naming it are listed, those whose abstract also "
                "names the metric first. ")
    if not table:
        return note + _nothing(query, scope, esc)
    return note + _counts(query, table, scope, esc) + _qualifier_note(query, table, esc)


def _nothing(query: TableQuery, scope: str, esc: Callable[[str], str]) -> str:
    return (f"No paper{scope} reports {pair_label(query, esc)}{_constraint_text(query)} in its abstract, "
            f"and none names {esc(query.dataset)} without a figure.")


def _counts(query: TableQuery, table: Sequence[ResultRow], scope: str, esc: Callable[[str], str]) -> str:
    figures = sum(r.value is not None and not r.is_delta and _of_pair(r, query) for r in table)
    deltas = sum(r.is_delta and _of_pair(r, query) for r in table)
    others = sum(r.value is not None and not _of_pair(r, query) for r in table)
    missing = sum(r.value is None for r in table)
    direction = "higher is better" if query.direction == "higher" else "lower is better"
    parts = [(f"{figures} paper{'s' if figures != 1 else ''}{scope} report{'s' if figures == 1 else ''} "
              f"{pair_label(query, esc)}{_constraint_text(query)} ({direction})")]
    if deltas:
        parts.append(f"{deltas} only as an improvement over a baseline")
    if others:
        parts.append(f"{others} report{'s' if others == 1 else ''} other figures on {esc(query.dataset)} "
                     f"(another metric, or none named)")
    if missing:
        parts.append(f"{missing} name{'s' if missing == 1 else ''} {esc(query.dataset)} without a figure "
                     "in the abstract")
    return "; ".join(parts) + "."


def _qualifier_note(query: TableQuery, table: Sequence[ResultRow], esc: Callable[[str], str]) -> str:
    text = ""
    if query.qualifier:
        judged = any(r.qualifier_verdict for r in table)
        matched = sum(_tier(r) == 0 for r in table)
        how = "fit it according to the language model" if judged else "state all its words"
        text += (f" For \u201c{esc(query.qualifier)}\u201d, {matched} of {len(table)} {how}; each row shows the "
                 f"sentence that supports it best (or \u201c{NOT_STATED}\u201d), rows are ranked by that match, "
                 "then by value, and no row is left out.")
    return text


def _constraint_text(query: TableQuery) -> str:
    if query.min_value is not None and query.max_value is not None:
        return f" between {query.min_value:g} and {query.max_value:g}"
    if query.min_value is not None:
        return f" of at least {query.min_value:g}"
    if query.max_value is not None:
        return f" of at most {query.max_value:g}"
    return ""


def table_view(rows: Sequence[ResultRow]) -> tuple[list[str], list[list[str]]]:
    """Column names and each row's cells as plain text; every face escapes them for its own markup.

    Built from the rows alone, so the CLI, the UI and the Markdown text show the same table.
    """
    metrics = {r.metric for r in rows if r.value is not None}
    single = len(metrics) == 1
    qualified = any(r.qualifier_match is not None or r.qualifier_verdict is not None for r in rows)
    columns = ["#", "Paper", "Model", (next(iter(metrics)) or "Result") if single else "Result", "Details"]
    if qualified:
        columns.append("Qualifier evidence")
    columns.append("Source")
    cells = []
    for rank, row in enumerate(rows, start=1):
        value = format_value(row) if single or row.value is None else f"{row.metric or '-'}: {format_value(row)}"
        line = [str(rank), row.title, row.model or "", value, ", ".join(row.qualifiers)]
        if qualified:
            evidence = row.qualifier_evidence or NOT_STATED
            line.append(f"{row.qualifier_verdict}: {evidence}" if row.qualifier_verdict else evidence)
        line.append(f"[{row.citation.key if row.citation else rank}]")
        cells.append(line)
    return columns, cells


def render_text(query: TableQuery, table: Sequence[ResultRow], total_papers: int | None = None) -> str:
    """A short summary, then the table in Markdown with every cell escaped."""
    lines = [summary(query, table, total_papers, escape_markdown)]
    if not table:
        return lines[0]
    columns, cells = table_view(table)
    lines += ["", "| " + " | ".join(escape_markdown(c) for c in columns) + " |",
              "|" + "|".join(" --- " for _ in columns) + "|"]
    for line in cells:
        escaped = [escape_markdown(c) for c in line[:-1]] + [line[-1]]  # the last cell is our own "[n]"
        lines.append("| " + " | ".join(escaped) + " |")
    return "\n".join(lines)


# ----- the LLM judgement -------------------------------------------------------------------------

_JUDGE_PROMPT = """Decide whether the paper below is an instance of: "{qualifier}".
Answer with JSON only: {{"fits": "yes" | "no" | "unclear", "quote": "<the exact sentence of the title or abstract that
shows it, copied verbatim, or null>"}}.

Title: {title}
Abstract: {abstract}"""


class QualifierJudge:
    """Per-row judgement of the qualifier by the configured LLM (``llm.LLMClient``), with a quote.

    The quote must appear verbatim in the paper (checked in :func:`table_answer`); a verdict
    without a checkable quote is recorded as "unclear", so nothing the model invents reaches the
    table. Calls run ``llm.concurrency`` at a time; when the server is unavailable the rows keep
    their lexical evidence and ``failure`` says why (or the error propagates without fallback).
    """

    def __init__(self, client, concurrency: int = 1, fallback: bool = True) -> None:
        self.client = client
        self.concurrency = max(1, concurrency)
        self.fallback = fallback
        self.failure: str | None = None

    def one(self, paper: Paper, qualifier: str) -> Judgement:
        prompt = _JUDGE_PROMPT.format(qualifier=qualifier, title=paper.title, abstract=paper.abstract)
        quotes = judgement_quotes(paper)
        # the verdict and the quote's length bound the answer: JSON keys, a verdict, one sentence
        max_tokens = 48 + int(max((count_tokens(q) for q in quotes), default=0) * 1.3)
        result = self.client.chat([{"role": "user", "content": prompt}], max_tokens=max_tokens,
                                  response_format=judgement_format(quotes))
        return parse_judgement(result.text)

    def __call__(self, papers: Sequence[Paper], qualifier: str) -> dict[str, Judgement]:
        from concurrent.futures import ThreadPoolExecutor

        from .llm import LLMUnavailableError

        try:
            with ThreadPoolExecutor(self.concurrency) as pool:
                verdicts = list(pool.map(lambda p: self.one(p, qualifier), papers))
        except LLMUnavailableError as exc:
            if not self.fallback:
                raise
            self.failure = str(exc)
            return {}
        return {paper.paper_id: verdict for paper, verdict in zip(papers, verdicts, strict=True)}


def judgement_quotes(paper: Paper) -> list[str]:
    """What a judgement may quote: the title and each sentence of the abstract, verbatim."""
    sentences = [paper.abstract[start:end] for start, end in sentence_spans(paper.abstract)]
    return list(dict.fromkeys(q for q in (paper.title, *sentences) if q.strip()))


def judgement_format(quotes: Sequence[str]) -> dict:
    """vLLM structured output for one judgement: the verdict, and a quote that can only be one of the
    paper's own sentences (or null), so a model cannot paraphrase or invent its evidence."""
    schema = {
        "type": "object",
        "properties": {"fits": {"enum": ["yes", "no", "unclear"]},
                       "quote": {"anyOf": [{"enum": list(quotes)}, {"type": "null"}]}},
        "required": ["fits", "quote"],
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": "qualifier_judgement", "schema": schema, "strict": True}}


def parse_judgement(text: str) -> Judgement:
    match = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        data = json.loads(match.group(0)) if match else {}
    except json.JSONDecodeError:
        data = {}
    fits = str(data.get("fits", "unclear")).casefold()
    quote = data.get("quote")
    verdict: Literal["yes", "no", "unclear"] = "yes" if fits == "yes" else "no" if fits == "no" else "unclear"
    return Judgement(fits=verdict,
                     quote=quote.strip() if isinstance(quote, str) and quote.strip() else None)


# ----- export --------------------------------------------------------------------------------------

CSV_COLUMNS = ("paper_id", "title", "model", "dataset", "metric", "value", "unit", "is_delta", "qualifiers",
               "dataset_surface", "metric_surface", "value_text", "sentence", "start_char", "end_char")


def results_csv(rows: Sequence[ResultRow]) -> str:
    """RFC 4180 CSV (csv module); text a spreadsheet would run as a formula is prefixed with '."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        data = row.model_dump()
        writer.writerow([_csv_cell(data[c]) for c in CSV_COLUMNS])
    return buffer.getvalue()


def _csv_cell(value: object) -> object:
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
