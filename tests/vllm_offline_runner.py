"""Run :class:`paperqa.offline.OfflineGenerator` (an in-process ``vllm.LLM``) inside vLLM's own venv.

paperqa's venv has no vLLM, and vLLM's venv has no llama-index or tenacity, so this script is run
by the vLLM venv's python (tests/test_vllm_real.py does it) with paperqa's ``src`` first on the path
and paperqa's site-packages last (vLLM's own packages win):

    VENV/bin/python tests/vllm_offline_runner.py SRC PAPERQA_SITE_PACKAGES MODEL_DIR REQUEST.json OUT.json

REQUEST.json holds ``{"questions": [...], "hits": [[Hit, ...], ...]}``; OUT.json gets the answers.
The ``__main__`` guard matters: vLLM starts its engine in spawned processes that re-import this file.
"""

from __future__ import annotations

import json
import os
import sys


def main(src: str, paperqa_site: str, model_dir: str, request_path: str, out_path: str) -> None:
    sys.path.insert(0, src)
    sys.path.append(paperqa_site)
    from paperqa.config import load_config
    from paperqa.models import Hit
    from paperqa.offline import OfflineGenerator

    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    settings = load_config(overrides={"llm.model": model_dir, "llm.context_window": 4096, "llm.max_tokens": 48})
    generator = OfflineGenerator(settings, enforce_eager=True)
    hits = [[Hit.model_validate(h) for h in group] for group in request["hits"]]
    answers = generator.answer_batch(request["questions"], hits)
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump([a.model_dump(mode="json") for a in answers], handle)


if __name__ == "__main__":
    main(*sys.argv[1:6])
    # With vLLM 0.32 on CPU the interpreter's exit then waited on the engine processes for minutes
    # (the answers were already written). Leave at once; the caller ends the engine's process group.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
