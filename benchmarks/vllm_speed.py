"""Prompt and decode speed of a running vLLM server, as paperqa's client sees it (streamed, one request at a time).

prompt tok/s = prompt tokens / time to first token; decode tok/s = (completion tokens - 1) / (time after
the first token). Each run sends a different prompt (vLLM's prefix cache would otherwise skip the prefill).
Printed, never asserted; the machine's load is printed too, since other processes slow both.

    python benchmarks/vllm_speed.py --base-url http://127.0.0.1:8000/v1 --prompt-words 500 --max-tokens 128
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from typing import Annotated

import openai
import typer
from rich.console import Console
from rich.table import Table

console = Console(width=150)


def main(
    base_url: Annotated[str, typer.Option(help="The server's /v1 URL.")] = "http://127.0.0.1:8000/v1",
    prompt_words: Annotated[int, typer.Option(help="Random words in the prompt (about 4 tokens each).")] = 500,
    max_tokens: Annotated[int, typer.Option(help="Tokens to generate (ignore_eos keeps it going).")] = 128,
    runs: Annotated[int, typer.Option(help="Requests, one after another.")] = 3,
) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="EMPTY", max_retries=0, timeout=600)
    model = client.models.list().data[0].id
    rows = []
    for _ in range(runs):
        filler = " ".join(f"w{uuid.uuid4().hex[:6]}" for _ in range(prompt_words))
        started = time.monotonic()
        first = None
        usage = None
        stream = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": f"{filler}\nSummarise the text above."}],
            max_tokens=max_tokens, temperature=0.0, stream=True, stream_options={"include_usage": True},
            extra_body={"ignore_eos": True})
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content and first is None:
                first = time.monotonic() - started
            if chunk.usage is not None:
                usage = chunk.usage
        total = time.monotonic() - started
        assert usage is not None and first is not None
        rows.append((usage.prompt_tokens, usage.completion_tokens, first, total,
                     usage.prompt_tokens / first, (usage.completion_tokens - 1) / max(total - first, 1e-9)))
    table = Table(title=f"{model} at {base_url}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for column in ("prompt tokens", "completion tokens", "first token s", "total s", "prompt tok/s", "decode tok/s"):
        table.add_column(column, justify="right")
    for p, c, f, t, ps, ds in rows:
        table.add_row(str(p), str(c), f"{f:.2f}", f"{t:.2f}", f"{ps:.0f}", f"{ds:.1f}")
    table.add_row("median", "", f"{statistics.median(r[2] for r in rows):.2f}",
                  f"{statistics.median(r[3] for r in rows):.2f}", f"{statistics.median(r[4] for r in rows):.0f}",
                  f"{statistics.median(r[5] for r in rows):.1f}")
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
