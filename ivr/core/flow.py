"""A region's flow as the engine reads it: what a region file holds (validated, field by field),
and the loaded flow with its prompts, version and opening hours. No files are read here."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ivr.core.checks import check_e164, check_timezone
from ivr.core.hours import OpeningHours, parse_day_keys, parse_span
from ivr.core.steps import Step

# Prompts the engine itself speaks, so every language a region offers must have them.
ENGINE_PROMPTS = ("no_input", "invalid_choice", "consent_given", "consent_declined", "apology", "goodbye")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Language(_Model):
    code: str = Field(pattern=r"^[a-z]{2,3}$")
    say: str  # the language attribute of <Say>, e.g. en-US
    voice: str | None = None  # e.g. Polly.Joanna; None = the account default
    speech: str | None = None  # BCP-47 tag for Twilio's own speech gather, where allowed


class Holidays(_Model):
    country: str
    subdivision: str | None = None
    closed_on: list[date] = []
    open_on: list[date] = []


class UrgentPath(_Model):
    """The security fast path: the key a caller may press at any question, and where it starts."""

    key: str = Field(pattern=r"^[0-9*#]$")
    start: str


class Retention(_Model):
    """How long a region keeps its recordings and transcripts, in days from the call; security
    tickets (priority P1) may be kept longer. Without it a region's recordings are kept until deleted."""

    days: int = Field(gt=0, le=36500)
    security_days: int | None = Field(default=None, gt=0, le=36500)

    def for_ticket(self, priority: str | None) -> int:
        return self.security_days if priority == "P1" and self.security_days else self.days


class FlowFile(_Model):
    """What a region file holds, exactly as written."""

    region: str = Field(pattern=r"^[a-z]{2,8}$")
    name: str
    numbers: list[str] = Field(min_length=1)
    timezone: str
    languages: list[Language] = Field(min_length=1)
    hours: Literal["always"] | dict[str, list[str]]
    holidays: Holidays | None = None
    consent: Literal["all-party", "one-party"]
    cloud_speech: bool = False
    urgency_stream: bool = False  # every question listens for urgency through the offline recogniser (vosk)
    keys_only: str | None = None  # why this region's questions hear keys only (no recogniser, no cloud speech)
    urgent: UrgentPath | None = None
    retention: Retention | None = None
    help_centre: str = ""
    support_email: str = ""
    start: str
    include: list[str] = []  # shared step files under flows/, merged before the region's own steps
    steps: dict[str, Step] = Field(min_length=1)
    prompt_overrides: dict[str, dict[str, str]] = {}

    @field_validator("numbers")
    @classmethod
    def _e164(cls, numbers: list[str]) -> list[str]:
        return [check_e164(number) for number in numbers]

    _zone = field_validator("timezone")(check_timezone)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value):
        if value == "always":
            return value
        for key, spans in value.items():
            parse_day_keys(key)
            for span in spans:
                parse_span(span)
        return value


@dataclass(frozen=True)
class Flow:
    """A loaded, checked region flow: the file's content plus resolved prompts and its version."""

    spec: FlowFile
    source: str
    version: str
    prompts: Mapping[str, Mapping[str, str]]  # language -> key -> text

    def __getattr__(self, name):  # region, numbers, steps, ... read straight from the file
        return getattr(self.spec, name)

    @cached_property
    def hours(self) -> OpeningHours:
        spec = self.spec
        weekly: dict[str, list] = {}
        if spec.hours != "always":
            for key, spans in spec.hours.items():
                for day in parse_day_keys(key):
                    weekly.setdefault(day, []).extend(parse_span(s) for s in spans)
        h = spec.holidays
        return OpeningHours(
            timezone=spec.timezone,
            weekly=tuple((d, tuple(s)) for d, s in weekly.items()),
            holiday_country=h.country if h else None,
            holiday_subdivision=h.subdivision if h else None,
            closed_on=frozenset(h.closed_on) if h else frozenset(),
            open_on=frozenset(h.open_on) if h else frozenset(),
            always_open=spec.hours == "always",
        )

    @property
    def language_codes(self) -> list[str]:
        return [lang.code for lang in self.spec.languages]

    def language(self, code: str | None) -> Language:
        for lang in self.spec.languages:
            if lang.code == code:
                return lang
        return self.spec.languages[0]

    def prompt(self, language: str, key: str) -> str:
        return self.prompts[language][key]
