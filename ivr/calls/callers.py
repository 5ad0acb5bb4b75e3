"""Facts about the person calling, from the number Twilio gives us."""
from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

# What carriers and Twilio put in `From` when the caller hides their number.
WITHHELD = {"", "anonymous", "unknown", "restricted", "private", "unavailable", "blocked",
            "+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253"}


@dataclass(frozen=True)
class Caller:
    number: str | None  # E.164, or None when withheld or not a phone number
    country: str | None  # ISO 3166 alpha-2 from the number's prefix
    withheld: bool
    raw: str


def caller_from(raw: str | None) -> Caller:
    """Classify Twilio's `From`: a phone number, a withheld ID, or a client/SIP identity."""
    raw = (raw or "").strip()
    if raw.lower() in WITHHELD:
        return Caller(number=None, country=None, withheld=True, raw=raw)
    if not raw.startswith("+"):
        return Caller(number=None, country=None, withheld=False, raw=raw)  # client:alice, sip:...
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return Caller(number=None, country=None, withheld=False, raw=raw)
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Caller(number=number, country=_country(parsed), withheld=False, raw=raw)


def _country(parsed: phonenumbers.PhoneNumber) -> str | None:
    """The number's country; for a number outside every allocated range (a test or drama number),
    the country its calling code belongs to."""
    country = phonenumbers.region_code_for_number(parsed)
    if country is None:
        country = phonenumbers.region_code_for_country_code(parsed.country_code)
    return None if country in ("ZZ", "001") else country
