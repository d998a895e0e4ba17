"""Issue 11 item 3: an exposed UI is not writable by anyone who can reach it.

- a non-loopback host without a login is refused unless forced (``--insecure-no-auth``), loudly;
- ``ui.allow_upload`` (default: only on loopback or with a login); when off, the upload box is gone
  and so is the ``/ingest`` endpoint of the public API (checked with gradio_client).

The tests never listen beyond 127.0.0.1: the refused host is a TEST-NET address (192.0.2.1) this
machine does not have, so without the refusal the launch fails to bind instead of exposing anything.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from gradio_client import Client
from typer.testing import CliRunner
from ui_server import free_port

from paperqa.api import PaperQA
from paperqa.cli import app
from paperqa.config import load_config
from paperqa.errors import PaperQAError

PAPERS = [
    {"id": "2201.03545", "title": "A ConvNet for the 2020s", "abstract": "We reexamine the design spaces and test "
     "the limits of what a pure ConvNet can achieve. ConvNeXt reaches 87.8% ImageNet top-1 accuracy."},
]
EXPOSED = "192.0.2.1"


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder) -> Path:
    root = tmp_path_factory.mktemp("ui-index")
    (root / "p.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PAPERS))
    PaperQA(root / "index", embedder=embedder).ingest([root / "p.jsonl"])
    return root / "index"


def _qa(index: Path, embedder, tmp_path: Path, **overrides) -> PaperQA:
    folder = tmp_path / "index"
    shutil.copytree(index, folder)
    return PaperQA(folder, embedder=embedder, overrides=overrides or None)


def _endpoints(url: str) -> set[str]:
    return set(Client(url, verbose=False).view_api(print_info=False, return_format="dict")["named_endpoints"])


def test_exposed_host_without_login_is_refused(index, embedder, tmp_path):
    from paperqa import ui

    with pytest.raises(PaperQAError) as info:
        ui.launch(_qa(index, embedder, tmp_path), host=EXPOSED, port=free_port(), prevent_thread_lock=True,
                  quiet=True)
    message = str(info.value)
    assert EXPOSED in message and "--insecure-no-auth" in message and "PAPERQA_UI__AUTH" in message


def test_cli_refuses_in_one_line(index):
    result = CliRunner().invoke(app, ["ui", "--index-dir", str(index), "--host", EXPOSED, "--port",
                                      str(free_port())])
    output = result.stdout + (result.stderr or "")
    assert result.exit_code == 2 and "--insecure-no-auth" in output and "Traceback" not in output


def test_upload_policy():
    from paperqa.ui.server import exposure

    cfg = load_config().ui
    assert cfg.allow_upload is None
    assert exposure("127.0.0.1", None, cfg, insecure_no_auth=False).allow_upload is True
    assert exposure("localhost", None, cfg, insecure_no_auth=False).allow_upload is True
    assert exposure("::1", None, cfg, insecure_no_auth=False).allow_upload is True
    assert exposure("0.0.0.0", "u:p", cfg, insecure_no_auth=False).allow_upload is True
    forced = exposure("0.0.0.0", None, cfg, insecure_no_auth=True)
    assert forced.allow_upload is False and "WARNING" in forced.warning and "0.0.0.0" in forced.warning
    with pytest.raises(PaperQAError):
        exposure("0.0.0.0", None, cfg, insecure_no_auth=False)
    off = cfg.model_copy(update={"allow_upload": False})
    assert exposure("127.0.0.1", "u:p", off, insecure_no_auth=False).allow_upload is False


def test_uploads_off_removes_the_ingest_endpoint_and_the_box(index, embedder, tmp_path):
    from paperqa import ui

    demo = ui.launch(_qa(index, embedder, tmp_path, **{"ui.allow_upload": False}), host="127.0.0.1",
                     port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        endpoints = _endpoints(demo.local_url)
        assert "/ask" in endpoints and "/search" in endpoints
        assert not any("ingest" in name for name in endpoints)
        elem_ids = {c.get("props", {}).get("elem_id") for c in demo.config["components"]}
        assert "upload-files" not in elem_ids and "ingest-btn" not in elem_ids and "uploads-off" in elem_ids
    finally:
        demo.close()


def test_loopback_keeps_uploads_by_default(index, embedder, tmp_path):
    from paperqa import ui

    demo = ui.launch(_qa(index, embedder, tmp_path), host="127.0.0.1", port=free_port(),
                     prevent_thread_lock=True, quiet=True)
    try:
        assert "/ingest" in _endpoints(demo.local_url)
    finally:
        demo.close()
