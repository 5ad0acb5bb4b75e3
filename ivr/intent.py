"""What the caller is calling about: a transcript becomes an Intent, by the language's phrasebook.

Every phrase is compared with each stretch of the transcript of about its length (rapidfuzz ratio on
the text with spaces removed, so "with drawl" still reads as "withdrawal" and the way vosk splits
Mandarin and Korean into words does not matter; Korean by letters, Mandarin also by pinyin). A match
the caller negated ("I was not hacked", "没有被盗", "해킹 안 당했어요") does not count. Where matches
overlap, the longest claims the words, so "a withdrawal I didn't make" is a takeover, not a
withdrawal. Each intent's evidence grows with its matches; the confidence is the winner's evidence
less half the runner-up's, so a close call between two intents is reported as unsure.
"""
from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from ivr.phrasebook import INTENT_NAMES, BREAK, Phrase, Phrasebook, Reading, load_phrasebooks

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
class _Match:
    phrase: Phrase
    start: int
    end: int
    quality: float  # 0-1: how closely these words match the phrase
    negated: bool

    @property
    def intent(self) -> str:
        return self.phrase.intent

    @property
    def mass(self) -> float:
        """Longer, closer matches claim overlapping words first."""
        return len(self.phrase.reading.key(0, 0, len(self.phrase.reading.units))) * self.quality


def classify(text: str, book: Phrasebook) -> Intent:
    """The intent a transcript names; Intent('other', 0.0, ...) when nothing un-negated matched."""
    matches = [m for m in _claimed(_matches(book.read(text), book)) if not m.negated]
    evidence = _evidence(matches, book)
    if not evidence:
        return NOTHING
    ranked = sorted(evidence, key=lambda name: (-evidence[name], name not in URGENT_INTENTS,
                                                INTENT_NAMES.index(name)))
    top = ranked[0]
    runner_up = evidence[ranked[1]] if len(ranked) > 1 else 0.0
    decisive = max((m for m in matches if m.intent == top), key=lambda m: m.quality * m.phrase.weight)
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
    best = max(safe, key=lambda m: (evidence[m.intent], m.quality))
    return Intent(best.intent, round(evidence[best.intent], 3), True, best.phrase.text)


def grammar(book: Phrasebook) -> list[str]:
    """What to hand vosk as a phrase list: each phrase, then each word of phrases, negations, hints, once."""
    phrases = [p.text for p in book.phrases]
    extra = [*book.hints, *(w for words in book.negation.values() for w in words), *book.fillers]
    words = [word for text in phrases + extra for word in text.split()]
    return list(dict.fromkeys(phrases + extra + words))


def _matches(reading: Reading, book: Phrasebook) -> list[_Match]:
    """Every phrase against every window of the transcript within one unit of its length."""
    windows = _Windows(reading)
    found = []
    for phrase in book.phrases:
        n = len(phrase.reading.units)
        best: dict[tuple[int, int], float] = {}
        for form in range(len(reading.keys)):
            query = phrase.reading.key(form, 0, n)
            cutoff = _cutoff(query, n, form)
            for size in range(max(1, n - 1), n + 2):
                spans, keys = windows.of(size, form)
                for _, score, index in process.extract(query, keys, scorer=fuzz.ratio,
                                                       score_cutoff=cutoff, limit=None):
                    quality = score / 100 * (1.0 if form == 0 else _SOUNDS_LIKE)
                    best[spans[index]] = max(best.get(spans[index], 0.0), quality)
        found.extend(_Match(phrase, start, end, quality, _negated(reading, start, end, phrase, book))
                     for (start, end), quality in best.items())
    return found


class _Windows:
    """The transcript's stretches of each length, keyed per comparison form, built once per transcript."""

    def __init__(self, reading: Reading):
        self._reading = reading
        self._built: dict[tuple[int, int], tuple[list[tuple[int, int]], list[str]]] = {}

    def of(self, size: int, form: int) -> tuple[list[tuple[int, int]], list[str]]:
        if (size, form) not in self._built:
            units = self._reading.units
            spans = [(s, s + size) for s in range(len(units) - size + 1) if BREAK not in units[s:s + size]]
            self._built[size, form] = spans, [self._reading.key(form, s, e) for s, e in spans]
        return self._built[size, form]


def _cutoff(key: str, units: int, form: int) -> float:
    """Short phrases must match exactly; longer ones may be about one letter in six off."""
    if form > 0 and units <= 3:
        return 100  # two or three characters that only sound alike are too often another word
    length = len(key)
    return 100 if length <= 4 else 90 if length <= 6 else 85 if length <= 8 else 80


def _negated(reading: Reading, start: int, end: int, phrase: Phrase, book: Phrasebook) -> bool:
    if phrase.intent not in book.negatable:
        return False
    own = phrase.reading.cues_within(0, len(phrase.reading.units))  # "can't log in" carries its own
    if reading.cues_within(start, end) > own:
        return True
    return _cue_before(reading, start) or _cue_after(reading, end)


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
    own = match.phrase.reading.cues_within(0, len(match.phrase.reading.units))
    if match.negated or match.quality < PARTIAL_MIN_QUALITY or len(reading.cue_spans) > own:
        return False
    if not book.negation.get("after"):
        return True
    position = match.end  # the negation may still be coming: wait until the clause has moved on
    for _ in range(_MAX_SKIPS + 1):
        step = reading.skip_starts.get(position)
        if not step:
            break
        position += step
    return position < len(reading.units)


def _claimed(matches: list[_Match]) -> list[_Match]:
    """Where matches overlap, the longest and closest keeps the words; the others are dropped."""
    kept, taken = [], set()
    for match in sorted(matches, key=lambda m: (-m.mass, -m.quality, m.start)):
        span = range(match.start, match.end)
        if taken.isdisjoint(span):
            kept.append(match)
            taken.update(span)
    return kept


def _evidence(matches: list[_Match], book: Phrasebook) -> dict[str, float]:
    """Per intent, 1 - the chance that every one of its matches is wrong."""
    doubt: dict[str, float] = {}
    for match in matches:
        strength = min(1.0, EVIDENCE * match.quality * match.phrase.weight * book.weights.get(match.intent, 1.0))
        doubt[match.intent] = doubt.get(match.intent, 1.0) * (1.0 - strength)
    return {name: 1.0 - rest for name, rest in doubt.items()}
