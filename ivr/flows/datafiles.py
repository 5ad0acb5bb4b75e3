"""Checks shared by the YAML files a support team edits (flows, the rota, phrasebooks), so their
error messages read the same everywhere."""
from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA timezone like 'Europe/London'") from None
    return value


def check_e164(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{number!r} is not a phone number: {exc}") from None
    if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != number:
        raise ValueError(f"{number!r} is not in E.164 form (+ country code, digits only)")
    return number


def yaml_where(exc: Exception) -> str:
    """Where a YAML error is: 'line N: problem'."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}: {problem}" if mark else problem


def relative(path: Path, base: Path) -> str:
    """A path as the operator knows it: 'flows/us.yaml'."""
    try:
        return str(Path(base.name) / path.relative_to(base))
    except ValueError:
        return str(path)
