"""Prompts for grounded answers, evidence judging and follow-up rewriting, fitted to the model's window.

Passages are numbered ``[1]``, ``[2]``... in rank order with their titles; the instructions demand a
citation after every claim, only from those passages, and a fixed refusal sentence otherwise.

Fitting: tokens are counted with tiktoken ``cl100k_base`` as bundled by llama-index (loaded
offline). It is not the served model's tokenizer, so counts get a slack factor and each chat
message a template overhead. The prompt may use ``context_window - max_tokens`` tokens (the rest
is the answer's room); passages that do not fit are dropped whole, lowest-ranked first, and the
count of dropped passages is reported, never a passage cut in half.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from paperqa.chunking import (
    count_tokens,  # cl100k_base, the one tokenizer paperqa counts with
)
from paperqa.config import ConfigError
from paperqa.models import Hit

Message = dict[str, str]

# cl100k_base is a stand-in for the served model's tokenizer (Qwen, Llama, ... differ by a few
# percent on English prose); counting 10% high keeps a prompt that "fits" from overflowing.
TOKENIZER_SLACK = 1.10
# Chat templates wrap each message in role markers (about 4-8 tokens in ChatML / Llama 3).
TOKENS_PER_MESSAGE = 8
# ...and open the assistant's turn after the last message.
TOKENS_REPLY_PRIMER = 4

ANSWER_SYSTEM = """You answer questions about research papers using ONLY the numbered passages the user gives you.
Rules:
1. After every sentence that states something from a passage, cite it with the passage number in square brackets, e.g. [1] or [2][3].
2. Cite only the numbered passages given. Never use outside knowledge and never invent a passage number.
3. If the passages do not contain the answer, reply with exactly this sentence and nothing else: "{refusal}"
4. Be concise: a few sentences, no preamble, no list of sources at the end."""

EVIDENCE_SYSTEM = """You judge whether one passage from a research paper is relevant to a question: does it contain information that helps answer it?
Reply with a single JSON object and nothing else: {"relevant": true or false, "figure": null or "the number with its unit, copied from the passage"}.
Give "figure" only when the question asks for a number and the passage states it."""

# The judge replies with one short JSON object; more room than this is a model rambling.
EVIDENCE_MAX_TOKENS = 96

REWRITE_SYSTEM = """You rewrite a follow-up question from a conversation into a standalone question that can be understood without the conversation.
Resolve pronouns and references ("they", "it", "of them", "that model") using the conversation. Keep the user's intent and wording otherwise.
Reply with the standalone question only, on one line, without quotes or explanation. If the follow-up is already standalone, repeat it unchanged."""


def count_message_tokens(messages: list[Message]) -> int:
    """Estimated prompt tokens of a chat request, slack and template overhead included."""
    raw = sum(count_tokens(m["content"]) + TOKENS_PER_MESSAGE for m in messages) + TOKENS_REPLY_PRIMER
    return math.ceil(raw * TOKENIZER_SLACK)


def passage_block(key: int, hit: Hit, figure: str | None = None) -> str:
    """One numbered passage as the model sees it: number, title, text (and an extracted figure)."""
    block = f"[{key}] Title: {hit.title}\n{hit.text.strip()}"
    if figure:
        block += f"\n(Figure relevant to the question: {figure})"
    return block


def answer_messages(question: str, blocks: list[str], refusal_text: str) -> list[Message]:
    """The grounded-answer chat: rules in the system message, passages and question in the user's."""
    passages = "\n\n".join(blocks) if blocks else "(no passages)"
    user = f"Passages:\n\n{passages}\n\nQuestion: {question.strip()}\n\nAnswer, citing the passages by number:"
    return [
        {"role": "system", "content": ANSWER_SYSTEM.format(refusal=refusal_text)},
        {"role": "user", "content": user},
    ]


@dataclass
class FittedPrompt:
    """The answer prompt that fits, which hits it numbers (key i+1 is ``hits[i]``), and what was left out."""

    messages: list[Message]
    hits: list[Hit]
    dropped: int
    prompt_tokens: int
    budget: int


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
) -> FittedPrompt:
    """Number the hits in rank order and keep the longest top-ranked prefix whose prompt fits the budget."""
    budget = prompt_budget(context_window, max_tokens)
    figures = figures or {}
    ordered = sorted(hits, key=lambda h: h.rank)
    kept: list[Hit] = []
    blocks: list[str] = []
    for hit in ordered:
        block = passage_block(len(kept) + 1, hit, figures.get(hit.chunk.chunk_id))
        if count_message_tokens(answer_messages(question, [*blocks, block], refusal_text)) > budget:
            break
        kept.append(hit)
        blocks.append(block)
    messages = answer_messages(question, blocks, refusal_text)
    return FittedPrompt(messages, kept, len(ordered) - len(kept), count_message_tokens(messages), budget)


def evidence_messages(question: str, hit: Hit) -> list[Message]:
    """Ask the model whether one passage helps answer the question (and for the figure, if numeric)."""
    user = f"Question: {question.strip()}\n\nPassage (from \"{hit.title}\"):\n{hit.text.strip()}\n\nJSON:"
    return [{"role": "system", "content": EVIDENCE_SYSTEM}, {"role": "user", "content": user}]


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
    conversation = "\n".join(lines) if lines else "(empty)"
    user = f"Conversation:\n{conversation}\n\nFollow-up question: {question.strip()}\nStandalone question:"
    return [{"role": "system", "content": REWRITE_SYSTEM}, {"role": "user", "content": user}]
