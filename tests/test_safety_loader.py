"""Issue 11 item 6: malformed files give paperqa's own error naming file and line, never a traceback.

The fuzzer's property: every input either loads (bad records skipped with ``file:line`` warnings) or
fails with ``SourceError`` naming the file; and ingesting it leaves the previous index unchanged
unless papers were added. Its budget is bounded (``max_examples``, no per-example deadline: the
machine is shared, so timings vary), which keeps it near a minute.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from paperqa.api import PaperQA
from paperqa.cli import app
from paperqa.config import load_config
from paperqa.errors import PaperQAError
from paperqa.sources import SourceError, load_papers

GOOD = {"id": "2201.03545", "title": "A ConvNet for the 2020s", "abstract": "We reexamine the design spaces and "
        "test the limits of what a pure ConvNet can achieve. ConvNeXt reaches 87.8% ImageNet top-1 accuracy."}
OTHER = {"id": "2010.11929", "title": "An Image is Worth 16x16 Words", "abstract": "A pure transformer applied "
         "directly to sequences of image patches performs very well on image classification tasks."}
DEEP = "[" * 100_000 + "]" * 100_000
OWN_ERRORS = (PaperQAError, SourceError)


def _cli(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout + (result.stderr or "") + (
        "".join(__import__("traceback").format_exception(result.exception)) if result.exception
        and not isinstance(result.exception, SystemExit) else "")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory, embedder) -> Path:
    root = tmp_path_factory.mktemp("loader-index")
    (root / "good.jsonl").write_text(json.dumps(GOOD) + "\n")
    PaperQA(root / "index", embedder=embedder).ingest([root / "good.jsonl"])
    return root / "index"


@pytest.fixture
def index(tiny_index, tmp_path) -> Path:
    shutil.copytree(tiny_index, tmp_path / "index")
    return tmp_path / "index"


# ----- the reproductions of the issue ------------------------------------------------------------


def test_deeply_nested_json_line_is_a_skipped_record(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + DEEP + "\n")
    result = load_papers([path])
    assert [p.paper_id for p in result.papers] == ["2201.03545"]
    assert any(w.line == 2 and "nested" in w.message for w in result.warnings)


def test_deeply_nested_first_line_names_file(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text(DEEP + "\n")
    with pytest.raises(SourceError, match="f.jsonl"):
        load_papers([path])


def test_lone_surrogate_is_a_skipped_record(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps(GOOD) + '\n{"title":"Lone \\ud800 x","abstract":"' + "word " * 10 + '"}\n')
    result = load_papers([path])
    assert [p.paper_id for p in result.papers] == ["2201.03545"]
    assert any(w.line == 2 and "surrogate" in w.message for w in result.warnings)


def test_one_bad_record_does_not_reject_the_file(tmp_path):
    """Records whose fields have surprising types are skipped one by one, the rest of the file loads."""
    weird = [dict(GOOD, id=str(n), title=f"Weird record {n}", **extra) for n, extra in enumerate([
        {"authors": [{"name": "x"}, None, 3]}, {"year": 1e400}, {"categories": {"a": 1}}, {"url": ["x"]},
        {"authors_parsed": [[None, {"a": 1}]]}, {"doi": 5}, {"published": float("nan")}])]
    path = tmp_path / "f.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [*weird, OTHER]))
    result = load_papers([path])
    assert "2010.11929" in {p.paper_id for p in result.papers}


def test_title_length_is_limited(tmp_path):
    cfg = load_config().ingest
    assert cfg.max_title_chars == 1000
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps(dict(GOOD, title="T" * 5_000_000)) + "\n" + json.dumps(OTHER) + "\n")
    result = load_papers([path], cfg=cfg)
    assert [p.paper_id for p in result.papers] == ["2010.11929"]
    assert any(w.line == 1 and "max_title_chars" in w.message for w in result.warnings)


def test_surrogate_question_is_refused(index, embedder):
    with pytest.raises(PaperQAError, match="surrogate"):
        PaperQA(index, embedder=embedder).search("Lone \ud800 question")


def test_cli_one_line_for_deep_json_and_surrogates(index, tmp_path):
    path = tmp_path / "good.jsonl"  # the index's own source file name: its one good record is known
    path.write_text(json.dumps(GOOD) + "\n" + DEEP + "\n" + '{"title":"Lone \\ud800 x","abstract":"'
                    + "word " * 10 + '"}\n')
    before = _snapshot(index)
    code, output = _cli("ingest", path, "--index-dir", index)
    assert code == 0 and "Traceback" not in output
    assert "good.jsonl:2" in output and "good.jsonl:3" in output and "0 papers added" in output
    assert _snapshot(index) == before
    path.write_text(DEEP + "\n" + '{"title":"Lone \\ud800 x","abstract":"' + "word " * 10 + '"}\n')
    code, output = _cli("ingest", path, "--index-dir", index)
    assert code == 2 and "Traceback" not in output and "good.jsonl" in output
    assert _snapshot(index) == before


# ----- on-disk failures --------------------------------------------------------------------------


def test_index_dir_that_is_a_file(tmp_path):
    path = tmp_path / "not-a-folder"
    path.write_text("x")
    for args in (("search", "anything"), ("ingest", tmp_path / "none.jsonl")):
        code, output = _cli(*args, "--index-dir", path)
        assert code == 2 and "Traceback" not in output
        assert "is a file, not an index folder" in output and "paperqa ingest PATH" not in output


def test_read_only_index_dir(index, tmp_path, monkeypatch):
    """Simulated (the tests may run as root, whom chmod does not stop): every write is refused with EACCES."""
    import builtins

    from paperqa import index_store

    real_open = builtins.open

    def read_only(file, mode="r", *args, **kwargs):
        if str(file).startswith(str(index)) and any(c in mode for c in "wax+"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(index_store, "open", read_only, raising=False)
    (tmp_path / "more.jsonl").write_text(json.dumps(OTHER) + "\n")
    before = _snapshot(index)
    code, output = _cli("ingest", tmp_path / "more.jsonl", "--index-dir", index)
    assert code != 0 and "Traceback" not in output
    assert "Permission denied" in output and str(index) in " ".join(output.split())
    assert _snapshot(index) == before


def test_full_disk_during_jsonl_write(index, tmp_path, monkeypatch):
    """Simulated ENOSPC halfway through writing chunks.jsonl: one line, the old version stays live."""
    from paperqa import index_store

    real = index_store._write_jsonl

    def full_disk(path, records):
        if path.name == "chunks.jsonl":
            raise OSError(28, "No space left on device", str(path))
        return real(path, records)

    monkeypatch.setattr(index_store, "_write_jsonl", full_disk)
    (tmp_path / "more.jsonl").write_text(json.dumps(OTHER) + "\n")
    before = _snapshot(index)
    code, output = _cli("ingest", tmp_path / "more.jsonl", "--index-dir", index)
    assert code != 0 and "Traceback" not in output and "No space left on device" in output
    assert _snapshot(index) == before
    assert not [p for p in (index / "versions").iterdir() if p.name.startswith(".tmp")]


def test_false_dimension_in_manifest(index):
    version = index / "versions" / (index / "CURRENT").read_text().strip()
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["dimension"] = 768
    (version / "manifest.json").write_text(json.dumps(manifest))
    code, output = _cli("search", "anything", "--index-dir", index)
    assert code == 2 and "Traceback" not in output and "dimension" in output and "768" in output


# ----- the fuzzer --------------------------------------------------------------------------------

_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_KEYS = st.sampled_from(["title", "abstract", "id", "_id", "text", "authors", "authors_parsed", "year",
                         "url", "doi", "categories", "published", "summary", "arxiv_id", "metadata"])
_RECORD = st.dictionaries(_KEYS, _VALUES, max_size=6).map(lambda r: {**GOOD, **r})
_SURROGATE = st.just('{"title":"Lone \\ud800 x","abstract":"' + "word " * 10 + '"}')
_LINE = st.one_of(
    _RECORD.map(lambda r: json.dumps(r, allow_nan=True)),
    st.just(json.dumps(OTHER)),
    _SURROGATE,
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 3000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.text(max_size=60),
    st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
)
_FILE = st.tuples(st.sampled_from(["f.jsonl", "f.csv", "f.txt", "f.json", "f.tsv", "f.dat"]),
                  st.lists(_LINE, max_size=6), st.booleans())


def _write_fuzz(folder: Path, name: str, lines: list[str], raw_bytes: bool) -> Path:
    path = folder / name
    text = "\n".join(lines) + "\n"
    path.write_bytes(text.encode("latin-1", "replace") if raw_bytes else text.encode("utf-8", "surrogatepass"))
    return path


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(spec=_FILE)
def test_fuzz_loader_never_raises_a_raw_exception(spec, tmp_path_factory):
    path = _write_fuzz(tmp_path_factory.mktemp("fuzz"), *spec)
    try:
        result = load_papers([path])
    except SourceError as exc:
        assert path.name in str(exc)
        return
    for warning in result.warnings:
        assert warning.path == str(path) and warning.line is not None
    for paper in result.papers:
        paper.model_dump_json().encode("utf-8")  # every loaded paper can be written to the index


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(spec=_FILE)
def test_fuzz_ingest_keeps_the_previous_index(spec, tiny_index, embedder, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz-ingest")
    index = root / "index"
    shutil.copytree(tiny_index, index)
    path = _write_fuzz(root, *spec)
    before = _snapshot(index)
    try:
        report = PaperQA(index, embedder=embedder).ingest([path])
    except OWN_ERRORS as exc:
        assert path.name in str(exc)
        assert _snapshot(index) == before
        return
    after = PaperQA(index, embedder=embedder)  # opens and checks the new version's files agree
    assert GOOD["id"] in after.papers and after.info().papers == 1 + report.added
