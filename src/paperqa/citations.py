"""Checking a generated answer against the passages it was given.

* Citation marks ``[1]``, ``[1, 3]``, ``[1][2]``, ``[1-3]`` are parsed; a key that names no passage
  is removed from the text and reported, never shown as a source.
* Cited passages are renumbered densely in order of first appearance and the text is rewritten to
  match, so ``[1]`` in the answer is ``citations[0]``.
* For each cited passage, the passage sentence most like the answer sentence(s) citing it is
  located (lexical overlap) and returned with its offsets, so a UI can highlight it.
* Each cited sentence is checked against the passages it cites (:func:`support`): every number it
  states must appear in one of them, and enough of its words must (``answer.min_citation_support``).
  A sentence that fails is dropped and listed in ``unsupported_sentences``; its citations stand
  only if another, supported sentence cites the same passage.
* Sentences with no citation are listed (and dropped when ``answer.keep_uncited`` is false).
* The fixed refusal sentence is recognised (case, spacing and end punctuation aside).

:class:`StreamRewriter` applies the same key mapping to a stream as it arrives, so what a user sees
while tokens stream matches the final text's numbering and never shows an invented key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from paperqa.models import Citation, Hit

# A bracket holding numbers separated by commas/semicolons, with ranges "1-3" (also en dash).
_GROUP = re.compile(r"[ \t]*\[\s*(\d+(?:\s*[-\u2013]\s*\d+)?(?:\s*[,;]\s*\d+(?:\s*[-\u2013]\s*\d+)?)*)\s*\]")
_ITEM = re.compile(r"(\d+)(?:\s*[-\u2013]\s*(\d+))?")
# A range wider than this is not a citation anyone means; its keys are all reported invalid.
_MAX_RANGE = 50
# Answer sentences end at . ! ? (plus any citation marks after them) before a space and a non-lowercase
# character (so "e.g. this" does not split), or at a line break.
_ANSWER_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?:[ \t]*\[[^\]\n]*\])*(?=\s+[^a-z\s]|\s*$)|\n+")
# "e.g." / "et al." / "Fig." before a full stop do not end a sentence.
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|et al|cf|vs|Fig|Eq|Sec|approx|resp)\.)$", re.IGNORECASE)
# Passage sentences end at . ! ? followed by space and something that starts a sentence.
_PASSAGE_SENTENCE = re.compile(r"\S.*?(?:[.!?]+[\"')\]]*(?=\s+[A-Z0-9(\[\"'])|$)", re.DOTALL)
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_STOPWORDS = frozenset(
    "a an the and or but of in on at to for from by with without as is are was were be been being it its "
    "this that these those which who whom what when where how why than then there their they them we our "
    "us you your he she his her i not no do does did can could may might will would shall should has have "
    "had into over under about between also such using used use based via both each other more most".split()
)


@dataclass(frozen=True)
class CitationGroup:
    """One bracket in the text: where it is and the keys it names (ranges expanded)."""

    start: int
    end: int
    keys: tuple[int, ...]


def parse_citation_groups(text: str) -> list[CitationGroup]:
    """Every citation bracket in ``text``; ``[1][2]`` is two groups, ``[1-3]`` names 1, 2 and 3."""
    groups = []
    for match in _GROUP.finditer(text):
        keys: list[int] = []
        for item in _ITEM.finditer(match.group(1)):
            first, last = int(item.group(1)), int(item.group(2) or item.group(1))
            if last < first or last - first > _MAX_RANGE:
                keys.extend([first, last])  # a nonsense range: keep its ends so they are judged
            else:
                keys.extend(range(first, last + 1))
        groups.append(CitationGroup(match.start(), match.end(), tuple(keys)))
    return groups


def cited_keys(text: str) -> list[int]:
    """All keys cited in ``text``, in order of first appearance, without repeats."""
    seen: dict[int, None] = {}
    for group in parse_citation_groups(text):
        for key in group.keys:
            seen.setdefault(key, None)
    return list(seen)


class KeyMap:
    """Original key -> dense key in order of first appearance; keys outside 1..n are recorded as invalid."""

    def __init__(self, n_passages: int) -> None:
        self.n_passages = n_passages
        self.mapping: dict[int, int] = {}
        self.invalid: list[str] = []

    def rewrite_group(self, keys: tuple[int, ...]) -> str:
        """The bracket text for these original keys (empty when none is valid)."""
        new: list[int] = []
        for key in keys:
            if not 1 <= key <= self.n_passages:
                if f"[{key}]" not in self.invalid:
                    self.invalid.append(f"[{key}]")
                continue
            dense = self.mapping.setdefault(key, len(self.mapping) + 1)
            if dense not in new:
                new.append(dense)
        return f" [{', '.join(str(k) for k in new)}]" if new else ""

    def rewrite(self, text: str) -> str:
        """``text`` with every bracket renumbered, invalid keys removed, ``[1][2]`` merged into ``[1, 2]``."""
        out, pos = [], 0
        for start, end, keys in _runs(text):
            out.append(text[pos:start])
            out.append(self.rewrite_group(keys))
            pos = end
        out.append(text[pos:])
        return "".join(out)


def _runs(text: str) -> list[tuple[int, int, tuple[int, ...]]]:
    """Adjacent brackets (only spaces between them) joined: (start, end, keys of all of them)."""
    runs: list[tuple[int, int, tuple[int, ...]]] = []
    for group in parse_citation_groups(text):
        if runs and not text[runs[-1][1] : group.start].strip():
            start, _, keys = runs[-1]
            runs[-1] = (start, group.end, keys + group.keys)
        else:
            runs.append((group.start, group.end, group.keys))
    return runs


def _tidy(text: str) -> str:
    """Spacing left behind by removed brackets: no space before punctuation, single spaces."""
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return text.strip()


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def is_refusal(text: str, refusal_text: str) -> bool:
    """True when the answer contains the fixed refusal sentence (ignoring case, spacing, punctuation)."""
    target = normalise(refusal_text)
    return bool(target) and target in normalise(text)


def split_answer_sentences(text: str) -> list[str]:
    """Answer sentences, each keeping the citation marks that follow its end punctuation."""
    sentences, pos = [], 0
    for match in _ANSWER_SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text, 0, match.start() + 1):
            continue
        piece = text[pos : match.end()].strip()
        if piece:
            sentences.append(piece)
        pos = match.end()
    tail = text[pos:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def passage_sentences(passage: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of a passage; a decimal point or "e.g." does not split."""
    return [(m.start(), m.end()) for m in _PASSAGE_SENTENCE.finditer(passage) if m.group().strip()]


def _terms(text: str) -> set[str]:
    words = _WORD.findall(_GROUP.sub(" ", text).lower())
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in _STOPWORDS}


# A number as written in prose: 87.8, 1,024, 0.5, .5 (a digit run inside a name such as "B7" counts too:
# "EfficientNet-B7" citing a passage about B5 is not supported).
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?|\.\d+")
# "1." / "2)" / "- " at the start of a line: list markers, not claims.
_LIST_MARKER = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*\u2022])\s+")


def numbers(text: str) -> set[str]:
    """The numbers ``text`` states, normalised (``1,024`` -> ``1024``, ``87.80`` -> ``87.8``); citation marks aside."""
    text = _LIST_MARKER.sub("", _GROUP.sub(" ", text))
    return {format(Decimal(m.group().replace(",", "")).normalize(), "f") for m in _NUMBER.finditer(text)}


@dataclass(frozen=True)
class Support:
    """How well the passages a sentence cites back it."""

    overlap: float  # share of the sentence's content words found in the cited passages (1.0: all)
    missing_numbers: tuple[str, ...]  # numbers the sentence states that no cited passage contains

    def ok(self, min_overlap: float) -> bool:
        return not self.missing_numbers and self.overlap >= min_overlap


def support(sentence: str, passages: list[str]) -> Support:
    """Containment of ``sentence``'s content words and numbers in the union of the cited ``passages``."""
    claim = _terms(_LIST_MARKER.sub("", sentence))
    cited_terms: set[str] = set().union(*(_terms(p) for p in passages)) if passages else set()
    cited_numbers: set[str] = set().union(*(numbers(p) for p in passages)) if passages else set()
    overlap = len(claim & cited_terms) / len(claim) if claim else 1.0
    return Support(overlap, tuple(sorted(numbers(sentence) - cited_numbers)))


def locate_quote(passage: str, claims: list[str]) -> tuple[int, int]:
    """Offsets of the passage sentence sharing the most words with any claim (Dice overlap; first wins ties)."""
    spans = passage_sentences(passage) or [(0, len(passage))]
    claim_terms = [_terms(c) for c in claims]
    best, best_score = spans[0], -1.0
    for start, end in spans:
        terms = _terms(passage[start:end])
        score = max((2 * len(terms & c) / (len(terms) + len(c)) for c in claim_terms if terms or c), default=0.0)
        if score > best_score:
            best, best_score = (start, end), score
    return best


@dataclass
class CheckedAnswer:
    """The answer after checking: rewritten text, citations (dense keys), what was wrong with it."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    invalid_citations: list[str] = field(default_factory=list)
    uncited_sentences: list[str] = field(default_factory=list)
    refused: bool = False
    unsupported_sentences: list[str] = field(default_factory=list)


def make_citation(key: int, hit: Hit, claims: list[str]) -> Citation:
    """A :class:`Citation` for ``hit`` with the passage sentence that best supports ``claims``."""
    start, end = locate_quote(hit.text, claims)
    return Citation(
        key=key, paper_id=hit.paper_id, title=hit.title, passage=hit.text, chunk_id=hit.chunk.chunk_id,
        quote=hit.text[start:end], quote_start=start, quote_end=end, score=hit.score,
        url=hit.paper.url, authors=list(hit.paper.authors), year=hit.paper.year,
    )


def check_answer(
    text: str, passages: list[Hit], refusal_text: str, keep_uncited: bool = True, min_support: float = 0.0,
) -> CheckedAnswer:
    """Validate, renumber, verify and locate the citations of ``text``; ``passages[i]`` is the prompt's ``[i+1]``.

    A cited sentence whose numbers are not all in its cited passages, or whose content words are
    less than ``min_support`` contained in them, is dropped and listed as unsupported. When
    nothing cited and supported is left, the answer keeps no citation and is not a refusal either:
    ``PaperQA`` then shows the extractive answer with a notice saying why
    (``generation.uncited_reason``), so a claim the model could not support never reaches a user.
    """
    keymap = KeyMap(len(passages))
    rewritten = [_tidy(keymap.rewrite(s)) for s in split_answer_sentences(text)]
    if is_refusal(text, refusal_text) and not keymap.mapping:
        return CheckedAnswer(refusal_text, invalid_citations=keymap.invalid, refused=True)
    by_dense = {dense: passages[original - 1] for original, dense in keymap.mapping.items()}
    claims: dict[int, list[str]] = {}
    kept, uncited, unsupported = [], [], []
    for sentence in rewritten:
        keys = cited_keys(sentence)
        if not keys and re.search(r"\w", sentence):
            uncited.append(sentence)
            if not keep_uncited:
                continue
        if keys and not support(sentence, [by_dense[k].text for k in keys]).ok(min_support):
            unsupported.append(_tidy(_GROUP.sub("", sentence)))  # its marks would name no source
            continue
        for key in keys:
            claims.setdefault(key, []).append(sentence)
        kept.append(sentence)
    if (unsupported or (uncited and not keep_uncited)) and not any(cited_keys(s) for s in kept):
        return CheckedAnswer(_join(kept, text) if kept else "", invalid_citations=keymap.invalid,
                             uncited_sentences=uncited, refused=False, unsupported_sentences=unsupported)
    # Passages only unsupported sentences cited are not sources; the rest are renumbered densely again.
    renumber = {old: new for new, old in enumerate(sorted(claims), start=1)}
    if any(old != new for old, new in renumber.items()):
        kept = [_renumber(sentence, renumber) for sentence in kept]
    citations = [make_citation(new, by_dense[old], claims[old]) for old, new in renumber.items()]
    return CheckedAnswer(_join(kept, text), citations, keymap.invalid, uncited, False, unsupported)


def _renumber(sentence: str, mapping: dict[int, int]) -> str:
    out, pos = [], 0
    for start, end, keys in _runs(sentence):
        out.append(sentence[pos:start])
        out.append(f" [{', '.join(str(mapping[k]) for k in keys)}]")
        pos = end
    out.append(sentence[pos:])
    return "".join(out)


def _join(sentences: list[str], original: str) -> str:
    """Sentences back into text: one per line when the model wrote lines, else spaced."""
    return ("\n" if "\n" in original.strip() else " ").join(sentences)


class StreamRewriter:
    """Renumbers citation marks in a stream as it arrives, holding back only an unfinished ``[...``.

    The mapping is the one :func:`check_answer` computes for the whole text (first appearance of
    valid keys), so streamed marks equal the final ones; invented keys never reach the screen.
    """

    # An open bracket longer than this is text, not a citation mark.
    _MAX_PENDING = 40

    def __init__(self, n_passages: int) -> None:
        self.keymap = KeyMap(n_passages)
        self._pending = ""

    def feed(self, delta: str) -> str:
        """The displayable part of the stream so far that was not yet returned."""
        self._pending += delta
        cut = self._safe_prefix_end(self._pending)
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        return self.keymap.rewrite(ready)

    def flush(self) -> str:
        """Whatever is still held back, at the end of the stream."""
        ready, self._pending = self._pending, ""
        return self.keymap.rewrite(ready)

    def _safe_prefix_end(self, text: str) -> int:
        """Where the text can be cut without splitting a citation mark, a run of marks, or the space before one."""
        cut = len(text)
        opening = text.rfind("[")
        if (opening != -1 and len(text) - opening <= self._MAX_PENDING
                and re.fullmatch(r"\[[\d\s,;\-\u2013]*", text[opening:])):
            cut = opening
        while cut > 0 and text[cut - 1].isspace():
            cut -= 1
        # A finished bracket just before the cut may be followed by another one ([1][2] is merged).
        runs = _runs(text[:cut])
        if runs and runs[-1][1] == cut:
            cut = runs[-1][0]
        return cut
