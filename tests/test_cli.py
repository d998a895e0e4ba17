"""The command line, and every kind of bad input: a clear message, an exit code, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperqa.cli import app

runner = CliRunner()

GOOD = {"id": "2201.03545", "title": "A ConvNet for the 2020s, again",
        "abstract": "We reexamine the design spaces and test the limits of what a pure ConvNet can achieve. "
                    "ConvNeXt reaches 87.8% ImageNet top-1 accuracy."}


def _run(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout + (result.stderr or "")


def _live(index_dir: Path) -> str:
    return (index_dir / "CURRENT").read_text()


@pytest.fixture
def index_dir(bundled_qa) -> Path:
    return bundled_qa.index_dir


def test_search_json(index_dir):
    code, output = _run("search", "Which CNN-transformer hybrids report ADE20K mIoU?", "--index-dir", index_dir,
                        "--json", "-k", "5")
    assert code == 0
    hits = json.loads(output)
    assert len(hits) == 5 and {"rank", "score", "paper_id", "title", "text", "dense_rank", "bm25_rank"} <= set(hits[0])


def test_ask_prints_cited_answer(index_dir):
    code, output = _run("ask", "What top-1 accuracy does MOAT reach on ImageNet-1K?", "--index-dir", index_dir)
    assert code == 0
    assert "89.1%" in output and "[1]" in output and "Sources" in output and "not generated" in output


def test_ask_json_and_info_json(index_dir):
    code, output = _run("ask", "What is the boiling point of water?", "--index-dir", index_dir, "--json")
    assert code == 0 and json.loads(output)["refused"] is True
    code, output = _run("info", "--index-dir", index_dir, "--json")
    assert code == 0 and json.loads(output)["papers"] == 123


def test_ingest_then_reingest(index_dir, tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(GOOD) + "\n")
    code, output = _run("ingest", path, "--index-dir", index_dir)
    assert code == 0 and "1 papers added" in output
    version = _live(index_dir)
    code, output = _run("ingest", path, "--index-dir", index_dir)
    assert code == 0 and "0 papers added" in output
    assert _live(index_dir) == version


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.jsonl", None, "missing.jsonl"),
        ("empty.jsonl", b"", "empty"),
        ("papers.xml", b"<papers/>", "format"),
        ("latin1.jsonl", json.dumps(GOOD).encode() + b"\n" + '{"title": "caf\u00e9"}'.encode("latin-1"), "UTF-8"),
        ("nocolumns.csv", b"name,body\nx,y\n", "abstract"),
    ],
)
def test_unusable_file_stops_before_any_write(index_dir, tmp_path, name, content, expected):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    version = _live(index_dir)
    code, output = _run("ingest", path, "--index-dir", index_dir)
    assert code == 2
    assert name in output and expected.lower() in output.lower()
    assert _live(index_dir) == version


def test_bad_records_are_skipped_with_file_and_line(index_dir, tmp_path):
    huge = dict(GOOD, id="2999.00001", title="A huge abstract", abstract="word " * 220_000)  # ~1 MB
    no_abstract = {"id": "2999.00002", "title": "No abstract here", "abstract": ""}
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(GOOD) + "\n{not json\n" + json.dumps(huge) + "\n" + json.dumps(no_abstract) + "\n")
    code, output = _run("ingest", path, "--index-dir", index_dir)
    assert code == 0
    assert "1 papers added" in output
    for line in (2, 3, 4):
        assert f"mixed.jsonl:{line}" in output


def test_keep_going_ingests_the_good_files_and_exits_1(index_dir, tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(GOOD) + "\n")
    code, output = _run("ingest", good, tmp_path / "absent.csv", "--keep-going", "--index-dir", index_dir)
    assert code == 1
    assert "1 papers added" in output and "absent.csv" in output


@pytest.mark.parametrize("question", ["", "q" * 100_000])
def test_bad_question_exit_code(index_dir, question):
    code, output = _run("ask", question, "--index-dir", index_dir)
    assert code == 2 and "question" in output


def test_bad_config_names_the_key(index_dir, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("retrieval:\n  k: lots\n")
    code, output = _run("search", "anything", "--index-dir", index_dir, "--config", config)
    assert code == 2 and "retrieval.k" in output


def test_mismatched_index_is_refused_with_advice(index_dir, tmp_path):
    config = tmp_path / "other.yaml"
    config.write_text("chunking:\n  chunk_size: 512\n")
    code, output = _run("search", "anything", "--index-dir", index_dir, "--config", config)
    assert code == 2 and "--use-index-settings" in output
    code, _ = _run("search", "anything", "--index-dir", index_dir, "--config", config, "--use-index-settings")
    assert code == 0


def test_missing_index_says_how_to_create_it(tmp_path):
    code, output = _run("search", "anything", "--index-dir", tmp_path / "nothing")
    assert code == 2 and "paperqa ingest" in output
