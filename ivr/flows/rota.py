"""The on-call rota for urgent security calls: who is primary and secondary at any moment, per team.

flows/oncall.yaml holds it; it is validated like the flows ("<file>: team '<t>': <problem>"),
loaded into the database at start-up, and read from there when a call needs an agent.

A team's week is a list of handoffs ("from mon 08:00, alice then bob"), each lasting until the
next one and wrapping round the week; dated overrides (holiday cover, swaps) win over the week;
after the primary and secondary, the chain goes on with the team's escalation list.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ivr.core.checks import check_e164, check_timezone

ROTA_FILE = "oncall.yaml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK = 7 * 24 * 60


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonSpec(_Model):
    name: str
    phone: str

    _e164 = field_validator("phone")(check_e164)


class HandoffSpec(_Model):
    at: str  # "mon 08:00"
    primary: str
    secondary: str | None = None

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        parse_handoff(value)
        return value


class OverrideSpec(_Model):
    start: datetime  # local time in the team's timezone
    end: datetime
    primary: str
    secondary: str | None = None
    reason: str = ""


class TeamSpec(_Model):
    regions: list[str] = Field(min_length=1)
    timezone: str
    language: str = "en"  # the language of the brief the agent hears
    people: dict[str, PersonSpec] = Field(min_length=1)
    handoffs: list[HandoffSpec] = Field(min_length=1)
    overrides: list[OverrideSpec] = []
    escalation: list[str] = []

    _zone = field_validator("timezone")(check_timezone)


class RotaFile(_Model):
    teams: dict[str, TeamSpec] = Field(min_length=1)


def parse_handoff(value: str) -> int:
    """'tue 20:30' -> minutes after Monday 00:00."""
    try:
        day, clock = value.lower().split()
        hours, minutes = (int(part) for part in clock.split(":"))
        if day not in DAYS or not (0 <= hours < 24 and 0 <= minutes < 60):
            raise ValueError
    except ValueError:
        raise ValueError(f"{value!r} is not a handoff time like 'mon 08:00'") from None
    return DAYS.index(day) * 24 * 60 + hours * 60 + minutes


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    phone: str


@dataclass(frozen=True)
class Team:
    name: str
    regions: tuple[str, ...]
    timezone: str
    language: str
    people: dict[str, Person]
    handoffs: tuple[tuple[int, tuple[str, ...]], ...]  # (minute of the week, people in order), sorted
    overrides: tuple[tuple[datetime, datetime, tuple[str, ...], str], ...]  # local start, end, people, reason
    escalation: tuple[str, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def on_call(self, at: datetime) -> tuple[tuple[str, ...], str]:
        """Who is on call at `at` (primary first) and why: 'weekly' or the override's reason."""
        local = at.astimezone(self.zone).replace(tzinfo=None)
        for start, end, people, reason in reversed(self.overrides):  # the last override written wins
            if start <= local < end:
                return people, reason or "override"
        minute = local.weekday() * 24 * 60 + local.hour * 60 + local.minute
        current = self.handoffs[-1][1]  # before the week's first handoff: the last one, from last week
        for start, people in self.handoffs:
            if start <= minute:
                current = people
        return current, "weekly"

    def chain(self, at: datetime) -> list[Person]:
        """Everyone to try, in order: primary, secondary, then the escalation list; nobody twice."""
        keys, _ = self.on_call(at)
        seen: list[str] = []
        for key in (*keys, *self.escalation):
            if key not in seen:
                seen.append(key)
        return [self.people[key] for key in seen]

    def week(self, start: datetime) -> list[tuple[datetime, tuple[str, ...], str]]:
        """Every change of who is on call in the 7 days from `start` (local times)."""
        local_start = start.astimezone(self.zone).replace(tzinfo=None, second=0, microsecond=0)
        changes, last = [], None
        moment = local_start
        while moment < local_start + timedelta(days=7):
            people, why = self.on_call(moment.replace(tzinfo=self.zone))
            if (people, why) != last:
                changes.append((moment, people, why))
                last = (people, why)
            moment += timedelta(minutes=15)
        return changes


@dataclass(frozen=True)
class Rota:
    teams: dict[str, Team]
    version: str

    def team_for(self, region: str) -> Team | None:
        return next((team for team in self.teams.values() if region in team.regions), None)


def load_rota(flows_dir: Path, regions: set[str] | None = None) -> tuple[Rota | None, list[str]]:
    """Read and check flows/oncall.yaml. Returns the rota (None if unusable) and every problem."""
    path = Path(flows_dir) / ROTA_FILE
    rel = f"{Path(flows_dir).name}/{ROTA_FILE}"
    if not path.is_file():
        return None, [f"{rel}: missing: urgent security calls need an on-call rota (see README, 'On-call rota')"]
    data = path.read_bytes()
    try:
        loaded = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        return None, [f"{rel}: not valid YAML: {exc}"]
    try:
        spec = RotaFile.model_validate(loaded if isinstance(loaded, dict) else {})
    except ValidationError as exc:
        return None, [f"{rel}: {_where(err)}: {err['msg']}" for err in exc.errors()]
    problems: list[str] = []
    teams = {name: _team(name, team, rel, problems) for name, team in spec.teams.items()}
    covered: dict[str, str] = {}
    for name, team in spec.teams.items():
        for region in team.regions:
            if region in covered:
                problems.append(f"{rel}: team '{name}': region '{region}' is also covered by team '{covered[region]}'")
            covered[region] = name
    for region in sorted((regions or set()) - set(covered)):
        problems.append(f"{rel}: region '{region}' has no security team: its urgent calls would reach nobody")
    if problems:
        return None, problems
    return Rota(teams=teams, version=hashlib.sha256(data).hexdigest()[:12]), []


def _team(name: str, spec: TeamSpec, rel: str, problems: list[str]) -> Team:
    where = f"{rel}: team '{name}'"

    def known(keys, what):
        for key in keys:
            if key not in spec.people:
                problems.append(f"{where}: {what}: '{key}' is not one of the team's people")

    handoffs = []
    for handoff in spec.handoffs:
        people = tuple(k for k in (handoff.primary, handoff.secondary) if k)
        known(people, f"handoff {handoff.at}")
        handoffs.append((parse_handoff(handoff.at), people))
    starts = [start for start, _ in handoffs]
    if len(set(starts)) != len(starts):
        problems.append(f"{where}: two handoffs at the same time")
    overrides = []
    for override in spec.overrides:
        people = tuple(k for k in (override.primary, override.secondary) if k)
        known(people, f"override from {override.start:%Y-%m-%d %H:%M}")
        if override.end <= override.start:
            problems.append(f"{where}: override from {override.start:%Y-%m-%d %H:%M} ends before it starts")
        overrides.append((override.start.replace(tzinfo=None), override.end.replace(tzinfo=None), people,
                          override.reason))
    known(spec.escalation, "escalation")
    people = {key: Person(key, p.name, p.phone) for key, p in spec.people.items()}
    return Team(name=name, regions=tuple(spec.regions), timezone=spec.timezone, language=spec.language,
                people=people, handoffs=tuple(sorted(handoffs)), overrides=tuple(overrides),
                escalation=tuple(spec.escalation))


def _where(err: dict) -> str:
    loc = [str(part) for part in err["loc"]]
    if len(loc) >= 2 and loc[0] == "teams":
        return f"team '{loc[1]}'" + (f": {'.'.join(loc[2:])}" if loc[2:] else "")
    return ".".join(loc) or "file"
