"""Prompts for grounded answers, evidence judging and follow-up rewriting, fitted to the model's window.

The prompt texts are data: ``paperqa/data/prompts.yaml`` holds every one of them with a version
string (recorded in ``answer.stats.prompt_version``). This module fills them in.

Passages are numbered ``[1]``, ``[2]``... in rank order with their titles, each fenced between
``<passage key="N" fence="F">`` and ``</passage fence="F">``. The fence ``F`` is a hash of the
passages themselves, so an abstract cannot guess the fence of the prompt it lands in; on top of
that, anything in a passage (or its title) that looks like a fence tag is removed, and bracketed
numbers such as ``[3]`` are stripped, so text copied from an abstract can neither open a fake
passage nor smuggle in a citation mark the checker would accept.

Fitting: tokens are counted with tiktoken ``cl100k_base`` as bundled by llama-index (loaded
offline). It is not the served model's tokenizer, so counts get a slack factor and each chat
message a template overhead. The prompt may use ``context_window - max_tokens`` tokens (the rest
is the answer's room); passages that do not fit are dropped whole, lowest-ranked first, and the
count of dropped passages is reported, never a passage cut in half.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import yaml

from paperqa.chunking import (
    count_tokens,  # cl100k_base, the one tokenizer paperqa counts with
)
from paperqa.config import ConfigError
from paperqa.models import Hit

Message = dict[str, str]
AnswerFormat = Literal["text", "json"]

# cl100k_base is a stand-in for the served model's tokenizer (Qwen, Llama, ... differ by a few
# percent on English prose); counting 10% high keeps a prompt that "fits" from overflowing.
TOKENIZER_SLACK = 1.10
# Chat templates wrap each message in role markers (about 4-8 tokens in ChatML / Llama 3).
TOKENS_PER_MESSAGE = 8
# ...and open the assistant's turn after the last message.
TOKENS_REPLY_PRIMER = 4

# The judge replies with one short JSON object; more room than this is a model rambling.
EVIDENCE_MAX_TOKENS = 96


@dataclass(frozen=True)
class Prompt:
    """One prompt of ``prompts.yaml``: its name, version, and the system and user templates."""

    name: str
    version: str
    system: str
    user: str

    @property
    def label(self) -> str:
        """What ``answer.stats.prompt_version`` records, e.g. ``answer_text@answer-text-2``."""
        return f"{self.name}@{self.version}"


PROMPT_NAMES = ("answer_text", "answer_json", "evidence", "rewrite")


@cache
def load_prompts() -> dict[str, Prompt]:
    """The prompts shipped in ``paperqa/data/prompts.yaml`` (read once), checked for completeness."""
    source = resources.files("paperqa") / "data" / "prompts.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    prompts: dict[str, Prompt] = {}
    for name in PROMPT_NAMES:
        entry = data.get(name) if isinstance(data, dict) else None
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry[k].strip()
                                                  for k in ("version", "system", "user")):
            raise ConfigError(f"{source}: prompt '{name}' needs non-empty 'version', 'system' and 'user' strings "
                              "(the paperqa installation is incomplete or the file was edited wrongly)")
        prompts[name] = Prompt(name, entry["version"], entry["system"], entry["user"])
    return prompts


def prompt(name: str) -> Prompt:
    return load_prompts()[name]


def answer_prompt(fmt: AnswerFormat) -> Prompt:
    """The answer prompt of a format: ``answer_text`` (prose with [n] marks) or ``answer_json``."""
    return prompt("answer_json" if fmt == "json" else "answer_text")


# Kept for readers of the old constants (tests, offline evaluation scripts).
ANSWER_SYSTEM = prompt("answer_text").system
EVIDENCE_SYSTEM = prompt("evidence").system.format()
REWRITE_SYSTEM = prompt("rewrite").system.format()

# -- passage sanitising -----------------------------------------------------------------------
# Anything shaped like a fence tag, opening or closing, with or without its ">" (case-insensitive).
_FENCE_LOOKALIKE = re.compile(r"<\s*/?\s*passage\b[^<>\n]*>?", re.IGNORECASE)
# Bracketed numbers as the checker reads citations ([3], [1, 2], [1-3], [1][2]), also in full-width
# or lenticular brackets, which a model might copy as ASCII ones.
_BRACKETED_NUMBERS = re.compile(
    r"[ \t]*[\[\uff3b\u3010]\s*\d+(?:\s*[-\u2013,;]\s*\d+)*\s*[\]\uff3d\u3011]")


def strip_bracketed_numbers(text: str) -> str:
    """``text`` without bracketed numbers (``[3]``, ``[1, 2]``, ``[1-3]``), spacing tidied."""
    text = _BRACKETED_NUMBERS.sub("", text)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def sanitize_passage_text(text: str) -> str:
    """Passage text as the model may see it: no fence look-alikes, no bracketed numbers.

    The passage stays untouched everywhere else (citations quote and highlight the original).
    """
    return strip_bracketed_numbers(_FENCE_LOOKALIKE.sub(" ", text))


def _sanitize_title(title: str) -> str:
    return " ".join(sanitize_passage_text(title).split())


def passage_fence(question: str, hits: list[Hit]) -> str:
    """A fence that depends on the question and every candidate passage: an abstract cannot predict it."""
    digest = hashlib.sha256(question.encode("utf-8", "surrogatepass"))
    for hit in hits:
        digest.update(b"\0" + hit.title.encode("utf-8", "surrogatepass") + b"\0"
                      + hit.text.encode("utf-8", "surrogatepass"))
    # Twelve decimal digits: cl100k_base always counts them as 4 tokens, so fitting is stable.
    return str(int(digest.hexdigest()[:16], 16) % 10**12).zfill(12)


def count_message_tokens(messages: list[Message]) -> int:
    """Estimated prompt tokens of a chat request, slack and template overhead included."""
    raw = sum(count_tokens(m["content"]) + TOKENS_PER_MESSAGE for m in messages) + TOKENS_REPLY_PRIMER
    return math.ceil(raw * TOKENIZER_SLACK)


def passage_block(key: int, hit: Hit, figure: str | None = None, fence: str = "0") -> str:
    """One numbered passage as the model sees it: fenced, with its title, sanitised text (and a figure)."""
    lines = [f'<passage key="{key}" fence="{fence}">', f"[{key}] Title: {_sanitize_title(hit.title)}",
             sanitize_passage_text(hit.text)]
    if figure:
        lines.append(f"(Figure relevant to the question: {sanitize_passage_text(figure)})")
    lines.append(f'</passage fence="{fence}">')
    return "\n".join(lines)


def answer_messages(question: str, blocks: list[str], refusal_text: str,
                    fmt: AnswerFormat = "text") -> list[Message]:
    """The grounded-answer chat: rules in the system message, passages and question in the user's."""
    template = answer_prompt(fmt)
    passages = "\n\n".join(blocks) if blocks else "(no passages)"
    return [
        {"role": "system", "content": template.system.format(refusal=refusal_text)},
        {"role": "user", "content": template.user.format(passages=passages, question=question.strip())},
    ]


@dataclass
class FittedPrompt:
    """The answer prompt that fits, which hits it numbers (key i+1 is ``hits[i]``), and what was left out."""

    messages: list[Message]
    hits: list[Hit]
    dropped: int
    prompt_tokens: int
    budget: int
    prompt_version: str = ""
    fence: str = ""


def prompt_budget(context_window: int, max_tokens: int) -> int:
    """Tokens the prompt may use: the window minus the answer's room. Too small a window is a config error."""
    budget = context_window - max_tokens
    if budget <= 0:
        raise ConfigError(
            f"llm.max_tokens={max_tokens} leaves no room for a prompt in a context window of {context_window} "
            "tokens; lower llm.max_tokens or serve the model with a larger --max-model-len")
    return budget


def fit_answer_prompt(
    question: str,
    hits: list[Hit],
    refusal_text: str,
    context_window: int,
    max_tokens: int,
    figures: dict[str, str] | None = None,
    fmt: AnswerFormat = "text",
) -> FittedPrompt:
    """Number the hits in rank order and keep the longest top-ranked prefix whose prompt fits the budget."""
    budget = prompt_budget(context_window, max_tokens)
    figures = figures or {}
    ordered = sorted(hits, key=lambda h: h.rank)
    fence = passage_fence(question, ordered)
    kept: list[Hit] = []
    blocks: list[str] = []
    for hit in ordered:
        block = passage_block(len(kept) + 1, hit, figures.get(hit.chunk.chunk_id), fence)
        if count_message_tokens(answer_messages(question, [*blocks, block], refusal_text, fmt)) > budget:
            break
        kept.append(hit)
        blocks.append(block)
    messages = answer_messages(question, blocks, refusal_text, fmt)
    return FittedPrompt(messages, kept, len(ordered) - len(kept), count_message_tokens(messages), budget,
                        answer_prompt(fmt).label, fence)


def evidence_messages(question: str, hit: Hit) -> list[Message]:
    """Ask the model whether one passage helps answer the question (and for the figure, if numeric)."""
    template = prompt("evidence")
    fence = passage_fence(question, [hit])
    block = "\n".join([f'<passage fence="{fence}">', f"Title: {_sanitize_title(hit.title)}",
                       sanitize_passage_text(hit.text), f'</passage fence="{fence}">'])
    return [{"role": "system", "content": template.system.format()},
            {"role": "user", "content": template.user.format(question=question.strip(), passage=block)}]


def rewrite_messages(question: str, history: list[dict], budget: int) -> list[Message]:
    """The follow-up rewrite prompt with as much recent history as fits ``budget`` (oldest turns dropped first)."""
    turns = [_turn_line(m) for m in history if m.get("content")]
    kept: list[str] = []
    for line in reversed(turns):
        trial = _rewrite_chat(question, [line, *kept])
        if count_message_tokens(trial) > budget:
            break
        kept.insert(0, line)
    return _rewrite_chat(question, kept)


def _turn_line(message: dict) -> str:
    role = "User" if message.get("role") == "user" else "Assistant"
    return f"{role}: {str(message.get('content', '')).strip()}"


def _rewrite_chat(question: str, lines: list[str]) -> list[Message]:
    template = prompt("rewrite")
    conversation = "\n".join(lines) if lines else "(empty)"
    user = template.user.format(conversation=conversation, question=question.strip())
    return [{"role": "system", "content": template.system.format()}, {"role": "user", "content": user}]
