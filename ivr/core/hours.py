"""Opening hours and public holidays of a region, decided in the region's own timezone."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class HoursStatus:
    """Whether phone support is open at one moment, and why not when it is not."""

    state: str  # "open", "closed" or "holiday"
    holiday: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state == "open"


def parse_day_keys(key: str) -> tuple[str, ...]:
    """'mon-fri' -> ('mon', ..., 'fri'); 'sat' -> ('sat',); 'daily' -> all days."""
    key = key.strip().lower()
    if key == "daily":
        return DAYS
    if "-" in key:
        first, last = key.split("-", 1)
        if first not in DAYS or last not in DAYS or DAYS.index(first) > DAYS.index(last):
            raise ValueError(f"'{key}' is not a day range like 'mon-fri'")
        return DAYS[DAYS.index(first): DAYS.index(last) + 1]
    if key not in DAYS:
        raise ValueError(f"'{key}' is not a day (mon..sun, a range like mon-fri, or daily)")
    return (key,)


def parse_span(span: str) -> tuple[time, time]:
    """'09:00-18:00' -> (09:00, 18:00); '24:00' is allowed as an end."""
    match = _SPAN.match(span.strip())
    if not match:
        raise ValueError(f"'{span}' is not a span like '09:00-18:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError(f"'{span}' has an impossible time")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError(f"'{span}' ends before it starts")
    return start, end


@dataclass(frozen=True)
class OpeningHours:
    """Weekly hours plus a holiday calendar, in one timezone."""

    timezone: str
    weekly: tuple[tuple[str, tuple[tuple[time, time], ...]], ...]  # (day, spans) pairs
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    closed_on: frozenset[date] = frozenset()
    open_on: frozenset[date] = frozenset()
    always_open: bool = False

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def holiday_name(self, day: date) -> str | None:
        if day in self.open_on:
            return None
        if day in self.closed_on:
            return "closure"
        if not self.holiday_country:
            return None
        calendar = holiday_calendars.country_holidays(
            self.holiday_country, subdiv=self.holiday_subdivision, years=day.year
        )
        return calendar.get(day)

    def status_at(self, now: datetime) -> HoursStatus:
        """Open, closed or holiday at the aware moment `now`."""
        if now.tzinfo is None:
            raise ValueError("status_at needs an aware datetime")
        if self.always_open:
            return HoursStatus("open")
        local = now.astimezone(self.zone)
        holiday = self.holiday_name(local.date())
        if holiday:
            return HoursStatus("holiday", holiday)
        day = DAYS[local.weekday()]
        spans = dict(self.weekly).get(day, ())
        moment = local.time()
        if any(start <= moment < end or (end == time.max and moment >= start) for start, end in spans):
            return HoursStatus("open")
        return HoursStatus("closed")

    def next_opening(self, after: datetime, horizon_days: int = 21) -> datetime | None:
        """The first moment at or after `after` when the line is open (`after` itself when it is
        open then), in the region's timezone; holidays and closures are skipped. None when it
        does not open within `horizon_days`."""
        if after.tzinfo is None:
            raise ValueError("next_opening needs an aware datetime")
        if self.status_at(after).is_open:
            return after
        local = after.astimezone(self.zone)
        weekly = dict(self.weekly)
        for offset in range(horizon_days + 1):
            day = local.date() + timedelta(days=offset)
            if self.holiday_name(day):
                continue
            for start, _end in sorted(weekly.get(DAYS[day.weekday()], ())):
                opening = datetime.combine(day, start, tzinfo=self.zone)
                if opening >= local:
                    return opening
        return None

    def is_open(self, at: datetime) -> bool:
        return self.status_at(at).is_open
