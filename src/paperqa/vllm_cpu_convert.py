"""Convert a GGUF checkpoint into a bf16 safetensors folder that vLLM serves (run in the vLLM venv).

vLLM 0.32 no longer loads GGUF files. transformers reads them (``gguf_file=``, with the ``gguf``
package) and dequantizes them, but ``save_pretrained`` refuses a GGUF-loaded model, so the state
dict is copied into a fresh model built from the same config, and that one is saved together with
the tokenizer (and its chat template).

This file imports only torch and transformers, so it runs under the vLLM venv's python, which
paperqa's own venv does not share:  ``VENV/bin/python vllm_cpu_convert.py GGUF_FILE OUT_DIR``.
The output is written to ``OUT_DIR.partial`` and renamed into place, so an interrupted
conversion never leaves a folder that looks complete.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


def convert(gguf_path: Path, out_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.bfloat16)
    config = loaded.config
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    missing, unexpected = fresh.load_state_dict(loaded.state_dict(), strict=False)
    # Tied embeddings (SmolLM2) may list lm_head.weight as missing; it is the embedding matrix.
    missing = [key for key in missing if not (key == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise SystemExit(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    fresh.tie_weights()
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    fresh.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    # The saved config still says "quant_method: gguf", which would make vLLM look for a GGUF file;
    # the weights written are plain bf16.
    config_path = partial / "config.json"
    saved = json.loads(config_path.read_text(encoding="utf-8"))
    saved.pop("quantization_config", None)
    config_path.write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    partial.rename(out_dir)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python vllm_cpu_convert.py GGUF_FILE OUT_DIR")
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
