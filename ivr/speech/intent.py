"""What the caller is calling about: a transcript becomes an Intent, by the language's phrasebook.

Every phrase is compared with each stretch of the transcript of about its length, by edit distance
(rapidfuzz) on the text with spaces removed: "with drawl" still reads as "withdrawal", and the way
vosk splits Mandarin and Korean into words does not matter. Korean is compared by its letters (jamo),
Mandarin also by its sound (pinyin syllables), so homophones the recogniser picked still match.
A match the caller negated ("I was not hacked", "没有被盗", "해킹 안 당했어요") does not count. Where
matches overlap, the longest claims the words, so "a withdrawal I didn't make" is a takeover, not a
withdrawal. Each intent's evidence grows with its matches; the confidence is the winner's evidence
less half the runner-up's, so a close call between two intents is reported as unsure.

With a trained n-gram model (`ngram`, flows/intents/model/) as a second opinion, the model decides
when the phrasebook found nothing, was unsure, or the model is far surer of another intent; its
guess alone is never "sure" (MODEL_CONFIDENCE), so the IVR asks the caller to confirm it. A takeover
the phrasebook heard is never dropped for the model's guess, only asked about ("press 9 or say yes")
when the model is far surer of something else: a question is cheap, a missed takeover is not. (These
thresholds were chosen on the development set, round 2 by cross-validation on its tune part; see
bench/RESULTS.md.)
"""
from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Indel, Levenshtein

from ivr.flows.phrasebooks import BREAK, GAP, INTENT_NAMES, Phrase, Phrasebook, Reading, load_phrasebooks
from ivr.speech.ngram import NgramModel

__all__ = ["INTENT_NAMES", "URGENT_INTENTS", "Intent", "Phrasebook", "classify", "grammar",
           "load_phrasebooks", "urgent_partial"]

URGENT_INTENTS = frozenset({"account_takeover"})
# The keypad's issue_menu (flows/steps/support_desk.yaml) calls the urgent intent account_security
# and has no "agent" choice: asking for a person is its 0, "other", which goes to an agent.
_KEYPAD_ISSUE = {"account_takeover": "account_security", "agent": "other"}
EVIDENCE = 0.8  # what one exact phrase says on its own; more phrases of the same intent add to it
PARTIAL_MIN_QUALITY = 0.9  # mid-sentence, only a near-exact urgent phrase may act
_SOUNDS_LIKE = 0.95  # a match by pinyin alone counts a little less than the same characters
_MAX_SKIPS = 4  # how many skip words may stand between a phrase and its negation
_GAP_UNITS = {"words": 4, "characters": 8, "syllables": 8}  # how much may stand in a phrase's "..."
# Letters and jamo may be swapped (hackd, 입금/임금 differ by one); a Chinese character or syllable
# swapped for another is another word, so there only a dropped or added one (了, 的) is tolerated.
_EDITS = {"words": Levenshtein, "characters": Indel, "syllables": Levenshtein}
MODEL_OVERRULES = 40.0  # the model's margin over its runner-up beyond which it overrules a sure phrasebook
MODEL_URGENT_MARGIN = 10.0  # an urgent guess of the model alone needs this margin (false alarms)
# ... per language where another margin was better: scores scale with the number of pieces a language's
# text gives (Korean: syllables and letters), chosen by cross-validation on the tune part of the dev set,
# counting a missed takeover as five false alarms (a false alarm of the model alone is asked about)
MODEL_URGENT_MARGINS = {"ko": 40.0}
PHRASEBOOK_SURE = 0.75  # below this the phrasebook's guess gives way to the model's
MODEL_CONFIDENCE = 0.6  # the model's guess alone: below the sure threshold, so the caller confirms it


@dataclass(frozen=True)
class Intent:
    """What the caller is calling about, how sure we are (0-1), and the phrase that decided it."""

    name: str
    confidence: float
    urgent: bool
    phrase: str | None

    @property
    def issue(self) -> str:
        """The issue value the keypad menu sets for the same thing (account_takeover -> account_security)."""
        return _KEYPAD_ISSUE.get(self.name, self.name)


NOTHING = Intent("other", 0.0, False, None)


@dataclass(frozen=True)
class _Hit:
    """Where a phrase (or one part of it) was found: units start..end, how closely, how much it says."""

    start: int
    end: int
    quality: float  # 0-1: 1 is the exact words
    mass: float  # letters matched less edits: longer, closer matches claim overlapping words first


@dataclass(frozen=True)
class _Match:
    phrase: Phrase
    hit: _Hit
    negated: bool

    @property
    def intent(self) -> str:
        return self.phrase.intent


def classify(text: str, book: Phrasebook, model: NgramModel | None = None) -> Intent:
    """The intent a transcript names, by the phrasebook and (when given) the n-gram model."""
    found = by_phrasebook(text, book)
    if model is None:
        return found
    guess, margin = model.predict(text)
    if guess == found.name:
        return found  # agreeing does not make an unsure phrase sure: a garbled transcript is still asked about
    if found.urgent:  # the model never drops a takeover phrase: a missed takeover costs far more than a question
        if margin > MODEL_OVERRULES:  # ... but where it is far surer of something else, the caller is asked
            return Intent(found.name, min(found.confidence, MODEL_CONFIDENCE), True, found.phrase)
        return found
    if found.phrase is not None and found.confidence >= PHRASEBOOK_SURE and margin <= MODEL_OVERRULES:
        return found  # a phrase the support team wrote, "other" ones ("it was me") included
    urgent_margin = MODEL_URGENT_MARGINS.get(model.language, MODEL_URGENT_MARGIN)
    if guess in URGENT_INTENTS and found.name not in URGENT_INTENTS and margin < urgent_margin:
        if found.name != "other":
            return found  # an urgent guess by the model alone must be clear; else the phrasebook's
        guess = model.runner_up(text)
    if guess == "other":
        return NOTHING
    return Intent(guess, MODEL_CONFIDENCE, guess in URGENT_INTENTS, None)


def by_phrasebook(text: str, book: Phrasebook) -> Intent:
    """The intent a transcript names by the phrasebook; Intent('other', 0.0, ...) when nothing
    un-negated matched."""
    matches = [m for m in _claimed(_matches(book.read(text), book)) if not m.negated]
    evidence = _evidence(matches, book)
    if not evidence:
        return NOTHING
    ranked = sorted(evidence, key=lambda name: (-evidence[name], name not in URGENT_INTENTS,
                                                INTENT_NAMES.index(name)))
    top = ranked[0]
    runner_up = evidence[ranked[1]] if len(ranked) > 1 else 0.0
    decisive = max((m for m in matches if m.intent == top), key=lambda m: m.hit.quality * m.phrase.weight)
    return Intent(top, round(evidence[top] - runner_up / 2, 3), top in URGENT_INTENTS, decisive.phrase.text)


def urgent_partial(text: str, book: Phrasebook) -> Intent | None:
    """An urgent intent from a partial (mid-sentence) transcript, only when it cannot still turn negated.

    Conservative on purpose: any negation word anywhere in the partial holds it back (the final result
    decides), and in a language that negates after the verb (Korean) the phrase must be followed by
    more words before it counts.
    """
    reading = book.read(text)
    safe = [m for m in _claimed(_matches(reading, book))
            if m.intent in URGENT_INTENTS and _safe_mid_sentence(m, reading, book)]
    if not safe:
        return None
    evidence = _evidence(safe, book)
    best = max(safe, key=lambda m: (evidence[m.intent], m.hit.quality))
    return Intent(best.intent, round(evidence[best.intent], 3), True, best.phrase.text)


def grammar(book: Phrasebook) -> list[str]:
    """What to hand vosk as a phrase list: each phrase, then each word of phrases, negations, hints, once."""
    phrases = [part.strip() for p in book.phrases for part in p.text.split(GAP)]
    extra = [*book.hints, *(w for words in book.negation.values() for w in words), *book.fillers]
    words = [word for text in phrases + extra for word in text.split()]
    return list(dict.fromkeys(phrases + extra + words))


def _matches(reading: Reading, book: Phrasebook) -> list[_Match]:
    """Every phrase against the transcript; a gapped phrase's parts in order, a few units apart."""
    parts = _part_hits(reading, book)
    gap = _GAP_UNITS[book.units]
    found = []
    for number in sorted({number for number, part_number in parts if part_number == 0}):
        phrase = book.phrases[number]
        chains = parts[number, 0]
        for later in (parts.get((number, j), []) for j in range(1, len(phrase.parts))):
            # the words in the gap count as the phrase's own: it claims the whole stretch it spans
            chains = [_Hit(a.start, b.end, min(a.quality, b.quality),
                           a.mass + len(reading.key(0, a.end, b.start)) + b.mass)
                      for a in chains for b in later
                      if 0 <= b.start - a.end <= gap and BREAK not in reading.units[a.end:b.start]]
        found.extend(_Match(phrase, hit, _negated(reading, hit, phrase, book)) for hit in chains)
    return found


def _part_hits(reading: Reading, book: Phrasebook) -> dict[tuple[int, int], list[_Hit]]:
    """(phrase number, part number) -> where that part occurs, exactly or a few edits off.

    Windows are one unit shorter to one longer than the part, so split or merged words still line up.
    Exact matches are looked up window by window; only parts long enough to allow edits are scanned.
    """
    best: dict[tuple[int, int], dict[tuple[int, int], _Hit]] = {}

    def record(part_id, span, query_length, edits, key_length, form):
        factor = 1.0 if form == 0 else _SOUNDS_LIKE
        quality = (1 - edits / max(query_length, key_length)) * factor
        spans = best.setdefault(part_id, {})
        if span not in spans or spans[span].quality < quality:
            spans[span] = _Hit(*span, quality, (query_length - 2 * edits) * factor)

    windows = _Windows(reading, _EDITS[book.units])
    for form in range(len(reading.keys)):
        for size in range(1, book.longest_part + 2):
            for span, key in windows.of(size, form):
                for number, part_number, units in book.parts_by_key.get((form, key), ()):
                    if abs(units - size) <= 1:
                        record((number, part_number), span, len(key), 0, len(key), form)
    for (query, n, form), owners in book.parts_by_query.items():  # each distinct part once
        allowed = _allowed_edits(len(query))
        for span, edits, length in windows.near(query, n, form, allowed) if allowed else ():
            for owner in owners:
                record(owner, span, len(query), edits, length, form)
    return {part_id: list(spans.values()) for part_id, spans in best.items()}


class _Windows:
    """The transcript's stretches of each length, keyed per comparison form, built once per transcript."""

    def __init__(self, reading: Reading, edits):
        self._reading = reading
        self._edits = edits
        self._built: dict[tuple[int, int], tuple[list, list]] = {}  # (size, form) -> spans, keys
        self._around: dict[tuple[int, int], tuple[list, list]] = {}  # (units, form) -> sizes units±1

    def of(self, size: int, form: int) -> list[tuple[tuple[int, int], str | tuple[str, ...]]]:
        spans, keys = self._of(size, form)
        return list(zip(spans, keys))

    def near(self, query, units: int, form: int, allowed: int):
        """(span, edits, key length) of each window one unit shorter to one longer than a part of
        this many units, within `allowed` edits of its query."""
        if (units, form) not in self._around:
            sizes = [self._of(size, form) for size in range(max(1, units - 1), units + 2)]
            self._around[units, form] = ([span for spans, _ in sizes for span in spans],
                                         [key for _, keys in sizes for key in keys])
        spans, keys = self._around[units, form]
        return [(spans[index], edits, len(key)) for key, edits, index in
                process.extract(query, keys, scorer=self._edits.distance, score_cutoff=allowed, limit=None)]

    def _of(self, size: int, form: int) -> tuple[list, list]:
        if (size, form) not in self._built:
            units = self._reading.units
            spans = [(s, s + size) for s in range(len(units) - size + 1) if BREAK not in units[s:s + size]]
            self._built[size, form] = spans, [self._reading.key(form, s, e) for s, e in spans]
        return self._built[size, form]


def _allowed_edits(length: int) -> int:
    """Short phrases must match exactly; longer ones may be a letter (jamo, syllable) or a few off."""
    return 0 if length <= 4 else 1 if length <= 8 else 2 if length <= 14 else 3


def _negated(reading: Reading, hit: _Hit, phrase: Phrase, book: Phrasebook) -> bool:
    if phrase.intent not in book.negatable:
        return False
    if _stray_cues(reading, hit, phrase):  # "해킹 당했" heard in "해킹 안 당했"
        return True
    return _cue_before(reading, hit.start) or _cue_after(reading, hit.end)


def _stray_cues(reading: Reading, hit: _Hit, phrase: Phrase) -> int:
    """Negation words among the matched units that the phrase does not spell itself ("can not log in")."""
    spelled = [part.whole[0] for part in phrase.parts]
    return sum(1 for start, end in reading.cue_spans
               if hit.start <= start and end <= hit.end
               and not any(reading.key(0, start, end) in words for words in spelled))


def _cue_before(reading: Reading, start: int) -> bool:
    """A negation word just before the phrase, perhaps across skip words ("not been hacked")."""
    position = start
    for _ in range(_MAX_SKIPS + 1):
        if position in reading.before_cue_ends:
            return True
        step = reading.skip_ends.get(position)
        if not step:
            return False
        position -= step
    return False


def _cue_after(reading: Reading, end: int) -> bool:
    """A negation word just after the phrase, perhaps across skip words ("해킹 당하 지 않았")."""
    position = end
    for _ in range(_MAX_SKIPS + 1):
        if position in reading.after_cue_starts:
            return True
        step = reading.skip_starts.get(position)
        if not step:
            return False
        position += step
    return False


def _safe_mid_sentence(match: _Match, reading: Reading, book: Phrasebook) -> bool:
    if match.negated or match.hit.quality < PARTIAL_MIN_QUALITY:
        return False
    elsewhere = [(s, e) for s, e in reading.cue_spans if s < match.hit.start or e > match.hit.end]
    if elsewhere:  # a negation anywhere in the partial, however far: leave it to the final result
        return False
    if not book.negation.get("after"):
        return True
    position = match.hit.end  # the negation may still be coming: wait until the clause has moved on
    for _ in range(_MAX_SKIPS + 1):
        step = reading.skip_starts.get(position)
        if not step:
            break
        position += step
    return position < len(reading.units)


def _claimed(matches: list[_Match]) -> list[_Match]:
    """Where matches overlap, the longest and closest keeps the words; the others are dropped. Of two
    equally good readings of the same words, the one that spells the negation itself wins ("no saqué nada
    ... retiro" over "no saqué ... retiro", whose gap holds a negation word)."""
    kept, taken = [], set()
    for match in sorted(matches, key=lambda m: (-m.hit.mass, -m.hit.quality, m.hit.start, m.negated)):
        span = range(match.hit.start, match.hit.end)
        if taken.isdisjoint(span):
            kept.append(match)
            taken.update(span)
    return kept


def _evidence(matches: list[_Match], book: Phrasebook) -> dict[str, float]:
    """Per intent, 1 - the chance that every one of its matches is wrong."""
    doubt: dict[str, float] = {}
    for match in matches:
        weight = match.phrase.weight * book.weights.get(match.intent, 1.0)
        strength = min(1.0, EVIDENCE * match.hit.quality * weight)
        doubt[match.intent] = doubt.get(match.intent, 1.0) * (1.0 - strength)
    return {name: 1.0 - rest for name, rest in doubt.items()}
