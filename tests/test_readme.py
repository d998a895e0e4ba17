"""Every ```python snippet of README.md runs as written, so the README cannot drift from the code.

The snippets run in order, in one fresh interpreter and one shared namespace (like a reader
pasting them into one session), in a temporary working folder that holds what they name:
``papers.jsonl`` (three papers), ``configs/`` (the shipped overlays), ``~`` (a temporary HOME).
The vLLM snippets talk to the stand-in server (tests/fake_vllm.py) instead of a real model; a
snippet that needs the in-process vLLM engine is skipped where vllm is not installed, and says so.
The bundled corpus's index comes from the session fixture (``index.dir`` through the environment)
so no snippet re-embeds it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from fake_vllm import FakeVLLM

ROOT = Path(__file__).resolve().parents[1]
SNIPPET = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)

RUNNER = r"""
import importlib.util, json, sys, traceback
snippets = json.load(open(sys.argv[1]))
namespace = {"__name__": "__readme__"}
ran, skipped = [], []
for line, code in snippets:
    if "paperqa.offline" in code and importlib.util.find_spec("vllm") is None:
        skipped.append(line)
        continue
    try:
        exec(compile(code, f"README.md:{line}", "exec"), namespace)
    except Exception:
        traceback.print_exc()
        print(f"README snippet at line {line} failed", file=sys.stderr)
        sys.exit(1)
    ran.append(line)
print("\n@@result " + json.dumps({"ran": ran, "skipped": skipped}))
"""

PAPERS = [
    {"id": "2010.11929", "title": "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
     "abstract": "We show that a pure transformer applied to sequences of image patches performs very well on image "
                 "classification. The vision transformer (ViT) reaches 88.55% top-1 accuracy on ImageNet.",
     "authors": "Alexey Dosovitskiy, Lucas Beyer", "update_date": "2021-06-03"},
    {"id": "2201.03545", "title": "A ConvNet for the 2020s",
     "abstract": "We modernize a standard ResNet toward the design of a vision transformer. ConvNeXt, a pure convnet, "
                 "reaches 87.8% ImageNet top-1 accuracy and 53.5 mIoU on ADE20K segmentation.",
     "authors": "Zhuang Liu, Hanzi Mao", "update_date": "2022-03-02"},
    {"id": "2103.14030", "title": "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows",
     "abstract": "Swin Transformer computes self-attention within shifted local windows. It achieves 53.5 mIoU "
                 "on ADE20K val and 58.7 box AP on COCO.", "authors": "Ze Liu, Yutong Lin", "update_date": "2021-08-17"},
]


def readme_snippets() -> list[tuple[int, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in SNIPPET.finditer(text)]


def test_readme_has_python_snippets_that_use_the_public_api() -> None:
    snippets = readme_snippets()
    assert len(snippets) >= 3
    assert snippets[0][1].startswith("from paperqa import PaperQA")


def test_every_readme_snippet_runs(tmp_path: Path, bundled_index_dir: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "papers.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PAPERS), encoding="utf-8")
    shutil.copytree(ROOT / "configs", work / "configs")
    bundled = tmp_path / "bundled-copy"
    shutil.copytree(bundled_index_dir, bundled)
    (tmp_path / "snippets.json").write_text(json.dumps(readme_snippets()), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERQA_")}
    with FakeVLLM(models=("Qwen/Qwen2.5-7B-Instruct",)) as server:
        env |= {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1",
                "PAPERQA_INDEX__DIR": str(bundled), "PAPERQA_LLM__BASE_URL": server.base_url,
                "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        done = subprocess.run([sys.executable, "-c", RUNNER, str(tmp_path / "snippets.json")], cwd=work, env=env,
                              capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.rsplit("@@result ", 1)[1])
    assert len(result["ran"]) + len(result["skipped"]) == len(readme_snippets())
    assert (tmp_path / "home" / "my-index" / "CURRENT").exists()  # "~/my-index" means the home folder
