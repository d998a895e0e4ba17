"""Reading paper files: every format, detection, ids, metadata, dedupe and each bad-input case.

Real files are written to tmp_path; the shared data sets are used when present.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from paperqa.config import IngestConfig
from paperqa.models import Paper
from paperqa.sources import (
    FORMATS,
    LoadResult,
    SourceError,
    bundled_corpus_paths,
    detect_format,
    is_title_hash_id,
    load_papers,
    normalize_arxiv_id,
    paper_id_for,
    same_paper,
    title_hash_id,
    title_key,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
ML_ABSTRACTS = SHARED / "data" / "ml-abstracts" / "ml_abstracts.jsonl"
SCIFACT = SHARED / "eval" / "scifact" / "corpus.jsonl"

CFG = IngestConfig(max_abstract_chars=100_000, min_abstract_chars=20)
ABSTRACT = (
    "We study retrieval over research abstracts and show that hybrid search with dense and sparse "
    "signals improves recall on every benchmark we tried, at a small cost in latency."
)
ABSTRACT2 = (
    "A second abstract about something else entirely: convolutional networks for segmenting "
    "medical images, evaluated on three public datasets with consistent gains over baselines."
)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, *records: object) -> Path:
    return write(path, "".join(json.dumps(r) + "\n" for r in records))


def load(*paths: Path, **kwargs: object) -> LoadResult:
    kwargs.setdefault("cfg", CFG)
    return load_papers(list(paths), **kwargs)  # type: ignore[arg-type]


def only(result: LoadResult) -> Paper:
    assert len(result.papers) == 1, result
    return result.papers[0]


# --------------------------------------------------------------------------------------------
# Bundled corpus (HF paper-feed dumps)


def test_bundled_corpus_has_134_entries_and_123_papers() -> None:
    paths = bundled_corpus_paths()
    assert [p.name for p in paths] == ["000_2487907a383b8a5c.txt", "004_4757aacaa2b45415.txt"]
    result = load_papers(paths)  # default config
    assert result.errors == [] and result.warnings == []
    assert len(result.papers) + result.duplicates == 134
    assert result.duplicates == 11
    assert len(result.papers) == 123
    assert len({p.paper_id for p in result.papers}) == 123


def test_bundled_corpus_titles_and_abstracts_are_exact() -> None:
    papers = {p.title: p for p in load_papers(bundled_corpus_paths()).papers}
    moat = papers["MOAT: Alternating Mobile Convolution and Attention Brings Strong Vision Models"]
    assert moat.abstract.startswith("This paper presents MOAT, a family of neural networks")
    assert moat.paper_id == title_hash_id(moat.title) and moat.url is None and moat.year is None
    first = papers[
        "Deep Structured Feature Networks for Table Detection and Tabular Data Extraction from Scanned "
        "Financial Document Images"
    ]
    assert first.abstract.startswith("Automatic table detection in PDF documents")
    assert first.abstract.endswith("for the tabular data extraction from PDF files.")
    last = papers["kMaX-DeepLab: k-means Mask Transformer"]
    assert last.abstract.endswith("https://github.com/bytedance/kmax-deeplab")
    chrome = {"new", "Subscribe", "Daily Papers", "byAK and the research community", "Mar 11", "Jul 30",
              "Get trending papers in your email inbox!"}
    for paper in papers.values():
        assert paper.title not in chrome
        assert not any(c in paper.abstract for c in ("Get trending papers", "byAK and the research", "Subscribe"))
        assert len(paper.abstract) >= 200 and len(paper.title) < 200


def test_bundled_duplicates_keep_both_sources() -> None:
    papers = {p.title: p for p in load_papers(bundled_corpus_paths()).papers}
    both = [p for p in papers.values() if len(p.sources) == 2]
    assert len(both) == 11
    assert papers["VOLO: Vision Outlooker for Visual Recognition"].sources == [
        "000_2487907a383b8a5c.txt", "004_4757aacaa2b45415.txt"]


def test_hf_dump_ignores_chrome_and_reports_orphan_abstract(tmp_path: Path) -> None:
    text = (
        "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
        "byAK and the research community\n\nMar 11\n\n\n\n"
        f"First Paper Title\n\n{ABSTRACT} " + "More words. " * 10 + "\n\n\n"
        f"Short Entry Title\n\n{ABSTRACT2[:120].rstrip()}.\n\n"
        "Jul 30\n\n" + ABSTRACT2 * 2 + "\n\n"  # abstract whose title line is missing (only chrome before it)
        "Subscribe\n\n"
    )
    path = write(tmp_path / "feed.txt", text)
    result = load(path)
    assert [p.title for p in result.papers] == ["First Paper Title", "Short Entry Title"]
    assert result.papers[0].abstract == ABSTRACT + " " + " ".join(["More words."] * 10)
    assert result.papers[1].abstract == ABSTRACT2[:120].rstrip() + "."
    assert [str(w) for w in result.warnings] == [
        f"{path}:26: abstract paragraph without a title line before it; skipped"]


def test_hf_dump_short_abstract_warns_with_title_line(tmp_path: Path) -> None:
    path = write(tmp_path / "feed.txt", f"Tiny Title\n\nToo short, really now.\n\nGood Title\n\n{ABSTRACT * 2}\n")
    result = load(path, cfg=IngestConfig(max_abstract_chars=100_000, min_abstract_chars=30))
    assert [p.title for p in result.papers] == ["Good Title"]
    assert len(result.warnings) == 1 and result.warnings[0].line == 1
    assert "under ingest.min_abstract_chars=30" in result.warnings[0].message


# --------------------------------------------------------------------------------------------
# arXiv JSON lines: ids, years, urls, authors, categories


def test_arxiv_jsonl_metadata(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "snap.jsonl",
        {"id": "2301.01234v2", "title": "  A Wrapped\n  Title ", "abstract": "  " + ABSTRACT + "\n",
         "authors": "A. Smith, B. Jones and C. Wu", "categories": "cs.CL cs.IR", "update_date": "2023-02-05"},
        {"id": "arXiv:hep-th/9901001v1", "title": "Old Style", "abstract": ABSTRACT2,
         "authors_parsed": [["Smith", "Alice", ""], ["Wu", "C.", "Jr."]], "categories": ["hep-th", "gr-qc"]},
        {"title": "From a URL", "abstract": ABSTRACT, "url": "https://arxiv.org/pdf/1706.03762v7.pdf",
         "authors": ["Ashish Vaswani", "Noam Shazeer"]},
        {"id": "my-own-7", "title": "Own Id", "abstract": ABSTRACT2, "year": 2019, "url": "https://example.org/p"},
        {"title": "No Id At All", "abstract": ABSTRACT, "published": "Tue, 5 Mar 2024 10:00:00 GMT"},
        {"title": "Only A Url", "abstract": ABSTRACT2, "url": "https://example.org/x"},
    )
    papers = load(path).papers
    assert [p.paper_id for p in papers] == [
        "2301.01234", "hep-th/9901001", "1706.03762", "my-own-7", title_hash_id("No Id At All"),
        title_hash_id("Only A Url")]  # a non-arXiv URL is metadata, not an id
    first, old, url, own, none, only_url = papers
    assert only_url.url == "https://example.org/x"
    assert first.title == "A Wrapped Title" and first.abstract == ABSTRACT
    assert first.authors == ["A. Smith", "B. Jones", "C. Wu"]
    assert first.categories == ["cs.CL", "cs.IR"]
    assert first.year == 2023 and first.url == "https://arxiv.org/abs/2301.01234"
    assert first.sources == ["snap.jsonl"]
    assert old.authors == ["Alice Smith", "C. Wu Jr."] and old.categories == ["hep-th", "gr-qc"]
    assert old.year == 1999 and old.url == "https://arxiv.org/abs/hep-th/9901001"
    assert url.year == 2017 and url.url == "https://arxiv.org/abs/1706.03762"
    assert url.authors == ["Ashish Vaswani", "Noam Shazeer"]
    assert own.year == 2019 and own.url == "https://example.org/p"
    assert none.year == 2024 and none.url is None and is_title_hash_id(none.paper_id)


def test_arxiv_id_normalisation() -> None:
    assert normalize_arxiv_id("2301.01234v12") == "2301.01234"
    assert normalize_arxiv_id("arXiv:0705.1876") == "0705.1876"
    assert normalize_arxiv_id("ARXIV: 1501.0001v1") == "1501.0001"
    assert normalize_arxiv_id("http://www.arxiv.org/abs/math.AG/0101001v3") == "math.AG/0101001"
    assert normalize_arxiv_id("https://arxiv.org/abs/2106.09685") == "2106.09685"
    assert normalize_arxiv_id("1234.5678") is None  # month 34 does not exist
    assert normalize_arxiv_id("not an id") is None
    assert normalize_arxiv_id(None) is None


def test_ids_are_stable_across_runs(tmp_path: Path) -> None:
    assert title_hash_id("Attention Is All You Need") == "t-" + hashlib.sha1(
        b"attention is all you need").hexdigest()[:16]
    assert title_hash_id("Attention is all you need!") == title_hash_id("  ATTENTION  is all-you need ")
    assert paper_id_for("T", None, "", "2301.01234v3") == "2301.01234"
    assert paper_id_for("T", "custom-1", "2301.01234") == "2301.01234"  # an arXiv id wins
    path = write(tmp_path / "feed.txt", f"A Title\n\n{ABSTRACT * 2}\n\nB Title\n\n{ABSTRACT2 * 2}\n")
    first = [p.paper_id for p in load(path).papers]
    copy = write(tmp_path / "other" / "renamed.txt", path.read_text())
    assert [p.paper_id for p in load(copy).papers] == first == [title_hash_id("A Title"), title_hash_id("B Title")]


def test_title_key_normalises_unicode_case_and_punctuation() -> None:
    assert title_key("ＢＥＲＴ: Pre-training  of\tDeep\nTransformers") == "bert pre training of deep transformers"
    assert title_key("Straße") == title_key("STRASSE")
    assert title_key("“Quoted” — title…") == "quoted title"
    assert title_key(":") == ""


# --------------------------------------------------------------------------------------------
# BEIR


def test_beir_keeps_ids_exactly_and_does_not_merge_equal_titles(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "corpus.jsonl",
        {"_id": "007", "title": "Summary", "text": ABSTRACT, "metadata": {}},
        {"_id": "13492264", "title": "Summary", "text": ABSTRACT2, "metadata": {"year": 2011}},
        {"_id": 42, "title": "Int Id", "text": ABSTRACT},
    )
    assert detect_format(path) == "beir"
    result = load(path)
    assert [p.paper_id for p in result.papers] == ["007", "13492264", "42"]
    assert result.duplicates == 0
    assert result.papers[1].year == 2011 and result.papers[0].url is None


def test_beir_record_without_id_is_a_warning(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "c.jsonl", {"_id": "1", "title": "T", "text": ABSTRACT}, {"title": "U", "text": ABSTRACT2})
    result = load(path, fmt="beir")
    assert len(result.papers) == 1
    assert [str(w) for w in result.warnings] == [f"{path}:2: BEIR record has no '_id'; skipped"]


# --------------------------------------------------------------------------------------------
# CSV / TSV


def test_csv_columns_any_case_and_metadata(tmp_path: Path) -> None:
    path = write(
        tmp_path / "papers.csv",
        "ID,Title,Summary,Authors,Year,Categories\n"
        f'2106.09685,"LoRA, low rank","{ABSTRACT}","Hu, Edward; Shen, Yelong",2021,cs.CL\n'
        f'custom-9,Plain,"{ABSTRACT2}","A. One, B. Two",,"cs.LG;stat.ML"\n',
    )
    assert detect_format(path) == "csv"
    first, second = load(path).papers
    assert first.paper_id == "2106.09685" and first.title == "LoRA, low rank" and first.abstract == ABSTRACT
    assert first.authors == ["Hu, Edward", "Shen, Yelong"] and first.year == 2021
    assert first.url == "https://arxiv.org/abs/2106.09685" and first.categories == ["cs.CL"]
    assert second.paper_id == "custom-9" and second.authors == ["A. One", "B. Two"]
    assert second.year is None and second.categories == ["cs.LG", "stat.ML"]


def test_tsv_and_semicolon_csv_with_text_column(tmp_path: Path) -> None:
    tsv = write(tmp_path / "p.tsv", f"title\ttext\nTab Paper\t{ABSTRACT}\n")
    semi = write(tmp_path / "p.csv", f"paper_id;title;abstract\nx1;Semi Paper;{ABSTRACT2}\n")
    papers = load(tsv, semi).papers
    assert [(p.paper_id, p.title) for p in papers] == [(title_hash_id("Tab Paper"), "Tab Paper"), ("x1", "Semi Paper")]


def test_csv_multiline_field_keeps_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.csv",
        f'title,abstract\r\n"Multi","{ABSTRACT}\r\nsecond line of it"\r\n\r\nEmpty abstract,\r\nOk,"{ABSTRACT2}"\r\n',
    )
    result = load(path)
    assert [p.title for p in result.papers] == ["Multi", "Ok"]
    assert result.papers[0].abstract == ABSTRACT + " second line of it"
    assert [str(w) for w in result.warnings] == [f"{path}:5: record has no abstract; skipped"]


def test_csv_without_title_or_abstract_column_lists_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "name,body,year\nx,y,2020\n")
    with pytest.raises(SourceError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message and "'title'" in message and "'abstract'" in message
    assert "found columns: 'name', 'body', 'year'" in message


def test_csv_unclosed_quote_is_a_file_error(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", f'title,abstract\nFine,{ABSTRACT}\n"Unclosed,{ABSTRACT}\nNext,{ABSTRACT2}\n')
    with pytest.raises(SourceError, match=r"q\.csv:4: malformed CSV at line 4: unexpected end of data"):
        load(path)
    header = write(tmp_path / "h.csv", '"title,abstract\n')
    with pytest.raises(SourceError, match=r"h\.csv:1: malformed CSV at line 1"):
        load(header)


def test_csv_huge_field_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    big = "x" * 1_000_000
    path = write(tmp_path / "big.csv", f"title,abstract\nHuge,{big}\nFine,{ABSTRACT}\n")
    result = load(path)
    assert [p.title for p in result.papers] == ["Fine"]
    assert result.warnings[0].line == 2 and "1,000,000 characters" in result.warnings[0].message


# --------------------------------------------------------------------------------------------
# Format detection and override


def test_detect_format_by_extension_and_content(tmp_path: Path) -> None:
    assert detect_format(write(tmp_path / "a.txt", "anything")) == "hf-dump"
    assert detect_format(write(tmp_path / "a.csv", "x")) == "csv"
    assert detect_format(write(tmp_path / "a.tsv", "x")) == "csv"
    assert detect_format(jsonl(tmp_path / "a.jsonl", {"id": "1", "title": "t", "abstract": "a"})) == "arxiv-jsonl"
    assert detect_format(jsonl(tmp_path / "b.json", {"_id": "1", "title": "t", "text": "a"})) == "beir"
    # a malformed first line does not hide the records after it
    assert detect_format(write(tmp_path / "c.jsonl", '{"broken\n{"_id": "1", "text": "x", "title": "t"}\n')) == "beir"
    # unknown extensions: sniff the content
    assert detect_format(jsonl(tmp_path / "d.data", {"title": "t", "abstract": "a"})) == "arxiv-jsonl"
    assert detect_format(write(tmp_path / "e.dat", "Title;Abstract\nt;a\n")) == "csv"
    assert detect_format(write(tmp_path / "f", f"Some Title\n\n{ABSTRACT * 2}\n")) == "hf-dump"


def test_unknown_format_names_the_formats_and_override(tmp_path: Path) -> None:
    for path in (write(tmp_path / "notes.md", "# hello\n\nworld\n"),
                 jsonl(tmp_path / "other.jsonl", {"name": "x", "body": "y"})):
        with pytest.raises(SourceError) as info:
            detect_format(path)
        message = str(info.value)
        assert str(path) in message and "--format" in message
        assert all(fmt in message for fmt in FORMATS)


def test_format_override(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "records.txt", {"id": "2301.00001", "title": "Json In Txt", "abstract": ABSTRACT})
    with pytest.raises(SourceError, match="no papers found in records.txt as hf-dump"):
        load(path)
    assert only(load(path, fmt="arxiv-jsonl")).paper_id == "2301.00001"
    with pytest.raises(SourceError, match="unknown format 'pdf'.*hf-dump, arxiv-jsonl, beir, csv"):
        load(path, fmt="pdf")


def test_json_array_file_is_explained(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", json.dumps([{"title": "t", "abstract": ABSTRACT}], indent=1))
    with pytest.raises(SourceError, match="JSON array.*one object per line"):
        load(path)


# --------------------------------------------------------------------------------------------
# Bad input: file level


def test_missing_path_strict_and_lenient(tmp_path: Path) -> None:
    good = jsonl(tmp_path / "good.jsonl", {"id": "2301.00001", "title": "Good", "abstract": ABSTRACT})
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(SourceError, match=f"{missing}: no such file or directory"):
        load(good, missing)
    result = load(good, missing, strict=False)
    assert [p.title for p in result.papers] == ["Good"]
    assert [str(e) for e in result.errors] == [f"{missing}: no such file or directory"]


@pytest.mark.parametrize("name", ["empty.txt", "empty.jsonl", "empty.csv", "blank.txt", "blank.jsonl", "blank.csv"])
def test_empty_or_whitespace_file_is_a_file_error(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, "" if name.startswith("empty") else "  \n\n\t \r\n")
    with pytest.raises(SourceError, match="file is empty"):
        load(path)
    assert [e.message for e in load(path, strict=False).errors] == ["file is empty"]


def test_non_utf8_names_file_and_line(tmp_path: Path) -> None:
    good = {"id": "2301.00001", "title": "Good", "abstract": ABSTRACT}
    lines = [json.dumps(good).encode()] * 30 + ['{"title": "Caf\xe9", "abstract": "x"}'.encode("latin-1")]
    path = write(tmp_path / "latin1.jsonl", b"\n".join(lines) + b"\n")
    with pytest.raises(SourceError) as info:
        load(path)
    message = str(info.value)
    assert f"{path}:31:" in message and "not UTF-8" in message and "line 31" in message and "0xe9" in message
    result = load(path, strict=False)
    assert result.papers == [] and result.errors[0].line == 31
    # early in the file (found while detecting the format) and in the other formats
    for name in ("early.jsonl", "early.txt", "early.csv"):
        bad = write(tmp_path / name, b"title,abstract\n\xff\xfe broken\n")
        with pytest.raises(SourceError, match=f"{bad}:2: is not UTF-8"):
            load(bad)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    csv_path = write(tmp_path / "bom.csv", "\ufefftitle,abstract\nWith Bom," + ABSTRACT + "\n")
    record = json.dumps({"title": "Bom Json", "abstract": ABSTRACT2})
    json_path = write(tmp_path / "bom.jsonl", "\ufeff" + record + "\n")
    assert [p.title for p in load(csv_path, json_path).papers] == ["With Bom", "Bom Json"]


def test_file_with_no_usable_record_is_a_file_error(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "junk.jsonl", {"title": "x", "abstract": "short"}, {"title": "", "abstract": ABSTRACT})
    with pytest.raises(SourceError, match=r"no papers found in junk\.jsonl as arxiv-jsonl \(2 records skipped"):
        load(path)
    result = load(path, strict=False)
    assert result.papers == [] and len(result.errors) == 1 and len(result.warnings) == 0


def test_strict_raises_before_returning_anything(tmp_path: Path) -> None:
    good = jsonl(tmp_path / "a.jsonl", {"title": "Good", "abstract": ABSTRACT})
    bad = write(tmp_path / "b.txt", "just chrome\n\nnew\n")
    with pytest.raises(SourceError, match="no papers found in b.txt"):
        load(good, bad)
    result = load(good, bad, strict=False)
    assert [p.title for p in result.papers] == ["Good"] and len(result.errors) == 1


# --------------------------------------------------------------------------------------------
# Bad input: record level (file:line warnings, record skipped)


def test_record_level_problems_are_warnings_with_file_and_line(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "2301.00001", "title": "Good One", "abstract": ABSTRACT}),  # 1
        '{"id": "2301.00002", "title": "Broken", "abstract": ',  # 2 malformed
        "",  # 3 blank: ignored
        "[1, 2, 3]",  # 4 not an object
        json.dumps({"id": "2301.00004", "abstract": ABSTRACT}),  # 5 no title
        json.dumps({"id": "2301.00005", "title": "No Abstract"}),  # 6
        json.dumps({"id": "2301.00006", "title": "Empty", "abstract": "   "}),  # 7
        json.dumps({"id": "2301.00007", "title": "Short", "abstract": "Too short."}),  # 8
        json.dumps({"id": "2301.00008", "title": "Huge", "abstract": "word " * 200_000}),  # 9: 1 MB
        json.dumps({"title": "!!!", "abstract": ABSTRACT}),  # 10 title without letters, no id
        json.dumps({"id": "2301.00010", "title": ":", "abstract": ABSTRACT2}),  # 11 kept: it has an id
    ]
    path = write(tmp_path / "mixed.jsonl", "\n".join(lines) + "\n")
    result = load(path)
    assert [p.paper_id for p in result.papers] == ["2301.00001", "2301.00010"]
    got = {w.line: w.message for w in result.warnings}
    assert all(w.path == str(path) for w in result.warnings)
    assert sorted(got) == [2, 4, 5, 6, 7, 8, 9, 10]
    assert got[2].startswith("malformed JSON")
    assert got[4] == "expected a JSON object per line, got list; skipped"
    assert got[5] == "record has no title; skipped"
    assert got[6] == got[7] == "record has no abstract; skipped"
    assert got[8] == "abstract is 10 characters, under ingest.min_abstract_chars=20; skipped"
    assert got[9] == "abstract is 1,000,000 characters, over ingest.max_abstract_chars=100,000; skipped"
    assert "has no letters or digits" in got[10]
    assert str(result.warnings[0]) == f"{path}:2: {got[2]}"


# --------------------------------------------------------------------------------------------
# Dedupe and directories


def test_dedupe_across_files_fills_metadata_and_unions_sources(tmp_path: Path) -> None:
    a = jsonl(tmp_path / "a.jsonl",
              {"id": "2301.01234v1", "title": "Same Paper", "abstract": ABSTRACT},
              {"id": "2301.09999", "title": "Other", "abstract": ABSTRACT2})
    b = write(tmp_path / "b.csv",
              "arxiv_id,title,abstract,authors,categories\n"
              f'arXiv:2301.01234v3,Same paper (v3),"{ABSTRACT2}",A. Writer,cs.IR\n')
    c = write(tmp_path / "c.txt", f"SAME PAPER\n\n{ABSTRACT2 * 2}\n\nOTHER!\n\n{ABSTRACT * 2}\n")
    result = load(a, b, c)
    assert result.duplicates == 3
    same, other = result.papers
    assert same.paper_id == "2301.01234" and same.title == "Same Paper" and same.abstract == ABSTRACT
    assert same.authors == ["A. Writer"] and same.categories == ["cs.IR"]
    # an id-less record (HF dump) joins the paper with the same title; the first record's id stays
    assert same.sources == ["a.jsonl", "b.csv", "c.txt"]
    assert other.paper_id == "2301.09999" and other.sources == ["a.jsonl", "c.txt"]
    # two id-less records with the same title are the same paper
    d = write(tmp_path / "d.txt", f"Same Paper.\n\n{ABSTRACT2 * 3}\n")
    merged = load(c, d)
    assert merged.duplicates == 1 and merged.papers[0].sources == ["c.txt", "d.txt"]


def test_same_paper_rule() -> None:
    def paper(pid: str, title: str) -> Paper:
        return Paper(paper_id=pid, title=title, abstract=ABSTRACT)

    assert same_paper(paper("1", "A"), paper("1", "B"))
    assert not same_paper(paper("1", "Summary"), paper("2", "Summary"))
    assert same_paper(paper(title_hash_id("Summary"), "Summary"), paper("2", "summary!"))


def test_directories_recurse_known_extensions_only(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    jsonl(root / "a.jsonl", {"title": "In Root", "abstract": ABSTRACT})
    write(root / "sub" / "b.csv", f"title,abstract\nIn Sub,{ABSTRACT2}\n")
    write(root / "sub" / "notes.md", "ignored")
    jsonl(root / ".hidden" / "c.jsonl", {"title": "Hidden", "abstract": ABSTRACT})
    result = load(root, root / "a.jsonl")  # the same file twice is read once
    assert [p.title for p in result.papers] == ["In Root", "In Sub"] and result.duplicates == 0
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    with pytest.raises(SourceError, match="directory holds no"):
        load(empty)


def test_single_path_string_is_accepted(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "one.jsonl", {"title": "Single", "abstract": ABSTRACT})
    assert only(load_papers(str(path), cfg=CFG)).title == "Single"


# --------------------------------------------------------------------------------------------
# The real shared data sets


def _need(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path} not present")


def test_ml_abstracts_sample(tmp_path: Path) -> None:
    _need(ML_ABSTRACTS)
    with ML_ABSTRACTS.open(encoding="utf-8") as handle:
        sample = [next(handle) for _ in range(300)]
    path = write(tmp_path / "ml_sample.jsonl", "".join(sample))
    assert detect_format(path) == "arxiv-jsonl"
    result = load(path)
    assert len(result.papers) == 300 and not result.warnings
    first = result.papers[0]
    assert first.paper_id == "0705.1876" and first.title == "Scheduling Dags under Uncertainty"
    assert first.year == 2007 and first.url == "https://arxiv.org/abs/0705.1876"


def test_ml_abstracts_full_file_loads_fast() -> None:
    _need(ML_ABSTRACTS)
    start = time.perf_counter()
    result = load_papers([ML_ABSTRACTS])  # default config: min_abstract_chars=20
    elapsed = time.perf_counter() - start
    assert elapsed < 20, elapsed  # about 1 s alone; generous for a shared machine
    # 11,546 lines: three "abstracts" are LaTeX file names ("final/0abstract.tex") under 20 characters
    assert len(result.papers) == 11_543 and result.duplicates == 0 and not result.errors
    assert sorted(w.line for w in result.warnings) == [831, 6678, 7376]
    assert all("under ingest.min_abstract_chars" in w.message for w in result.warnings)
    # 45 records share a title with another one but have their own arXiv id: none is merged
    assert len({p.paper_id for p in result.papers}) == 11_543
    everything = load_papers([ML_ABSTRACTS], cfg=IngestConfig(max_abstract_chars=100_000, min_abstract_chars=0))
    assert len(everything.papers) == 11_546 and not everything.warnings


def test_scifact_corpus_sample_and_ids(tmp_path: Path) -> None:
    _need(SCIFACT)
    with SCIFACT.open(encoding="utf-8") as handle:
        sample = [next(handle) for _ in range(200)]
    path = write(tmp_path / "corpus.jsonl", "".join(sample))
    result = load(path)
    expected = [json.loads(line)["_id"] for line in sample]
    assert [p.paper_id for p in result.papers] == expected
    assert result.papers[0].paper_id == "4983" and result.papers[0].title.startswith("Microstructural development")
    full = load_papers([SCIFACT])
    assert len(full.papers) == 5183 and full.duplicates == 0  # docs titled "Summary" stay separate
