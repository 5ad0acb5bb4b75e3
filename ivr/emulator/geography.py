"""Where Twilio says a number is: the geographic webhook parameters (FromCountry, CallerCountry,
ToCity, ...). Only the country is known, from the number's prefix; city, state and zip stay empty."""
from __future__ import annotations

import phonenumbers

# What carriers and Twilio put in `From` when the caller hides their number: no country.
WITHHELD = {"", "anonymous", "unknown", "restricted", "private", "unavailable", "blocked",
            "+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253"}


def geographic_params(from_: str, to: str) -> dict[str, str]:
    """FromCountry/CallerCountry, FromCity/CallerCity, ... then the same for To/Called."""
    params: dict[str, str] = {}
    for side, number in (("From", from_), ("To", to)):
        country = country_of(number)
        legacy = "Caller" if side == "From" else "Called"
        for suffix, value in (("Country", country), ("City", ""), ("State", ""), ("Zip", "")):
            params[side + suffix] = value
            params[legacy + suffix] = value
    return params


def country_of(number: str | None) -> str:
    """The ISO 3166 alpha-2 country of an E.164 number; for a number outside every allocated range
    (a test or drama number), the country its calling code belongs to; "" for a withheld ID, a
    client/SIP identity, or anything that is not a phone number."""
    raw = (number or "").strip()
    if raw.lower() in WITHHELD or not raw.startswith("+"):
        return ""
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return ""
    country = phonenumbers.region_code_for_number(parsed)
    if country is None:
        country = phonenumbers.region_code_for_country_code(parsed.country_code)
    return "" if country in ("ZZ", "001") else country
