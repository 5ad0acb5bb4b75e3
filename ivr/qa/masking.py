"""Caller numbers on QA pages are partly hidden: the country code and the last three digits show."""
from __future__ import annotations

import re

import phonenumbers

E164 = re.compile(r"\+\d{6,15}")
DOT = "•"


def mask_number(number: str | None, withheld: bool = False) -> str:
    if withheld or not number:
        return "withheld"
    if not E164.fullmatch(number):
        return DOT * 4
    try:
        country = str(phonenumbers.parse(number).country_code)
    except phonenumbers.NumberParseException:
        country = number[1:2]
    hidden = len(number) - 1 - len(country) - 3
    return f"+{country} {DOT * max(hidden, 1)}{number[-3:]}"


def mask_numbers_in(text: str) -> str:
    """Every E.164 number inside a piece of text, masked."""
    return E164.sub(lambda m: mask_number(m.group(0)), text)
