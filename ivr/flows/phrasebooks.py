"""Phrasebooks: per language, the phrases that name each intent and the words that negate them.

flows/intents/<lang>.yaml is the support team's to tune; load_phrasebooks() reads and checks every
file, reporting problems as "<file>: intent '<name>': <problem>" like the flow checker does.
A Phrasebook also knows how to read text in its language (Phrasebook.read): phrases, negation words
and transcripts all go through the same reading, so the matcher compares like with like.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

import yaml
from pypinyin import lazy_pinyin

from ivr.flows.datafiles import relative, yaml_where

INTENTS_DIR = "intents"
INTENT_NAMES = ("account_takeover", "cannot_login", "two_factor", "kyc", "deposit", "withdrawal",
                "trading", "api_keys", "agent", "other")
REQUIRED_INTENTS = ("account_takeover",)
# words: spaces separate words (en, es). characters: every character is compared and spaces are
# ignored (zh, yue; vosk prints Mandarin word by word). syllables: like characters, but a negation
# word only counts where a word starts (ko, whose vosk model splits particles off: "계정 이").
UNITS = ("words", "characters", "syllables")
NEGATION_KEYS = ("before", "after", "skip", "except")
BREAK = "|"  # a clause break (punctuation): no phrase spans it and no negation reaches over it
GAP = "..."  # in a phrase: a few words may stand here ("someone ... logged in")

# Mandarin recognisers mostly err by homophone (被盗 -> 被到, 提币 -> 提笔), so Mandarin is also
# compared by toneless pinyin.
_PINYIN_LANGUAGES = frozenset({"zh"})
_TOP_KEYS = ("units", "fillers", "negation", "hints", "classes", "intents")
_CLASS = re.compile(r"\{([A-Za-z_]+)\}")  # in a phrase: any word of that class ("my {funds} are {gone}")
MAX_EXPANSIONS = 600  # phrases one written phrase may stand for
_INTENT_KEYS = ("phrases", "weight", "negatable")
_BOOLEAN_HINT = "YAML read a word as true/false: put yes, no, on and off in quotes (\"no\")"
_CLAUSE_END = re.compile(r"[,;:!?，。！？；：、…]|\.(?=\s|$)")


@dataclass(frozen=True)
class Reading:
    """Text as the matcher sees it: units, where words start, how each unit compares, negation marks."""

    units: tuple[str, ...]
    # Per comparison form, per unit: how the unit compares. Form 0 is the spelling (Korean by jamo),
    # compared letter by letter; form 1, Mandarin only, is the pinyin, compared syllable by syllable.
    keys: tuple[tuple[str, ...], ...]
    before_cue_ends: frozenset[int] = frozenset()  # a negation word that works forwards ends here
    after_cue_starts: frozenset[int] = frozenset()  # a negation word that works backwards starts here
    cue_spans: tuple[tuple[int, int], ...] = ()  # every negation word, (start, end)
    skip_ends: Mapping[int, int] = field(default_factory=dict)  # end -> length of the longest skip word
    skip_starts: Mapping[int, int] = field(default_factory=dict)  # start -> length of the longest

    @cached_property
    def whole(self) -> tuple[str | tuple[str, ...], ...]:
        """The comparison key of all the units, per form."""
        return tuple(self.key(form, 0, len(self.units)) for form in range(len(self.keys)))

    def key(self, form: int, start: int, end: int) -> str | tuple[str, ...]:
        """The units start..end as compared: spelling joined without spaces; pinyin as syllables."""
        return "".join(self.keys[0][start:end]) if form == 0 else self.keys[form][start:end]


@dataclass(frozen=True)
class Phrase:
    """One phrase of a phrasebook: the words as written (what vosk listens for) and how its parts read.

    "someone ... logged in" has two parts; a few words may stand between them.
    """

    intent: str
    text: str
    weight: float
    parts: tuple[Reading, ...]
    written: str | None = None  # the phrase with word classes it was expanded from


@dataclass(frozen=True)
class Phrasebook:
    """One language's phrases per intent and its negation words, from flows/intents/<lang>.yaml."""

    language: str
    units: str
    phrases: tuple[Phrase, ...] = ()
    weights: Mapping[str, float] = field(default_factory=dict)  # per intent
    negatable: frozenset[str] = frozenset(INTENT_NAMES)
    fillers: tuple[str, ...] = ()
    negation: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # before/after/skip/except
    hints: tuple[str, ...] = ()

    def read(self, text: str) -> Reading:
        """Normalise text (case, punctuation, fillers) and cut it into comparable units."""
        units, word_starts = self._units(text, drop_fillers=True)
        return self._marked(units, word_starts)

    @cached_property
    def parts_by_key(self) -> dict[tuple[int, str | tuple[str, ...]], list[tuple[int, int, int]]]:
        """(form, comparison key) -> (phrase number, part number, units) of each phrase part compared so."""
        index: dict[tuple[int, str | tuple[str, ...]], list[tuple[int, int, int]]] = {}
        for number, phrase in enumerate(self.phrases):
            for part_number, part in enumerate(phrase.parts):
                for form, key in enumerate(part.whole):
                    index.setdefault((form, key), []).append((number, part_number, len(part.units)))
        return index

    @cached_property
    def parts_by_query(self) -> dict[tuple[str | tuple[str, ...], int, int], list[tuple[int, int]]]:
        """(comparison key, units, form) -> (phrase number, part number) of each phrase part: a part
        many phrases share (a word class spelled out) is looked for once."""
        index: dict[tuple[str | tuple[str, ...], int, int], list[tuple[int, int]]] = {}
        for number, phrase in enumerate(self.phrases):
            for part_number, part in enumerate(phrase.parts):
                for form, key in enumerate(part.whole):
                    index.setdefault((key, len(part.units), form), []).append((number, part_number))
        return index

    @cached_property
    def longest_part(self) -> int:
        """Units in the longest phrase part: no window of a transcript needs to be longer (plus one)."""
        return max((len(part.units) for phrase in self.phrases for part in phrase.parts), default=0)

    def _marked(self, units: tuple[str, ...], word_starts: frozenset[int]) -> Reading:
        seqs = self._negation_units
        excepted = _covered(units, seqs["except"])
        before, after = ([(s, e) for s, e in _occurrences(units, seqs[key])
                          if s in word_starts and s not in excepted] for key in ("before", "after"))
        skips = _occurrences(units, seqs["skip"])
        return Reading(
            units=units,
            keys=self._keys(units),
            before_cue_ends=frozenset(e for _, e in before),
            after_cue_starts=frozenset(s for s, _ in after),
            cue_spans=tuple(sorted(set(before + after))),
            skip_ends=_longest((e, e - s) for s, e in skips),
            skip_starts=_longest((s, e - s) for s, e in skips),
        )

    def _units(self, text: str, drop_fillers: bool) -> tuple[tuple[str, ...], frozenset[int]]:
        tokens = _normalise(text).split()
        if drop_fillers:
            tokens = _without(tokens, self._filler_tokens)
        if self.units == "words":
            tokens = _letters_joined(tokens)
        units: list[str] = []
        starts: set[int] = set()
        for token in tokens:
            if units[-1:] == [BREAK] and token == BREAK:
                continue
            starts.add(len(units))
            units.extend([token] if self.units == "words" or token == BREAK else token)
        if self.units != "syllables":
            starts = set(range(len(units)))
        return tuple(units), frozenset(starts)

    @cached_property
    def _filler_tokens(self) -> list[tuple[str, ...]]:
        """The fillers as token sequences, longest first."""
        return sorted((tuple(_normalise(f).split()) for f in self.fillers), key=len, reverse=True)

    @cached_property
    def _negation_units(self) -> dict[str, list[tuple[str, ...]]]:
        """The negation words as unit sequences, read once per phrasebook."""
        return {key: [seq for seq in (self._units(words, drop_fillers=False)[0]
                                      for words in self.negation.get(key, ())) if seq]
                for key in NEGATION_KEYS}

    def _keys(self, units: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
        if self.units == "syllables":  # Hangul syllables compared by their letters (jamo): 입금 ~ 임금
            return (tuple(unicodedata.normalize("NFD", u) for u in units),)
        if self.language in _PINYIN_LANGUAGES:
            return (units, _pinyin(units))
        return (units,)


def load_phrasebooks(flows_dir: Path) -> tuple[dict[str, Phrasebook], list[str]]:
    """Read flows/intents/<lang>.yaml: phrasebooks by language (only those without problems), problems."""
    flows_dir = Path(flows_dir)
    books: dict[str, Phrasebook] = {}
    problems: list[str] = []
    for path in sorted((flows_dir / INTENTS_DIR).glob("*.yaml")):
        rel = relative(path, flows_dir)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{rel}: not valid YAML: {yaml_where(exc)}")
            continue
        book, found = parse_phrasebook(path.stem, loaded, rel)
        problems.extend(found)
        if book is not None and not found:
            books[path.stem] = book
    return books, problems


def parse_phrasebook(language: str, data: object, rel: str) -> tuple[Phrasebook | None, list[str]]:
    """Check one phrasebook's content and build it; problems name the file (rel) and the intent."""
    if not isinstance(data, dict):
        return None, [f"{rel}: must be a mapping with units, negation and intents"]
    problems = [f"{rel}: unknown key '{key}'; expected one of {', '.join(_TOP_KEYS)}"
                for key in data if key not in _TOP_KEYS]
    units = data.get("units", "words")
    if units not in UNITS:
        problems.append(f"{rel}: units: must be one of {', '.join(UNITS)}")
        units = "words"
    fillers = _word_list(data.get("fillers", []), f"{rel}: fillers", problems)
    hints = _word_list(data.get("hints", []), f"{rel}: hints", problems)
    negation = _negation(data.get("negation", {}), rel, problems)
    classes = _classes(data.get("classes", {}), rel, problems)
    book = Phrasebook(language=language, units=units, fillers=fillers, negation=negation, hints=hints)
    intents = data.get("intents")
    if not isinstance(intents, dict):
        return None, problems + [f"{rel}: intents: must map intent names to their phrases"]
    phrases, weights, negatable = [], {}, set(INTENT_NAMES)
    for name, spec in intents.items():
        where = f"{rel}: intent '{name}'"
        if name not in INTENT_NAMES:
            problems.append(f"{where}: not an intent; use one of {', '.join(INTENT_NAMES)}")
            continue
        if not isinstance(spec, dict):
            problems.append(f"{where}: must be a mapping with phrases (and optionally weight, negatable)")
            continue
        problems.extend(f"{where}: unknown key '{key}'; expected one of {', '.join(_INTENT_KEYS)}"
                        for key in spec if key not in _INTENT_KEYS)
        weights[name] = _weight(spec.get("weight", 1.0), where, problems)
        if not isinstance(spec.get("negatable", True), bool):
            problems.append(f"{where}: negatable must be true or false")
        elif not spec.get("negatable", True):
            negatable.discard(name)
        phrases.extend(_phrases(book, name, _expanded(spec.get("phrases"), classes, where, problems), where,
                                problems))
    problems.extend(f"{rel}: intent '{name}': missing; every phrasebook needs it, or callers in danger "
                    f"are not recognised" for name in REQUIRED_INTENTS if name not in intents)
    phrases = _without_repeats(phrases)
    problems.extend(_duplicates(phrases, rel))
    return replace(book, phrases=tuple(phrases), weights=MappingProxyType(weights),
                   negatable=frozenset(negatable)), problems


def _classes(spec: object, rel: str, problems: list[str]) -> dict[str, tuple[str, ...]]:
    """Word classes: a name and the words (or short phrases) that may stand for it in a phrase."""
    if not isinstance(spec, dict):
        problems.append(f"{rel}: classes: must map class names to lists of words")
        return {}
    return {str(name): _word_list(words, f"{rel}: classes.{name}", problems) for name, words in spec.items()}


def _expanded(items: object, classes: dict[str, tuple[str, ...]], where: str, problems: list[str]) -> object:
    """Each phrase with {class} in it, once per combination of its classes' words (marked as expanded)."""
    if not isinstance(items, list):
        return items
    out: list = []
    for item in items:
        text = item.get("phrase") if isinstance(item, dict) else item
        if not isinstance(text, str) or not _CLASS.search(text):
            out.append(item)
            continue
        unknown = [name for name in _CLASS.findall(text) if name not in classes]
        if unknown:
            problems.append(f"{where}: phrase '{text}': no word class '{unknown[0]}' under classes:")
            continue
        variants = [""]
        for piece in _pieces(text):
            choices = classes[piece[1:-1]] if _CLASS.fullmatch(piece) else (piece,)
            variants = [v + c for v in variants for c in choices]
            if len(variants) > MAX_EXPANSIONS:
                problems.append(f"{where}: phrase '{text}' stands for more than {MAX_EXPANSIONS} phrases; "
                                f"split it or use smaller classes")
                variants = []
                break
        weight = item.get("weight", 1.0) if isinstance(item, dict) else 1.0
        out.extend({"phrase": variant, "weight": weight, "written": text} for variant in variants)
    return out


def _pieces(text: str) -> list[str]:
    """'my {funds} are {gone}' -> ['my ', '{funds}', ' are ', '{gone}']."""
    pieces, last = [], 0
    for match in _CLASS.finditer(text):
        pieces += [text[last:match.start()], match.group(0)]
        last = match.end()
    return [piece for piece in [*pieces, text[last:]] if piece]


def _without_repeats(phrases: list[Phrase]) -> list[Phrase]:
    """A phrase a word class spelled out again (the same words as one before it) is dropped quietly."""
    def key(phrase: Phrase) -> tuple:
        return tuple(part.whole[0] for part in phrase.parts)

    seen = {key(phrase) for phrase in phrases if phrase.written is None}  # written out: reported if twice
    kept = []
    for phrase in phrases:
        if phrase.written is not None:
            if key(phrase) in seen:
                continue
            seen.add(key(phrase))
        kept.append(phrase)
    return kept


def _phrases(book: Phrasebook, intent: str, items: object, where: str, problems: list[str]) -> list[Phrase]:
    if not isinstance(items, list) or not items:
        problems.append(f"{where}: phrases: must be a list of phrases")
        return []
    phrases = (_phrase(book, intent, number, item, where, problems) for number, item in enumerate(items, 1))
    return [phrase for phrase in phrases if phrase is not None]


def _phrase(book: Phrasebook, intent: str, number: int, item: object, where: str,
            problems: list[str]) -> Phrase | None:
    text, weight = (item.get("phrase"), item.get("weight", 1.0)) if isinstance(item, dict) else (item, 1.0)
    if isinstance(text, bool):
        problems.append(f"{where}: phrase {number}: {_BOOLEAN_HINT}")
        return None
    if not _is_text(text):
        problems.append(f"{where}: phrase {number} is empty; write text or {{phrase: ..., weight: ...}}")
        return None
    text = " ".join(str(text).split())
    parts = tuple(book.read(part) for part in text.split(GAP))
    if not all(part.units and BREAK not in part.units for part in parts):
        problems.append(f"{where}: phrase '{text}' has an empty part once fillers and punctuation are "
                        f"removed, or a clause break (, . ?); a gap ({GAP}) must stand between words")
        return None
    written = item.get("written") if isinstance(item, dict) else None
    return Phrase(intent, text, _weight(weight, f"{where}: phrase '{text}'", problems), parts, written)


def _duplicates(phrases: list[Phrase], rel: str) -> list[str]:
    first: dict[tuple, Phrase] = {}  # compared as the matcher compares: without spaces
    problems = []
    for phrase in phrases:
        seen = first.setdefault(tuple(part.whole[0] for part in phrase.parts), phrase)
        if seen is phrase:
            continue
        twice = seen.intent == phrase.intent
        where = "listed twice" if twice else f"also listed under intent '{seen.intent}'"
        same = "" if seen.text == phrase.text else f" (as '{seen.text}'; spaces do not count)"
        problems.append(f"{rel}: intent '{phrase.intent}': phrase '{phrase.text}' is {where}{same}")
    return problems


def _negation(spec: object, rel: str, problems: list[str]) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(spec, dict):
        problems.append(f"{rel}: negation: must be a mapping with {', '.join(NEGATION_KEYS)}")
        return {}
    problems.extend(f"{rel}: negation: unknown key '{key}'; expected one of {', '.join(NEGATION_KEYS)}"
                    for key in spec if key not in NEGATION_KEYS)
    return MappingProxyType({key: _word_list(spec.get(key, []), f"{rel}: negation.{key}", problems)
                             for key in NEGATION_KEYS})


def _word_list(items: object, where: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(items, list) or not all(_is_text(i) for i in items):
        problems.append(f"{where}: must be a list of words or phrases")
        return ()
    if any(isinstance(i, bool) for i in items):
        problems.append(f"{where}: {_BOOLEAN_HINT}")
        return ()
    return tuple(" ".join(str(i).split()) for i in items)


def _is_text(value: object) -> bool:
    return isinstance(value, (str, int, float)) and bool(str(value).strip())


def _weight(value: object, where: str, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 2:
        problems.append(f"{where}: weight must be a number above 0 and at most 2")
        return 1.0
    return float(value)


def _normalise(text: str) -> str:
    """Lowercase, accents and apostrophes dropped (can't -> cant), clause punctuation kept as BREAK."""
    text = unicodedata.normalize("NFKC", str(text)).casefold().replace(BREAK, " ")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    text = unicodedata.normalize("NFC", text).replace("'", "").replace("\u2019", "")
    text = _CLAUSE_END.sub(f" {BREAK} ", text)
    return "".join(c if c.isalnum() or c == BREAK else " " for c in text)


def _without(tokens: list[str], fillers: list[tuple[str, ...]]) -> list[str]:
    """The tokens with every filler (a sequence of tokens, longest first) taken out."""
    kept, i = [], 0
    while i < len(tokens):
        hit = next((f for f in fillers if f and tuple(tokens[i:i + len(f)]) == f), None)
        if hit:
            i += len(hit)
        else:
            kept.append(tokens[i])
            i += 1
    return kept


def _letters_joined(tokens: list[str]) -> list[str]:
    """Letters spelled out one by one are one word: vosk hears "a p i", "k y c", "u s d t"."""
    joined: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        joined.extend(["".join(run)] if len(run) > 1 else run)
        run = []
        if token:
            joined.append(token)
    return joined


def _occurrences(units: tuple[str, ...], seqs: list[tuple[str, ...]]) -> list[tuple[int, int]]:
    return [(s, s + len(seq)) for seq in seqs for s in range(len(units) - len(seq) + 1)
            if units[s:s + len(seq)] == seq]


def _covered(units: tuple[str, ...], seqs: list[tuple[str, ...]]) -> frozenset[int]:
    return frozenset(i for s, e in _occurrences(units, seqs) for i in range(s, e))


def _longest(pairs) -> Mapping[int, int]:
    out: dict[int, int] = {}
    for position, length in pairs:
        out[position] = max(length, out.get(position, 0))
    return out


def _is_han(unit: str) -> bool:
    return len(unit) == 1 and "CJK UNIFIED" in unicodedata.name(unit, "")


def _pinyin(units: tuple[str, ...]) -> tuple[str, ...]:
    """Toneless pinyin per character; runs of Han characters are read together so polyphones read right."""
    out = list(units)
    i = 0
    while i < len(units):
        j = i
        while j < len(units) and _is_han(units[j]):
            j += 1
        if j > i:
            sounds = lazy_pinyin("".join(units[i:j]))
            if len(sounds) == j - i:
                out[i:j] = sounds
        i = max(j, i + 1)
    return tuple(out)


