"""Which numbers we may call back: a real phone number, not premium rate, in a country the region
calls. Pure (phonenumbers only), so the flow engine refuses a bad number before anything is booked.

Keyed-in numbers are read the way a caller types them on a keypad: a national number
("07400 123456" in the United Kingdom), or an international one after the international prefix
("00 44 7400 123456", "011 44 ..." from North America).
"""
from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

REFUSED_TYPES = {PhoneNumberType.PREMIUM_RATE: "premium", PhoneNumberType.SHARED_COST: "premium"}


@dataclass(frozen=True)
class NumberCheck:
    number: str | None  # E.164 when usable
    problem: str | None = None  # "invalid", "premium" or "foreign"

    @property
    def ok(self) -> bool:
        return self.problem is None


def home_country(numbers) -> str | None:
    """The region's own country: that of the first of its numbers phonenumbers can place."""
    for number in numbers:
        try:
            country = phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
        except phonenumbers.NumberParseException:
            continue
        if country and country not in ("ZZ", "001"):
            return country
    return None


def check(number: str | None, home: str | None, also: tuple[str, ...] = ()) -> NumberCheck:
    """Whether an E.164 `number` (or digits keyed in) may be called back from a region whose own
    country is `home`, which may also call the countries in `also`."""
    parsed = _parse((number or "").strip(), home)
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        return NumberCheck(None, "invalid")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.number_type(parsed) in REFUSED_TYPES:
        return NumberCheck(e164, "premium")
    country = phonenumbers.region_code_for_number(parsed)
    if country not in {home, *also}:
        return NumberCheck(e164, "foreign")
    return NumberCheck(e164)


def _parse(raw: str, home: str | None):
    if not raw:
        return None
    digits = raw if raw.startswith("+") else "".join(ch for ch in raw if ch.isdigit())
    if not digits:
        return None
    try:
        if digits.startswith("+"):
            return phonenumbers.parse(digits, None)
        if home:  # "00 44 ..." and "011 44 ..." are understood through the region's own dialling rules
            return phonenumbers.parse(digits, home)
        return phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None


def tail(number: str, digits: int = 3) -> str:
    """The last digits of a number, spaced for reading aloud: "4, 5, 6"."""
    return ", ".join(number[-digits:])
