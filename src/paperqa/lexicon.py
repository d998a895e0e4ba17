"""Names of benchmark datasets and evaluation metrics, found in text and resolved from user input.

The names are data (``paperqa/data/lexicon.yaml``, extendable with the user's own files through
``results.lexicon``), not code. This module loads and merges them and matches them:

* :meth:`Lexicon.find_datasets` / :meth:`Lexicon.find_metrics` return every mention in a text
  with its character span, longest name first ("COCO-Stuff" is not "COCO").
* :meth:`Lexicon.resolve_dataset` / :meth:`Lexicon.resolve_metric` map a user-typed name ("ade
  20k", "COCO box AP", "top-1 on ImageNet") to its canonical name.

Matching ignores case, spaces, hyphens, underscores and inner dots: every name is cut into
alphanumeric tokens and the tokens are joined, so "ADE-20K", "ADE 20K" and "ade20k" share the
key ``ade20k``. Tokens are whole words, so "ADE" never matches inside "ADE20K". Names that are
also English words are marked ``cased`` and match only as written.

Hand-rolled rather than a fuzzy-matching library: the matching needed is exact on a normalised
key plus token boundaries and spans, which no library we use provides; approximate string
similarity (difflib, stdlib) is used only to resolve typed names with typos.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml

from .errors import PaperQAError

Direction = Literal["higher", "lower"]

# Runs of letters (any script: "αNLI"), runs of digits, and the symbols that carry meaning in
# names ("J&F", "CK+", "FF++", "R@1"). Letters and digits are separate tokens so that "52.7mIoU"
# holds the metric mIoU; a name's key joins its tokens, so "ADE20K" is still one name, and "R@1"
# (recall at 1) keeps its "@" apart from "R-1" (ROUGE-1).
_TOKEN = re.compile(r"[^\W\d_]+|\d+|[+&@]")
# What may stand between two tokens of one name: nothing, one space, a hyphen, an underscore, a
# slash, an apostrophe ("WMT'14"), or a dot between two word characters ("SQuAD1.1", "v1.0").
_GAP = re.compile(r"(?:\s?[-\u2010\u2011\u2013_/]?\s?|['\u2019]|\.)")
_MAX_TOKENS = 16
_SHORT = 4  # names of up to this many letters and digits match only in the case written
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser reads the lexicon 5x faster


class LexiconError(PaperQAError):
    """A lexicon file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    aliases: tuple[str, ...] = ()
    area: str = ""


@dataclass(frozen=True)
class MetricEntry:
    name: str
    aliases: tuple[str, ...] = ()
    direction: Direction = "higher"
    unit: str | None = None


@dataclass(frozen=True)
class Mention:
    """A dataset or metric named in a text: canonical name, the words as written, and where."""

    name: str
    surface: str
    start: int
    end: int


def _inside_compound(text: str, start: int, end: int) -> bool:
    """True when a match is glued by a hyphen to a word before or after it: "V-COCO", "SSv2-Template",
    "an ImageNet-like dataset" do not name COCO, SSv2 or ImageNet (names with a hyphen that the
    lexicon knows, like COCO-Stuff, are matched whole before this is asked)."""
    before = text[max(0, start - 2):start]
    after = text[end:end + 2]
    return (len(before) == 2 and before[1] in "-_" and before[0].isalnum()) or \
        (len(after) == 2 and after[0] in "-_" and after[1].isalnum())


def _glued(text: str, start: int, end: int) -> bool:
    """True when a dataset match is glued to the letters or digits around it: "E2EC" and "EC2" do not
    name EC, "ImageNet100" (a 100-class subset) is not ImageNet; a year glued on stays ("VOT2017")."""
    if start > 0 and text[start - 1].isalnum():
        return True
    digits = re.match(r"\d+(?![\w])", text[end:])
    if end < len(text) and text[end].isdigit() and text[end - 1].isalpha():
        return digits is None or not re.fullmatch(r"(?:19|20)\d\d|\d\d", digits.group())
    return end < len(text) and text[end].isalpha() and text[end - 1].isdigit()  # "Market1501DukeMTMC"


def normalise(name: str) -> str:
    """The matching key of a name: lower-case tokens joined ("ADE-20K" -> "ade20k")."""
    return "".join(m.group().lower() for m in _TOKEN.finditer(name))


@dataclass
class _Matcher:
    """Token n-gram lookup: key -> canonical name, with the longest name tried first."""

    folded: dict[str, str] = field(default_factory=dict)  # lower-case key -> canonical
    cased: dict[str, str] = field(default_factory=dict)  # key as written -> canonical
    cased_folded: dict[str, str] = field(default_factory=dict)  # lower-case key of a cased name -> canonical
    first_tokens: dict[str, int] = field(default_factory=dict)  # lower first token -> max tokens

    def add(self, surface: str, canonical: str, cased: bool) -> None:
        tokens = [m.group() for m in _TOKEN.finditer(surface)]
        if not tokens:
            return
        # Short names ("AP", "mAP", "PER", "IN-A") are matched only as written: in lower case they
        # are English words ("map", "per", "in a").
        if cased or len("".join(tokens)) <= _SHORT:
            self.cased.setdefault("".join(tokens), canonical)
            self.cased_folded.setdefault("".join(tokens).lower(), canonical)
        else:
            self.folded.setdefault("".join(tokens).lower(), canonical)
        # A text token may glue several tokens of the name ("CUB200" for "CUB-200", "InShop" for
        # "In-Shop"): every prefix of the name's tokens, joined, can start a match.
        for k in range(1, len(tokens) + 1):
            first = "".join(tokens[:k]).lower()
            span = min(len(tokens) - k + 1, _MAX_TOKENS)
            self.first_tokens[first] = max(self.first_tokens.get(first, 0), span)

    def find(self, text: str, plural: bool = False, whole: bool = False) -> list[Mention]:
        tokens = list(_TOKEN.finditer(text))
        found: list[Mention] = []
        i = 0
        while i < len(tokens):
            longest = self.first_tokens.get(tokens[i].group().lower())
            match = self._longest_at(text, tokens, i, longest, plural) if longest else None
            if match is None:
                i += 1
                continue
            canonical, j = match
            start, end = tokens[i].start(), tokens[j].end()
            if _inside_compound(text, start, end) or (whole and _glued(text, start, end)):
                i += 1  # "V-COCO", "ImageNet-like", "SSv2-Template", "E2EC": part of another name
                continue
            found.append(Mention(canonical, text[start:end], start, end))
            i = j + 1
        return found

    def _longest_at(self, text: str, tokens: list[re.Match[str]], i: int, longest: int,
                    plural: bool) -> tuple[str, int] | None:
        raw = tokens[i].group()
        keys = [raw]
        last = min(len(tokens), i + longest)
        for j in range(i + 1, last):
            if not _GAP.fullmatch(text[tokens[j - 1].end():tokens[j].start()]):
                break
            raw += tokens[j].group()
            keys.append(raw)
        for j in range(len(keys) - 1, -1, -1):
            key = keys[j]
            hit = self.cased.get(key) or self.folded.get(key.lower())
            if hit is None and plural and len(key) > 3 and key[-1] in "sS":
                hit = self.cased.get(key[:-1]) or self.folded.get(key[:-1].lower())
            if hit is not None:
                return hit, i + j
        return None

    def lookup(self, name: str) -> str | None:
        key = "".join(m.group() for m in _TOKEN.finditer(name))
        # a cased name typed by a user in any case ("race" for RACE) still resolves
        return self.cased.get(key) or self.folded.get(key.lower()) or self.cased_folded.get(key.lower())

    def keys(self) -> list[str]:
        return list(self.folded) + [k.lower() for k in self.cased]

    def canonical_of_key(self, key: str) -> str | None:
        return self.folded.get(key) or self.cased_folded.get(key)


class Lexicon:
    """Datasets and metrics with their aliases; matching and resolution of names."""

    def __init__(self, datasets: Sequence[DatasetEntry], metrics: Sequence[MetricEntry],
                 cased: Iterable[str] = (), sources: Sequence[str] = (), ambiguous: Iterable[str] = ()) -> None:
        self.datasets: dict[str, DatasetEntry] = {d.name: d for d in datasets}
        self.metrics: dict[str, MetricEntry] = {m.name: m for m in metrics}
        self.sources = list(sources)
        cased_names = set(cased)
        self._datasets = _Matcher()
        self._metrics = _Matcher()
        for d in self.datasets.values():
            for surface in (d.name, *d.aliases):
                self._datasets.add(surface, d.name, d.name in cased_names)
        for m in self.metrics.values():
            for surface in (m.name, *m.aliases):
                self._metrics.add(surface, m.name, m.name in cased_names)
        digest = hashlib.sha1()
        for d in sorted(self.datasets.values(), key=lambda e: e.name):
            digest.update(repr((d.name, sorted(d.aliases), d.name in cased_names)).encode())
        for m in sorted(self.metrics.values(), key=lambda e: e.name):
            digest.update(repr((m.name, sorted(m.aliases), m.direction, m.name in cased_names)).encode())
        # surfaces that also name something outside benchmarks ("HIV" the virus, "MR" magnetic
        # resonance, "Adult" the word): the extractor needs evidence before reading them as datasets
        self._ambiguous = frozenset(normalise(a) for a in ambiguous if normalise(a))
        digest.update(repr(sorted(self._ambiguous)).encode())
        self.fingerprint = digest.hexdigest()[:16]
        self._resolved: dict[tuple[int, str], str | None] = {}
        self._cased = frozenset(cased_names)
        self._patterns: dict[str, re.Pattern[str]] = {}

    # ----- loading ---------------------------------------------------------------------------

    @classmethod
    def load(cls, extra: Sequence[str | Path] = ()) -> Lexicon:
        """The packaged lexicon merged with the user's files (later files add to earlier ones)."""
        packaged = resources.files("paperqa") / "data" / "lexicon.yaml"
        builder = _Builder()
        builder.merge(packaged.read_text("utf-8"), "paperqa/data/lexicon.yaml")
        for path in extra:
            path = Path(path).expanduser()
            try:
                text = path.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise LexiconError(f"{path}: cannot read the lexicon file: {exc}") from None
            builder.merge(text, str(path))
        return builder.build()

    # ----- matching --------------------------------------------------------------------------

    def find_datasets(self, text: str) -> list[Mention]:
        """Every dataset named in ``text``, in order, with canonical name and character span."""
        return self._datasets.find(text, whole=True)

    def find_metrics(self, text: str) -> list[Mention]:
        """Every metric named in ``text`` ("mIoU", "top-1 accuracy", "BLEU scores"), in order."""
        return self._metrics.find(text, plural=True)

    def resolve_dataset(self, name: str) -> str | None:
        """The canonical dataset a user means by ``name`` ("ade 20k", "COCO box AP"), or None."""
        return self._resolve(name, self._datasets, plural=False)

    def resolve_metric(self, name: str) -> str | None:
        """The canonical metric a user means by ``name`` ("mean IoU", "top-1 on ImageNet"), or None."""
        return self._resolve(name, self._metrics, plural=True)

    def is_ambiguous(self, surface: str) -> bool:
        """True when the dataset name ``surface`` (as written) is marked ``ambiguous`` in the lexicon."""
        return normalise(surface) in self._ambiguous

    def lookup_dataset(self, name: str) -> str | None:
        """The canonical dataset whose name or alias is exactly ``name`` (normalised), or None."""
        return self._datasets.lookup(name)

    def lookup_metric(self, name: str) -> str | None:
        """The canonical metric whose name or alias is exactly ``name`` (normalised), or None."""
        return self._metrics.lookup(name)

    def _resolve(self, name: str, matcher: _Matcher, plural: bool) -> str | None:
        name = (name or "").strip()
        if not name:
            return None
        key = (id(matcher), name)
        if key not in self._resolved:  # typed names repeat (a UI browsing the table); difflib is the slow part
            if len(self._resolved) > 10_000:
                self._resolved.clear()
            self._resolved[key] = self._resolve_uncached(name, matcher, plural)
        return self._resolved[key]

    def _resolve_uncached(self, name: str, matcher: _Matcher, plural: bool) -> str | None:
        exact = matcher.lookup(name) or (matcher.lookup(name[:-1]) if plural and name[-1:] in "sS" else None)
        if exact:
            return exact
        inside = matcher.find(name, plural=plural)
        if inside:  # "COCO box AP" names COCO and AP: the longest mention is the one meant
            return max(inside, key=lambda m: (m.end - m.start, -m.start)).name
        key = normalise(name)
        if len(key) < 4:
            return None
        close = difflib.get_close_matches(key, matcher.keys(), n=1, cutoff=0.85)
        return matcher.canonical_of_key(close[0]) if close else None

    def metric_pattern(self, metric: str) -> re.Pattern[str] | None:
        """A regex finding ``metric`` by any of its names in a text (C speed, for ranking many
        abstracts); short names only as written, the others in any case; None for an unknown metric."""
        entry = self.metrics.get(metric)
        if entry is None:
            return None
        if metric not in self._patterns:
            parts = []
            for surface in sorted({entry.name, *entry.aliases}, key=len, reverse=True):
                tokens = [m.group() for m in _TOKEN.finditer(surface)]
                if not tokens:
                    continue
                body = r"[\s\-_/.']?".join(re.escape(t) for t in tokens)
                cased = metric in self._cased or len("".join(tokens)) <= _SHORT
                parts.append(body if cased else f"(?i:{body})")
            self._patterns[metric] = re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")s?(?!\w)")
        return self._patterns[metric]

    def dataset_names(self) -> list[str]:
        return sorted(self.datasets)

    def direction(self, metric: str | None) -> Direction:
        """higher | lower is better; unknown metrics are taken as higher-is-better."""
        entry = self.metrics.get(metric or "")
        return entry.direction if entry else "higher"

    def area(self, dataset: str) -> str:
        entry = self.datasets.get(dataset)
        return entry.area if entry else ""


class _Builder:
    """Merges lexicon files: an entry naming a known dataset or metric adds its aliases to it."""

    def __init__(self) -> None:
        self.datasets: dict[str, DatasetEntry] = {}
        self.metrics: dict[str, MetricEntry] = {}
        self.cased: set[str] = set()
        self.ambiguous: list[str] = []
        self.sources: list[str] = []
        self._dataset_keys: dict[str, str] = {}
        self._metric_keys: dict[str, str] = {}

    def merge(self, text: str, origin: str) -> None:
        try:
            data = yaml.load(text, Loader=_YAML_LOADER) or {}
        except yaml.YAMLError as exc:
            raise LexiconError(f"{origin}: not valid YAML: {exc}") from None
        if not isinstance(data, dict) or set(data) - {"datasets", "metrics", "ambiguous"}:
            raise LexiconError(f"{origin}: expected a mapping with 'datasets', 'metrics' and/or 'ambiguous' lists")
        ambiguous = data.get("ambiguous") or []
        if not isinstance(ambiguous, list):
            raise LexiconError(f"{origin}: 'ambiguous' must be a list of dataset names or aliases")
        self.ambiguous.extend(str(a).strip() for a in ambiguous if str(a).strip())
        self.sources.append(origin)
        for n, item in enumerate(data.get("datasets") or [], 1):
            if isinstance(item, dict) and "group" in item:
                self._group(item, origin, n)
            else:
                self._dataset(item, origin, n)
        for n, item in enumerate(data.get("metrics") or [], 1):
            self._metric(item, origin, n)

    def _dataset(self, item: object, origin: str, n: int, area: str | None = None,
                 cased: bool | None = None) -> None:
        name, aliases, extra = _entry(item, origin, f"datasets[{n}]", {"area", "cased", "ambiguous"})
        if extra.get("ambiguous"):  # every name of the entry
            self.ambiguous.extend((name, *aliases))
        area = str(extra.get("area") or area or "")
        known = self._known(self._dataset_keys, name, aliases)
        if known:
            old = self.datasets[known]
            merged = tuple(dict.fromkeys((*old.aliases, *(a for a in (name, *aliases) if a != known))))
            self.datasets[known] = DatasetEntry(known, merged, old.area or area)
            name = known
        else:
            self.datasets[name] = DatasetEntry(name, tuple(dict.fromkeys(aliases)), area)
        if extra.get("cased", cased):
            self.cased.add(name)
        for surface in (name, *aliases):
            self._dataset_keys.setdefault(normalise(surface), name)

    def _group(self, item: dict, origin: str, n: int) -> None:
        """``{group: AREA, datasets: ["Name|alias|alias", "Other"]}``: several datasets of one area."""
        names = item.get("datasets")
        if not isinstance(names, list) or set(item) - {"group", "datasets", "cased"}:
            raise LexiconError(f"{origin}: datasets[{n}]: a group needs 'group' and a 'datasets' list")
        for spec in names:
            parts = [p.strip() for p in str(spec).split("|") if p.strip()]
            if parts:
                self._dataset({"name": parts[0], "aliases": parts[1:]}, origin, n, str(item["group"]),
                              bool(item.get("cased", False)))

    def _metric(self, item: object, origin: str, n: int) -> None:
        name, aliases, extra = _entry(item, origin, f"metrics[{n}]", {"direction", "unit", "cased"})
        direction = extra.get("direction", "higher")
        if direction not in ("higher", "lower"):
            raise LexiconError(f"{origin}: metrics[{n}] ({name}): direction must be 'higher' or 'lower'")
        known = self._known(self._metric_keys, name, aliases)
        if known:
            old = self.metrics[known]
            merged = tuple(dict.fromkeys((*old.aliases, *(a for a in (name, *aliases) if a != known))))
            self.metrics[known] = MetricEntry(known, merged, extra.get("direction", old.direction),
                                              extra.get("unit", old.unit))
            name = known
        else:
            self.metrics[name] = MetricEntry(name, tuple(dict.fromkeys(aliases)), direction, extra.get("unit"))
        if extra.get("cased"):
            self.cased.add(name)
        for surface in (name, *aliases):
            self._metric_keys.setdefault(normalise(surface), name)

    @staticmethod
    def _known(keys: dict[str, str], name: str, aliases: Sequence[str]) -> str | None:
        known = keys.get(normalise(name))
        return known

    def build(self) -> Lexicon:
        return Lexicon(list(self.datasets.values()), list(self.metrics.values()), self.cased, self.sources,
                       self.ambiguous)


def _entry(item: object, origin: str, where: str, allowed: set[str]) -> tuple[str, list[str], dict]:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
        raise LexiconError(f"{origin}: {where}: each entry needs a 'name' (got {item!r})")
    unknown = set(item) - {"name", "aliases"} - allowed
    if unknown:
        raise LexiconError(f"{origin}: {where} ({item['name']}): unknown key(s) {', '.join(sorted(unknown))}")
    aliases = item.get("aliases") or []
    if not isinstance(aliases, list):
        raise LexiconError(f"{origin}: {where} ({item['name']}): 'aliases' must be a list")
    return item["name"].strip(), [str(a).strip() for a in aliases if str(a).strip()], item


@lru_cache(maxsize=8)
def _load_cached(extra: tuple[str, ...]) -> Lexicon:
    return Lexicon.load(extra)


def get_lexicon(extra: Sequence[str | Path] = ()) -> Lexicon:
    """The packaged lexicon plus ``extra`` files, loaded once per distinct list of files."""
    return _load_cached(tuple(str(Path(p).expanduser().resolve()) for p in extra))


def find_datasets(text: str) -> list[Mention]:
    """Datasets named in ``text`` according to the packaged lexicon."""
    return get_lexicon().find_datasets(text)


def find_metrics(text: str) -> list[Mention]:
    """Metrics named in ``text`` according to the packaged lexicon."""
    return get_lexicon().find_metrics(text)


def resolve_dataset(name: str) -> str | None:
    return get_lexicon().resolve_dataset(name)


def resolve_metric(name: str) -> str | None:
    return get_lexicon().resolve_metric(name)
