"""Reading paper files (HF paper-feed dumps, arXiv JSONL, BEIR corpora, CSV/TSV) into ``Paper``s.

Every paper gets a stable ``paper_id`` (arXiv id, BEIR ``_id``, an id column, else a hash of the
normalised title) so that re-ingesting the same file never creates a second copy, and citations
and evaluation qrels keep pointing at the same paper. Problems are split in two levels: a file
that cannot be used at all is an *error* (``SourceError`` in strict mode), one bad record in an
otherwise good file is a *warning* naming ``file:line`` and the record is skipped. The policy
table lives in ``docs/data-formats.md``.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from paperqa.config import IngestConfig, load_config
from paperqa.errors import SourceError
from paperqa.models import Paper, SourceProblem

FORMATS = ("hf-dump", "arxiv-jsonl", "beir", "csv")
EXTENSIONS = {
    ".txt": "hf-dump",
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": None,  # JSON lines: arxiv-jsonl or beir, decided by the first record
    ".json": None,
    ".ndjson": None,
}
TITLE_HASH_PREFIX = "t-"

_BOM = b"\xef\xbb\xbf"
_SNIFF_LINES = 20


class LoadResult(BaseModel):
    """Deduplicated papers plus what was rejected: whole files (errors) and single records (warnings)."""

    papers: list[Paper] = Field(default_factory=list)
    errors: list[SourceProblem] = Field(default_factory=list, description="files that contributed nothing")
    warnings: list[SourceProblem] = Field(default_factory=list, description="records skipped, file:line")
    duplicates: int = Field(default=0, description="records merged into an earlier paper")


class _FileProblem(Exception):
    """Internal: a file-level problem, turned into SourceError or an ``errors`` entry by the caller."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.problem = SourceProblem(path=str(path), line=line, message=message)


# --------------------------------------------------------------------------------------------
# Identity: title keys, arXiv ids, paper ids


def title_key(title: str) -> str:
    """Case-, width- and punctuation-insensitive form of a title, so reprints compare equal."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", title).casefold())
    return re.sub(r"[\W_]+", " ", text).strip()


_NEW_ARXIV = re.compile(r"(?P<yy>\d{2})(?P<mm>0[1-9]|1[0-2])\.\d{4,5}")
_OLD_ARXIV = re.compile(r"[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/(?P<yy>\d{2})(?P<mm>0[1-9]|1[0-2])\d{3}")
_ARXIV_PREFIX = re.compile(r"^arxiv:\s*", re.IGNORECASE)
_VERSION = re.compile(r"v\d+$")
_ARXIV_URL = re.compile(r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?P<id>.+?)(?:\.pdf)?/?$", re.IGNORECASE)


def normalize_arxiv_id(value: Any) -> str | None:
    """The bare arXiv id (``2301.01234``, ``hep-th/9901001``) from an id, ``arXiv:`` id or URL."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    url = _ARXIV_URL.match(text)
    if url:
        text = url.group("id")
    text = _VERSION.sub("", _ARXIV_PREFIX.sub("", text))
    if _NEW_ARXIV.fullmatch(text) or _OLD_ARXIV.fullmatch(text):
        return text
    return None


def year_from_arxiv_id(arxiv_id: str) -> int | None:
    """Submission year encoded in an arXiv id: ``2301.x`` -> 2023, ``hep-th/9901001`` -> 1999."""
    match = _NEW_ARXIV.fullmatch(arxiv_id) or _OLD_ARXIV.fullmatch(arxiv_id)
    if not match:
        return None
    yy = int(match.group("yy"))
    return 1900 + yy if yy >= 91 else 2000 + yy  # arXiv started in August 1991


def title_hash_id(title: str) -> str:
    """Id for a paper without any identifier: stable as long as the title is the same."""
    return TITLE_HASH_PREFIX + hashlib.sha1(title_key(title).encode("utf-8")).hexdigest()[:16]


def is_title_hash_id(paper_id: str) -> bool:
    """True when the id is only a title hash, i.e. the paper came without an identifier."""
    return bool(re.fullmatch(TITLE_HASH_PREFIX + r"[0-9a-f]{16}", paper_id))


def paper_id_for(title: str, *candidates: Any) -> str:
    """The first arXiv id among ``candidates``, else the first non-empty one as given, else a title hash."""
    for value in candidates:
        arxiv_id = normalize_arxiv_id(value)
        if arxiv_id:
            return arxiv_id
    for value in candidates:
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return title_hash_id(title)


def same_paper(a: Paper, b: Paper) -> bool:
    """Same id, or same title when at least one of them has no real identifier.

    Two different real ids (arXiv ids, BEIR ``_id``s) are two papers even with equal titles:
    arXiv holds distinct papers titled "My Publication Title" and SciFact distinct documents titled
    "Summary", and merging those would lose papers (and break evaluation qrels).
    """
    if a.paper_id == b.paper_id:
        return True
    if is_title_hash_id(a.paper_id) or is_title_hash_id(b.paper_id):
        return title_key(a.title) == title_key(b.title)
    return False


# --------------------------------------------------------------------------------------------
# Metadata helpers


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _clean(text: str) -> str:
    """Collapse whitespace runs (arXiv wraps titles and abstracts) into single spaces; drop control bytes."""
    return " ".join(_CONTROL.sub("", text).split())


_YEAR = re.compile(r"\b(1[89]\d{2}|20\d{2}|2100)\b")


def _parse_year(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1800 <= value <= 2100 else None
    if isinstance(value, float) and value.is_integer():
        return _parse_year(int(value))
    if isinstance(value, str):
        match = _YEAR.search(value)
        return int(match.group(1)) if match else None
    return None


def _split_authors(value: Any) -> list[str]:
    """Authors from a list, or a string like ``"A. Smith, B. Jones and C. Wu"`` / ``"Smith, A; Wu, C"``."""
    if isinstance(value, list):
        names = [_author_from_parsed(v) if isinstance(v, list) else str(v) for v in value]
        return [n for n in (_clean(name) for name in names) if n]
    if not isinstance(value, str):
        return []
    text = re.sub(r"\([^()]*\)", " ", value)  # arXiv puts affiliations in parentheses
    parts = text.split(";") if ";" in text else re.split(r",|\s+and\s+|\s*&\s*", text)
    return [name for name in (_clean(p) for p in parts) if name and name.lower() != "and"]


def _author_from_parsed(parts: list[Any]) -> str:
    """arXiv ``authors_parsed`` entries are ``[last, first, suffix]``."""
    last, first, suffix = ([str(p) for p in parts] + ["", "", ""])[:3]
    return _clean(f"{first} {last} {suffix}")


def _split_categories(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [c for c in re.split(r"[\s,;]+", value) if c]
    return []


def _first(record: dict[str, Any], *keys: str) -> Any:
    """The first present, non-empty value among ``keys``."""
    for key in keys:
        value = record.get(key)
        if value not in (None, "", []):
            return value
    return None


# --------------------------------------------------------------------------------------------
# Turning one raw record into a Paper (shared by every format)


@dataclass
class _Context:
    """What record parsers need to report problems and apply limits."""

    path: Path
    cfg: IngestConfig
    warnings: list[SourceProblem] = field(default_factory=list)

    def warn(self, line: int | None, message: str) -> None:
        self.warnings.append(SourceProblem(path=str(self.path), line=line, message=message))


_SURROGATES = re.compile("[\ud800-\udfff]")


def _make_paper(
    ctx: _Context,
    line: int,
    title: Any,
    abstract: Any,
    meta: dict[str, Any],
    explicit_id: Any = None,
    id_candidates: Sequence[Any] = (),
) -> Paper | None:
    """Validate title and abstract, derive id/year/url; ``None`` (with a warning) for a bad record.

    One bad record never rejects its file (docs/data-formats.md): a field of a type no rule expects
    is caught here and reported as that record's ``file:line`` warning.
    """
    try:
        paper = _build_paper(ctx, line, title, abstract, meta, explicit_id, id_candidates)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        ctx.warn(line, f"record cannot be read ({type(exc).__name__}: {str(exc)[:200]}); skipped")
        return None
    if paper is not None and _has_surrogate(paper):
        # JSON escapes such as "\ud800" decode to lone surrogates: not text, cannot be embedded or saved
        ctx.warn(line, "record holds a lone surrogate escape (e.g. \\ud800), which is not valid Unicode "
                       "text; skipped")
        return None
    return paper


def _has_surrogate(paper: Paper) -> bool:
    values = [paper.paper_id, paper.title, paper.abstract, paper.url or "", *paper.authors, *paper.categories]
    return any(_SURROGATES.search(value) for value in values)


def _build_paper(
    ctx: _Context,
    line: int,
    title: Any,
    abstract: Any,
    meta: dict[str, Any],
    explicit_id: Any,
    id_candidates: Sequence[Any],
) -> Paper | None:
    if not isinstance(title, str) or not title.strip():
        ctx.warn(line, "record has no title; skipped")
        return None
    if not isinstance(abstract, str) or not abstract.strip():
        ctx.warn(line, "record has no abstract; skipped")
        return None
    if len(abstract) > ctx.cfg.max_abstract_chars:
        ctx.warn(line, f"abstract is {len(abstract):,} characters, over ingest.max_abstract_chars="
                       f"{ctx.cfg.max_abstract_chars:,}; skipped")
        return None
    abstract = _clean(abstract)
    if len(abstract) < ctx.cfg.min_abstract_chars:
        ctx.warn(line, f"abstract is {len(abstract)} characters, under ingest.min_abstract_chars="
                       f"{ctx.cfg.min_abstract_chars}; skipped")
        return None
    title = _clean(title)
    if len(title) > ctx.cfg.max_title_chars:
        ctx.warn(line, f"title is {len(title):,} characters, over ingest.max_title_chars="
                       f"{ctx.cfg.max_title_chars:,}; skipped")
        return None
    if explicit_id is not None:
        paper_id = str(explicit_id).strip()
        arxiv_id = None
    else:
        paper_id = paper_id_for(title, *id_candidates)
        arxiv_id = paper_id if normalize_arxiv_id(paper_id) == paper_id else None
    if not title_key(title) and is_title_hash_id(paper_id):
        ctx.warn(line, f"title {title!r} has no letters or digits and the record has no id; skipped")
        return None
    year = _first_year(meta) or (year_from_arxiv_id(arxiv_id) if arxiv_id else None)
    url = f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else _url_from(meta)
    return Paper(
        paper_id=paper_id,
        title=title,
        abstract=abstract,
        authors=_split_authors(_first(meta, "authors_parsed", "authors", "author")),
        year=year,
        url=url,
        categories=_split_categories(_first(meta, "categories", "category", "tags")),
        sources=[ctx.path.name],
    )


def _first_year(meta: dict[str, Any]) -> int | None:
    for key in ("year", "published", "publication_date", "date", "update_date"):
        year = _parse_year(meta.get(key))
        if year:
            return year
    return None


def _url_from(meta: dict[str, Any]) -> str | None:
    url = _first(meta, "url", "link", "pdf_url")
    if isinstance(url, str) and url.strip():
        return url.strip()
    doi = meta.get("doi")
    if isinstance(doi, str) and doi.strip():
        return f"https://doi.org/{doi.strip()}"
    return None


# --------------------------------------------------------------------------------------------
# Reading bytes: UTF-8 line by line, errors naming the line


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, decoded line with its ending), streaming; bad UTF-8 is a file error."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _FileProblem(
                    path, f"is not UTF-8 text: undecodable byte 0x{raw[exc.start]:02x} at line {number}, "
                          f"byte {exc.start + 1} (re-save the file as UTF-8)", line=number) from None


def _head_lines(path: Path, limit: int = _SNIFF_LINES) -> list[str]:
    """The first ``limit`` non-empty lines, for format detection."""
    lines: list[str] = []
    for _, line in _text_lines(path):
        if line.strip():
            lines.append(line.strip())
            if len(lines) >= limit:
                break
    return lines


# --------------------------------------------------------------------------------------------
# Format detection


def detect_format(path: Path) -> str:
    """The format of ``path``: by extension, then by content; raises ``SourceError`` when unknown."""
    path = Path(path)
    try:
        return _detect(path)
    except _FileProblem as exc:
        raise SourceError(str(exc.problem)) from None


def _detect(path: Path) -> str:
    suffix = path.suffix.lower()
    known = EXTENSIONS.get(suffix)
    if known is not None:
        return known
    head = _head_lines(path)
    if not head:
        raise _FileProblem(path, "file is empty")
    fmt = _sniff_json(head)
    if fmt == "json-array":
        raise _FileProblem(path, "is a JSON array; paperqa reads JSON lines (one object per line), e.g. "
                                 "convert it with: jq -c '.[]' in.json > out.jsonl")
    if fmt is None and suffix not in EXTENSIONS:
        fmt = _sniff_csv(head) or _sniff_hf_dump(head)
    if fmt is None:
        what = "JSON lines without a known record shape" if suffix in EXTENSIONS else "an unrecognised file"
        raise _FileProblem(
            path, f"unknown format ({what}); known formats: {', '.join(FORMATS)} "
                  f"(JSON lines need 'title' and 'abstract', or BEIR '_id', 'title', 'text'); "
                  f"use --format to override")
    return fmt


def _json_format(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    if "_id" in record and "text" in record:
        return "beir"
    if "abstract" in record:
        return "arxiv-jsonl"
    return None


def _sniff_json(head: list[str]) -> str | None:
    """The record shape of the first parseable JSON object line (a malformed first line is skipped)."""
    if head[0].startswith("["):
        return "json-array"
    if not head[0].startswith("{"):
        return None
    for line in head:
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        return _json_format(record)
    return None


def _sniff_csv(head: list[str]) -> str | None:
    header = _csv_header(head[0], _delimiter_of(head[0]))
    return "csv" if "title" in header and header & set(_ABSTRACT_COLUMNS) else None


def _delimiter_of(header_line: str) -> str:
    """The most frequent of , tab ; | in the header line; a comma when none occurs."""
    counts = {d: header_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_header(line: str, delimiter: str) -> set[str]:
    return {h.strip().lower() for h in next(csv.reader([line], delimiter=delimiter), [])}


def _sniff_hf_dump(head: list[str]) -> str | None:
    """A feed dump has a long prose line right after a short one (title, then abstract)."""
    for previous, line in itertools.pairwise(head):
        if _is_long_abstract(line) and not _is_long_abstract(previous):
            return "hf-dump"
    return None


# --------------------------------------------------------------------------------------------
# hf-dump: title line, blank line, abstract line, with page chrome around


_LONG_ABSTRACT_CHARS = 200
_TITLE_MAX_CHARS = 300
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_CHROME = re.compile(
    rf"^(?:new|subscribe|daily papers|get trending papers in your email inbox!?|by\s*ak and the research community"
    rf"|submitted by .*|upvote|\d+|{_MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?|\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?"
    rf"|\d{{4}}-\d{{2}}-\d{{2}})$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?)\]]$")


def _is_chrome(line: str) -> bool:
    return bool(_CHROME.match(line))


def _is_long_abstract(line: str) -> bool:
    """Abstract lines are paragraphs; titles in the feed never reach 200 characters."""
    return len(line) >= _LONG_ABSTRACT_CHARS


def _is_title(line: str) -> bool:
    return not _is_chrome(line) and len(line) <= _TITLE_MAX_CHARS and not _is_long_abstract(line)


def _hf_pairs(lines: list[tuple[int, str]]) -> Iterator[tuple[int, str | None, int, str]]:
    """(title line, title, abstract line, abstract) for each entry; title ``None`` when missing.

    Long lines are abstracts and the line before each is its title. A short entry (abstract under
    200 characters) is recognised only as a title-like line followed by a sentence that ends in
    punctuation and is not itself a title; every other short line is page chrome.
    """
    n = len(lines)
    used = [False] * n
    abstracts = {i for i, (_, text) in enumerate(lines) if _is_long_abstract(text)}
    for i in sorted(abstracts):
        used[i] = True
        if i > 0 and not used[i - 1] and _is_title(lines[i - 1][1]):
            used[i - 1] = True
            yield lines[i - 1][0], lines[i - 1][1], lines[i][0], lines[i][1]
        else:
            yield lines[i][0], None, lines[i][0], lines[i][1]
    for i in range(n - 1):
        if used[i] or used[i + 1] or (i + 2 < n and i + 2 in abstracts):
            continue
        title, text = lines[i][1], lines[i + 1][1]
        if _is_short_entry(title, text):
            used[i] = used[i + 1] = True
            yield lines[i][0], title, lines[i + 1][0], text


def _is_short_entry(title: str, text: str) -> bool:
    """A title (no closing punctuation) then a sentence of at least four words that is not chrome."""
    sentence = bool(_SENTENCE_END.search(text)) and len(text.split()) >= 4 and not _is_chrome(text)
    return sentence and _is_title(title) and not _SENTENCE_END.search(title)


def _read_hf_dump(ctx: _Context) -> Iterator[Paper]:
    lines = [(number, line.strip()) for number, line in _text_lines(ctx.path) if line.strip()]
    if not lines:
        raise _FileProblem(ctx.path, "file is empty")
    entries = sorted(_hf_pairs(lines), key=lambda entry: entry[2])
    for title_line, title, abstract_line, abstract in entries:
        if title is None:
            ctx.warn(abstract_line, "abstract paragraph without a title line before it; skipped")
            continue
        paper = _make_paper(ctx, title_line, title, abstract, {})
        if paper is not None:
            yield paper


# --------------------------------------------------------------------------------------------
# JSON lines: arXiv snapshot / ml-abstracts, and BEIR corpora


def _json_records(ctx: _Context) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, object) for each JSON object line; malformed or non-object lines become warnings."""
    seen_text = False
    for number, line in _text_lines(ctx.path):
        text = line.strip()
        if not text:
            continue
        seen_text = True
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            ctx.warn(number, f"malformed JSON ({exc.msg} at column {exc.colno}); skipped")
            continue
        except RecursionError:  # json's C decoder recurses once per nesting level
            ctx.warn(number, "JSON nested too deeply to be a paper record; skipped")
            continue
        if not isinstance(record, dict):
            ctx.warn(number, f"expected a JSON object per line, got {type(record).__name__}; skipped")
            continue
        yield number, record
    if not seen_text:
        raise _FileProblem(ctx.path, "file is empty")


_ID_FIELDS = ("arxiv_id", "id", "paper_id")


def _read_arxiv_jsonl(ctx: _Context) -> Iterator[Paper]:
    for number, record in _json_records(ctx):
        abstract = _first(record, "abstract", "summary", "text")
        ids = [record.get(key) for key in _ID_FIELDS] + [normalize_arxiv_id(record.get("url"))]
        paper = _make_paper(ctx, number, record.get("title"), abstract, record, id_candidates=ids)
        if paper is not None:
            yield paper


def _read_beir(ctx: _Context) -> Iterator[Paper]:
    for number, record in _json_records(ctx):
        doc_id = record.get("_id")
        if not isinstance(doc_id, (str, int)) or isinstance(doc_id, bool) or not str(doc_id).strip():
            ctx.warn(number, "BEIR record has no '_id'; skipped")
            continue
        metadata = record.get("metadata")
        meta: dict[str, Any] = metadata if isinstance(metadata, dict) else {}
        paper = _make_paper(ctx, number, record.get("title"), record.get("text"), meta, explicit_id=doc_id)
        if paper is not None:
            yield paper


# --------------------------------------------------------------------------------------------
# CSV / TSV


_ABSTRACT_COLUMNS = ("abstract", "summary", "text")


class _LineCounter:
    """Feeds decoded lines to the csv module and remembers the last line number it consumed."""

    def __init__(self, path: Path) -> None:
        self.lines = _text_lines(path)
        self.line = 0

    def __iter__(self) -> Iterator[str]:
        for number, line in self.lines:
            self.line = number
            yield line


def _read_csv(ctx: _Context) -> Iterator[Paper]:
    counter = _LineCounter(ctx.path)
    # strict: an unclosed quote is an error, not a field that silently swallows the rest of the file
    rows = csv.reader(counter, delimiter=_csv_delimiter(ctx.path), strict=True)
    # The default 128 KiB field limit would fail before max_abstract_chars can warn; the limit is
    # process-wide, so it is raised for this read only.
    previous_limit = csv.field_size_limit(2**31 - 1)
    try:
        yield from _csv_papers(ctx, rows, counter)
    except csv.Error as exc:
        raise _FileProblem(ctx.path, f"malformed CSV at line {counter.line}: {exc}", line=counter.line) from None
    finally:
        csv.field_size_limit(previous_limit)


def _csv_papers(ctx: _Context, rows: Iterator[list[str]], counter: _LineCounter) -> Iterator[Paper]:
    header = _next_nonempty(rows)
    if header is None:
        raise _FileProblem(ctx.path, "file is empty")
    columns = {name.strip().lower(): index for index, name in enumerate(header)}
    abstract_name = next((c for c in _ABSTRACT_COLUMNS if c in columns), None)
    if "title" not in columns or abstract_name is None:
        raise _FileProblem(
            ctx.path, f"CSV needs a 'title' and an 'abstract' (or 'summary'/'text') column; "
                      f"found columns: {', '.join(repr(h) for h in header)}", line=counter.line)
    start = counter.line + 1
    for row in rows:
        line, start = start, counter.line + 1  # a quoted field may span lines: report where the row starts
        if not any(cell.strip() for cell in row):
            continue
        record = {name: row[index] for name, index in columns.items() if index < len(row)}
        ids = [record.get(key) for key in _ID_FIELDS] + [normalize_arxiv_id(record.get("url"))]
        paper = _make_paper(ctx, line, record.get("title"), record.get(abstract_name), record, id_candidates=ids)
        if paper is not None:
            yield paper


def _next_nonempty(rows: Iterator[list[str]]) -> list[str] | None:
    for row in rows:
        if any(cell.strip() for cell in row):
            return row
    return None


def _csv_delimiter(path: Path) -> str:
    """Tab for .tsv; otherwise the delimiter the header line uses most."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    head = _head_lines(path, limit=1)
    return _delimiter_of(head[0]) if head else ","


_READERS = {
    "hf-dump": _read_hf_dump,
    "arxiv-jsonl": _read_arxiv_jsonl,
    "beir": _read_beir,
    "csv": _read_csv,
}


# --------------------------------------------------------------------------------------------
# Loading many files


def bundled_corpus_paths() -> list[Path]:
    """The HF paper-feed dumps shipped with the package: the default corpus for a new user."""
    folder = resources.files("paperqa") / "data" / "hf-papers"
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".txt"))


def _expand(paths: Iterable[str | Path]) -> tuple[list[Path], list[SourceProblem]]:
    """Files to read, in order, without repeats; directories recurse over known extensions."""
    files: list[Path] = []
    problems: list[SourceProblem] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                problems.append(SourceProblem(
                    path=str(path), message=f"directory holds no {'/'.join(sorted(EXTENSIONS))} files"))
            candidates = found
        elif path.is_file():
            candidates = [path]
        else:
            problems.append(SourceProblem(path=str(path), message="no such file or directory"))
            continue
        for file in candidates:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    return files, problems


def _read_file(path: Path, fmt: str, cfg: IngestConfig, deduper: _Deduper) -> list[SourceProblem]:
    """Add one file's papers to ``deduper`` as they are read (a file is never held whole), or
    raise ``_FileProblem``; a file whose every record was skipped is an error."""
    ctx = _Context(path=path, cfg=cfg)
    count = 0
    deduper.begin_file()
    try:
        for paper in _READERS[fmt](ctx):
            deduper.add(paper)
            count += 1
    except OSError as exc:
        deduper.rollback_file()
        raise _FileProblem(path, f"cannot be read: {exc.strerror or exc}") from None
    except _FileProblem:
        deduper.rollback_file()
        raise
    if not count:
        detail = f" ({len(ctx.warnings)} records skipped, first: {ctx.warnings[0]})" if ctx.warnings else ""
        raise _FileProblem(path, f"no papers found in {path.name} as {fmt}{detail}")
    return ctx.warnings


class PaperStore(Protocol):
    """Where parsed papers go: a list, or an ingest's scratch file (``records.PaperSpill``)."""

    def append(self, paper: Paper) -> None: ...

    def __getitem__(self, i: int) -> Paper: ...

    def __setitem__(self, i: int, paper: Paper) -> None: ...

    def __delitem__(self, i: slice) -> None: ...  # only ever the tail: ``del papers[n:]``

    def __len__(self) -> int: ...


class _Deduper:
    """Merges records of the same paper: first record's fields win, later ones fill the gaps.

    Holds the ids and title keys; the papers themselves go to ``papers`` (a list by default).
    """

    def __init__(self, papers: PaperStore | None = None) -> None:
        self.papers: PaperStore = papers if papers is not None else list[Paper]()
        self.by_id: dict[str, int] = {}
        self.by_title: dict[str, list[int]] = {}
        self.duplicates = 0
        self._start = (0, 0)
        self._undo: list[tuple[str, Any, Any]] = []

    def begin_file(self) -> None:
        """What the next file adds can be taken back: a file with a problem contributes nothing,
        although its papers go to ``papers`` as they are read."""
        self._start, self._undo = (len(self.papers), self.duplicates), []

    def rollback_file(self) -> None:
        size, self.duplicates = self._start
        for kind, key, value in reversed(self._undo):
            if kind == "id":
                del self.by_id[key]
            elif kind == "title":
                self.by_title[key].remove(value)
            else:  # an earlier paper this file's duplicate had merged into
                self.papers[key] = value
        del self.papers[size:]

    def add(self, paper: Paper) -> None:
        index = self._match(paper)
        if index is None:
            index = len(self.papers)
            self.papers.append(paper)
        else:
            self.duplicates += 1
            earlier = self.papers[index]
            self._undo.append(("paper", index, earlier))
            self.papers[index] = _merge(earlier, paper)
        if paper.paper_id not in self.by_id:
            self.by_id[paper.paper_id] = index
            self._undo.append(("id", paper.paper_id, None))
        key = title_key(paper.title)
        indexes = self.by_title.setdefault(key, [])
        if index not in indexes:
            indexes.append(index)
            self._undo.append(("title", key, index))

    def _match(self, paper: Paper) -> int | None:
        if paper.paper_id in self.by_id:
            return self.by_id[paper.paper_id]
        for index in self.by_title.get(title_key(paper.title), []):
            if same_paper(self.papers[index], paper):
                return index
        return None


def _merge(first: Paper, later: Paper) -> Paper:
    return first.model_copy(update={
        "authors": first.authors or later.authors,
        "year": first.year if first.year is not None else later.year,
        "url": first.url or later.url,
        "categories": first.categories or later.categories,
        "sources": first.sources + [s for s in later.sources if s not in first.sources],
    })


def plan_files(
    paths: Sequence[str | Path] | str | Path, fmt: str | None = None, strict: bool = True,
) -> tuple[list[tuple[Path, str]], list[SourceProblem]]:
    """Every file to read with its format, and the paths that cannot be read; with ``strict``, any
    such path raises ``SourceError`` (before anything is read or written)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if fmt is not None and fmt not in FORMATS:
        raise SourceError(f"unknown format '{fmt}'; known formats: {', '.join(FORMATS)}")
    files, errors = _expand(paths)
    plan: list[tuple[Path, str]] = []
    for path in files:
        try:
            plan.append((path, fmt or _detect(path)))
        except _FileProblem as exc:
            errors.append(exc.problem)
    if strict and errors:
        raise SourceError("; ".join(str(e) for e in errors))
    return plan, errors


def load_papers(
    paths: Sequence[str | Path],
    fmt: str | None = None,
    cfg: IngestConfig | None = None,
    strict: bool = True,
    into: PaperStore | None = None,
) -> LoadResult:
    """Read and deduplicate papers from files and directories.

    ``into``: where the papers go as they are read (default: a list in memory); an ingest passes
    a scratch file, so a corpus of millions of papers is never held whole.

    ``strict``: the first file-level problem raises ``SourceError`` (nothing is returned, so the
    caller writes nothing); otherwise it is recorded in ``errors`` and the other files still load.
    Missing paths and unknown formats are checked for every path before any file is read.
    """
    cfg = cfg or load_config().ingest
    plan, errors = plan_files(paths, fmt, strict)
    result = LoadResult(errors=errors)
    deduper = _Deduper(into)
    for path, file_fmt in plan:
        try:
            result.warnings.extend(_read_file(path, file_fmt, cfg, deduper))
        except _FileProblem as exc:
            if strict:
                raise SourceError(str(exc.problem)) from None
            result.errors.append(exc.problem)
    result.papers = deduper.papers  # type: ignore[assignment]  # a list, or ``into`` (a Sequence)
    result.duplicates = deduper.duplicates
    return result
