"""Finding the secrets a caller must never have read out, in a transcript with word timings, and
taking them out: BIP-39 seed phrases, private and extended keys, one-time codes, card numbers and
spoken passwords. Pure: words in, spans out; the audio is toned over elsewhere (`audio`).

The rules, and the near-misses they leave alone:
- seed phrase: 5 or more BIP-39 words in a row (the caller's language's list and English;
  fillers between them allowed, a single misheard word bridged when the phrase goes on). A
  normal sentence has BIP-39 words too, but broken up by words that are not in the lists ("I
  want to buy a new phone"). Chinese lists are single characters, so there it takes 6 separate
  one-character words in a row; normal speech comes out of the recogniser as longer words.
- private or extended key: 12 or more characters spelled out (digits and letters, NATO words,
  letter names in each language) with at least two of each, or a token shaped like a hex key,
  an xprv/xpub or a WIF key.
- card number: 13 to 19 digits in a row that pass the Luhn check.
- one-time code: 6 to 8 digits in a row, unless it is a number the call knows (the ticket number
  read back) or an amount (a currency word beside it); 4 digits are an amount or a PIN hint, kept.
- password: what follows "my password is" and its equivalents, up to a pause or ten words;
  "my password is not working" is about the password, and stays.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ivr.redaction import vocabulary as vocab

LABELS = {"seed_phrase": "[seed phrase removed]", "private_key": "[private key removed]",
          "card_number": "[card number removed]", "one_time_code": "[one-time code removed]",
          "password": "[password removed]"}
SEED_MIN_WORDS, SEED_MIN_CHARACTERS = 5, 6
KEY_MIN_CHARACTERS = 12
CODE_DIGITS, CARD_DIGITS = range(6, 9), range(13, 20)
PASSWORD_MAX_WORDS, PASSWORD_PAUSE = 10, 1.2  # seconds of quiet that end what was said
WORD_SECONDS = 0.4  # the time given to each word of a transcript that has no timings
HEX_KEY = re.compile(r"^(0x)?[0-9a-f]{32,}$")
EXTENDED_KEY = re.compile(r"^[xyzt](prv|pub)[1-9a-hj-np-z]{20,}$")
WIF_KEY = re.compile(r"^[5kl][1-9a-hj-np-z]{50,51}$")


@dataclass(frozen=True)
class Word:
    text: str
    start: float  # seconds from the start of the recording
    end: float
    conf: float = 1.0


@dataclass(frozen=True)
class Span:
    kind: str  # a key of LABELS
    first: int  # index of the first word taken out
    last: int  # and of the last
    start: float
    end: float


def find_secrets(words: Sequence[Word], language: str, known_numbers: Iterable[str] = ()) -> list[Span]:
    """Every secret in one channel's words, as spans in time order (overlaps merged, first kind kept)."""
    tokens = [vocab.normal(w.text) for w in words]
    found = [*_spelled(tokens, language, set(known_numbers)), *_seed_phrases(tokens, language),
             *_passwords(tokens, words, language)]
    return _merge([Span(kind, first, last, words[first].start, words[last].end) for kind, first, last in found])


def redact(words: Sequence[Word], spans: Sequence[Span]) -> list[Word]:
    """The words with each span replaced by its label (one word covering the span's time)."""
    out: list[Word] = []
    ordered = sorted(spans, key=lambda s: s.first)
    index = 0
    for span in ordered:
        out.extend(words[index:span.first])
        out.append(Word(LABELS[span.kind], span.start, span.end))
        index = span.last + 1
    out.extend(words[index:])
    return out


def text_of(words: Sequence[Word], language: str) -> str:
    return " ".join(w.text for w in words)


def redact_text(text: str, language: str, known_numbers: Iterable[str] = ()) -> str:
    """A transcript without word timings (what a listen step heard) with its secrets replaced by
    their labels. Words are taken to follow each other without a pause."""
    words = [Word(token, index * WORD_SECONDS, (index + 1) * WORD_SECONDS) for index, token in enumerate(text.split())]
    spans = find_secrets(words, language, known_numbers)
    return text_of(redact(words, spans), language) if spans else text


# -- spelled characters: keys, card numbers, one-time codes --------------------------------------

def _spelled(tokens: list[str], language: str, known_numbers: set[str]) -> list[tuple[str, int, int]]:
    digits, letters = vocab.spoken_digits(language), vocab.spoken_letters(language)
    found = [("private_key", i, i) for i, t in enumerate(tokens) if _key_shaped(t)]
    runs: list[tuple[int, int, str]] = []  # (first, last, characters)
    first, chars, last = None, "", None
    for i, token in enumerate(tokens + [""]):
        spelled = _characters(token, digits, letters)
        if spelled:
            first = i if first is None else first
            chars, last = chars + spelled, i
        elif first is not None and (token in vocab.FILLERS or token in vocab.LETTER_CASE) and i < len(tokens):
            continue
        elif first is not None:
            runs.append((first, last, chars))
            first, chars, last = None, "", None
    for first, last, chars in runs:
        found.extend(_classify_run(tokens, first, last, chars, known_numbers))
    return found


def _characters(token: str, digits: dict[str, str], letters: dict[str, str]) -> str:
    if not token:
        return ""
    if token in digits:
        return digits[token]
    if token in letters:
        return letters[token]
    plain = token.replace(",", "").replace("-", "")
    if plain.isdigit() and plain.isascii():
        return plain
    if len(plain) > 1 and all(c in digits for c in plain):  # 四八二九: digits run together
        return "".join(digits[c] for c in plain)
    return ""


def _classify_run(tokens, first: int, last: int, chars: str, known: set[str]) -> list[tuple[str, int, int]]:
    letters = sum(c.isalpha() for c in chars)
    if len(chars) >= KEY_MIN_CHARACTERS and letters >= 2 and len(chars) - letters >= 2:
        return [("private_key", first, last)]
    if letters:  # digits with a few letters around (a word like "a" or "see"): the digit stretch alone counts
        return [hit for start, end, part in _digit_stretches(tokens, first, last, chars)
                for hit in _classify_digits(tokens, start, end, part, known)]
    return _classify_digits(tokens, first, last, chars, known)


def _digit_stretches(tokens, first, last, chars):
    """Split a run into its stretches of digit-only tokens."""
    stretches, start, part = [], None, ""
    for i in range(first, last + 1):
        piece = _characters(tokens[i], vocab.spoken_digits("en") | vocab.DIGITS.get("ko", {}), {})
        if piece and piece.isdigit():
            start = i if start is None else start
            part += piece
        elif start is not None and tokens[i] not in vocab.FILLERS:
            stretches.append((start, i - 1, part))
            start, part = None, ""
    if start is not None:
        stretches.append((start, last, part))
    return stretches


def _classify_digits(tokens, first: int, last: int, digits: str, known: set[str]) -> list[tuple[str, int, int]]:
    if len(digits) in CARD_DIGITS and _luhn(digits):
        return [("card_number", first, last)]
    if len(digits) in CODE_DIGITS and digits not in known and not _amount(tokens, first, last):
        return [("one_time_code", first, last)]
    return []


def _key_shaped(token: str) -> bool:
    return bool(HEX_KEY.match(token) or EXTENDED_KEY.match(token) or WIF_KEY.match(token))


def _amount(tokens, first: int, last: int) -> bool:
    near = tokens[max(0, first - 2):first] + tokens[last + 1:last + 3]
    return any(t in vocab.CURRENCY or t.startswith(("$", "€", "£", "₩", "¥")) for t in near)


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# -- seed phrases ------------------------------------------------------------------------------------

def _seed_phrases(tokens: list[str], language: str) -> list[tuple[str, int, int]]:
    words = vocab.bip39_words(language)
    single = vocab.single_character_lists(language)
    neutral = vocab.FILLERS | set(vocab.spoken_digits(language))  # "one", 一 are listed, but are numbers here

    def listed(token: str) -> bool:
        if single and len(token) == 1 and not token.isascii():
            return token in words and token not in neutral
        return (len(token) > 1 or not single) and token in words and token not in neutral

    runs, first, count, last = [], None, 0, None
    for i, token in enumerate(tokens + [""]):
        if token and listed(token):
            first = i if first is None else first
            count, last = count + 1, i
        elif first is not None and token in neutral and i < len(tokens):
            continue
        elif first is not None:
            runs.append([first, last, count])
            first, count = None, 0
    merged: list[list[int]] = []
    for run in runs:  # one misheard word inside a phrase that goes on is bridged
        if merged and run[0] - merged[-1][1] == 2 and min(run[2], merged[-1][2]) >= 2:
            merged[-1] = [merged[-1][0], run[1], merged[-1][2] + run[2]]
        else:
            merged.append(run)
    needed = SEED_MIN_CHARACTERS if single else SEED_MIN_WORDS
    return [("seed_phrase", first, last) for first, last, count in merged if count >= needed]


# -- passwords ---------------------------------------------------------------------------------------

def _passwords(tokens: list[str], words: Sequence[Word], language: str) -> list[tuple[str, int, int]]:
    phrases = vocab.PASSWORD_PHRASES.get(language, ()) + vocab.PASSWORD_PHRASES["en"]
    about = vocab.ABOUT_THE_PASSWORD.get(language, set()) | vocab.ABOUT_THE_PASSWORD["en"]
    found = []
    for start in range(len(tokens)):
        joined = ""
        for end in range(start, min(start + 5, len(tokens))):
            joined += tokens[end].replace(" ", "")
            if joined in phrases and end + 1 < len(tokens) and tokens[end + 1] not in about:
                last = _until_pause(words, end + 1)
                found.append(("password", end + 1, last))
                break
    return found


def _until_pause(words: Sequence[Word], first: int) -> int:
    last = first
    while (last + 1 < len(words) and last + 1 - first < PASSWORD_MAX_WORDS
           and words[last + 1].start - words[last].end < PASSWORD_PAUSE):
        last += 1
    return last


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.first, -s.last)):
        if merged and span.first <= merged[-1].last:
            previous = merged[-1]
            if span.last > previous.last:
                merged[-1] = Span(previous.kind, previous.first, span.last, previous.start, span.end)
            continue
        merged.append(span)
    return merged
