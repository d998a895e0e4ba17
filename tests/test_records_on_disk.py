"""Issue 10: an ingest holds no corpus-sized list of records. Parsed papers go to a scratch file as
they are read, passages are rebuilt from a compact plan a slice at a time, and a version's papers
and passages are read from its JSON-lines files on demand. Checked for behaviour: same records as
before, bad lines named by file and line, a failed file contributes nothing, and an ingest of the
bundled corpus leaves no more Paper or Chunk objects alive than one slice needs."""

from __future__ import annotations

import gc
import json

import pytest

from paperqa.api import PaperQA
from paperqa.chunking import ChunkPlan, chunk_papers
from paperqa.config import load_config
from paperqa.errors import IndexCorruptError
from paperqa.index_store import IndexStore
from paperqa.models import Chunk, Paper
from paperqa.records import JsonlRecords, PaperRecords, PaperSpill, line_spans
from paperqa.sources import bundled_corpus_paths, load_papers


def _paper(i: int, **extra) -> Paper:
    return Paper(paper_id=f"2301.{i:05d}", title=f"Paper {i}", abstract=f"Abstract number {i}. It has two sentences.",
                 **extra)


def test_records_are_read_by_line_on_demand_and_bad_lines_name_the_file_and_line(tmp_path):
    path = tmp_path / "papers.jsonl"
    lines = [_paper(i).model_dump_json() for i in range(5)]
    path.write_text("\n".join(lines[:2]) + "\n\n   \n" + "\n".join(lines[2:]), "utf-8")  # blank lines, no final newline
    starts, ends = line_spans(path)
    raw = path.read_bytes()
    assert [json.loads(raw[a:b]) for a, b in zip(starts, ends, strict=True)] == [json.loads(x) for x in lines]
    papers = PaperRecords(path)
    assert list(papers) == [f"2301.{i:05d}" for i in range(5)] and len(papers) == 5
    assert papers["2301.00003"] == _paper(3) and "2301.00009" not in papers
    assert [p.paper_id for p in papers.values()] == list(papers)  # streamed, in file order
    records = papers.records
    assert records[-1] == _paper(4) and records[1:3] == [_paper(1), _paper(2)]
    assert json.loads(records.raw(0)) == json.loads(lines[0])
    with pytest.raises(IndexError):
        records[5]
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert len(JsonlRecords(empty, Chunk)) == 0 and list(JsonlRecords(empty, Chunk)) == []
    broken = tmp_path / "chunks.jsonl"
    broken.write_text(Chunk(chunk_id="a#0", paper_id="a", title="t", text="x", position=0, start_char=0,
                            end_char=1).model_dump_json() + '\n{"chunk_id": "a#1"}\n', "utf-8")
    chunks = JsonlRecords(broken, Chunk)
    with pytest.raises(IndexCorruptError, match=r"chunks\.jsonl line 2 is not a valid Chunk"):
        list(chunks)


def test_chunk_plan_rebuilds_exactly_the_passages_of_chunk_papers():
    papers = load_papers(bundled_corpus_paths()).papers
    cfg = load_config().chunking
    plan = ChunkPlan(papers, cfg)
    expected = chunk_papers(papers, cfg)
    assert len(plan) == len(expected) > len(papers)
    assert list(plan) == expected
    assert plan[-1] == expected[-1] and plan[3:9] == expected[3:9]


def test_a_paper_spill_merges_duplicates_and_a_failed_file_contributes_nothing(tmp_path):
    good = tmp_path / "a.jsonl"
    good.write_text("\n".join(json.dumps({"id": f"2301.{i:05d}", "title": f"Paper {i}",
                                          "abstract": f"Abstract number {i} about retrieval."}) for i in range(3)),
                    "utf-8")
    dup = tmp_path / "b.jsonl"  # a duplicate of paper 1 that adds authors, then a line that is not UTF-8
    dup.write_bytes(json.dumps({"id": "2301.00001", "title": "Paper 1", "abstract": "Abstract number 1 about "
                                "retrieval.", "authors": ["A. Author"]}).encode() + b"\n"
                    + json.dumps({"id": "2301.00007", "title": "Paper 7", "abstract": "Seven."}).encode()
                    + b"\n\xe9\xe9\n")
    in_memory = load_papers([good, dup], strict=False)
    spill = PaperSpill(tmp_path / "spill.jsonl")
    on_disk = load_papers([good, dup], strict=False, into=spill)
    spill.finish()
    assert on_disk.errors and on_disk.errors == in_memory.errors  # the bad file is reported ...
    assert list(spill) == list(in_memory.papers) and len(spill) == 3  # ... and added nothing, merges undone
    assert spill[1].authors == [] and spill[1].sources == ["a.jsonl"]
    both = PaperSpill(tmp_path / "both.jsonl")
    load_papers([good, good.with_name("a.jsonl")], into=both)
    assert len(both.finish()) == 3


def test_an_ingest_holds_no_corpus_sized_list_of_records(tmp_path, embedder, monkeypatch):
    """Counted, not timed: the Paper and Chunk objects alive after each slice is embedded, with the
    readers' caches (bounded, 4,096 records) shrunk to 8 so that a 123-paper corpus can show it."""
    import paperqa.records as records

    monkeypatch.setattr(records, "_CACHE", 8)
    paths = bundled_corpus_paths()
    alive: list[tuple[int, int]] = []
    real = embedder.embed_passages

    def counting(*args, **kwargs):
        result = real(*args, **kwargs)
        gc.collect()
        objects = gc.get_objects()
        alive.append((sum(type(o) is Paper for o in objects), sum(type(o) is Chunk for o in objects)))
        return result

    qa = PaperQA(tmp_path / "idx", overrides={"embedding.ingest_slice": 16}, embedder=embedder)
    embedder.embed_passages = counting  # type: ignore[method-assign]
    try:
        report = qa.ingest(paths)
    finally:
        del embedder.embed_passages
    store = IndexStore.open(tmp_path / "idx")
    assert report.added == len(store.papers) > 100 and len(store.chunks) > 150 and len(alive) > 5
    # at most a slice of passages and its papers, plus the caches; the corpus is 123 papers, ~190 passages
    assert max(chunks for _, chunks in alive) <= 16 + 8
    assert max(papers for papers, _ in alive) <= 16 + 8
    assert qa.search("ADE20K mIoU", k=3)  # searching afterwards loads the records as before
