"""Optional LLM judge: does an answer state the key facts of a question? Off by default.

Its verdicts are an opinion of a model, not a measurement, so reports print them in their own
column labelled with the judge model; the literal key-fact match stays the primary figure.
"""

from __future__ import annotations

import json
import re

from .datasets import QAItem

PROMPT = """You grade answers to questions about research papers.
Question: {question}
Facts a correct answer must state: {facts}
Answer to grade:
\"\"\"{answer}\"\"\"
Does the answer state every listed fact correctly (numbers must match)? If no facts are listed,
judge whether the answer plausibly addresses the question. Reply with JSON only:
{{"correct": true or false, "reason": "<one short sentence>"}}"""


class LLMJudge:
    """Grades through an OpenAI-compatible chat endpoint (vLLM or any other server)."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, max_tokens: int = 256,
                 timeout: float = 60.0) -> None:
        from openai import OpenAI

        self.model = model
        self.max_tokens = max_tokens
        self.client = OpenAI(base_url=base_url, api_key=api_key or "EMPTY", timeout=timeout)

    @property
    def label(self) -> str:
        return f"LLM judge ({self.model})"

    def judge(self, item: QAItem, answer: str) -> bool | None:
        """True / False, or None when the judge's reply cannot be read (counted as not judged)."""
        prompt = PROMPT.format(question=item.question, facts=json.dumps(item.key_facts), answer=answer)
        reply = self.client.chat.completions.create(
            model=self.model,
            messages=[{"role": "user", "content": prompt}],
            max_tokens=self.max_tokens,
            temperature=0.0,
        )
        return parse_verdict(reply.choices[0].message.content or "")


def parse_verdict(text: str) -> bool | None:
    match = re.search(r"\{.*\}", text, flags=re.DOTALL)
    if match:
        try:
            value = json.loads(match.group()).get("correct")
            if isinstance(value, bool):
                return value
        except (json.JSONDecodeError, AttributeError):
            pass
    lowered = text.strip().lower()
    if lowered.startswith(("yes", "true", "correct")):
        return True
    if lowered.startswith(("no", "false", "incorrect")):
        return False
    return None
