"""Support desks: who answers each region's queue. One file per desk in flows/desks/, named for the
queue (`support-gb.yaml` is the queue `support-gb`), checked like the flows: "<file>: <problem>".

    regions: [gb]
    agents:
      olivia: {name: Olivia Brown, phone: "+447400900301"}
    handle_seconds: 300   # assumed conversation length until the desk has its own history
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ivr.core.checks import check_e164

DESKS_DIR = "desks"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")  # a Twilio queue name and a Redis key part


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentSpec(_Model):
    name: str
    phone: str

    _e164 = field_validator("phone")(check_e164)


class DeskFile(_Model):
    regions: list[str] = Field(min_length=1)
    agents: dict[str, AgentSpec] = Field(min_length=1)
    handle_seconds: int = Field(default=300, ge=30, le=7200)


@dataclass(frozen=True)
class Agent:
    key: str
    name: str
    phone: str


@dataclass(frozen=True)
class Desk:
    """A queue and the agents who answer it, in the hours of the regions it serves."""

    name: str
    regions: tuple[str, ...]
    agents: tuple[Agent, ...]
    handle_seconds: int

    def agent(self, key: str) -> Agent | None:
        return next((a for a in self.agents if a.key == key), None)


@dataclass(frozen=True)
class Desks:
    by_name: Mapping[str, Desk]

    def for_region(self, region: str) -> Desk | None:
        return next((d for d in self.by_name.values() if region in d.regions), None)

    def __iter__(self):
        return iter(self.by_name.values())

    def get(self, name: str) -> Desk | None:
        return self.by_name.get(name)


def load_desks(flows_dir: Path, regions: set[str] | None = None) -> tuple[Desks, list[str]]:
    """Read and check flows/desks/*.yaml. `regions` (those whose flows queue callers) must each
    have exactly one desk. Returns the desks and every problem found."""
    folder = Path(flows_dir) / DESKS_DIR
    problems: list[str] = []
    desks: dict[str, Desk] = {}
    covered: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        rel = f"{Path(flows_dir).name}/{DESKS_DIR}/{path.name}"
        desk = _load(path, rel, problems)
        if desk is None:
            continue
        for region in desk.regions:
            if region in covered:
                problems.append(f"{rel}: region '{region}' is also served by desk '{covered[region]}'")
            covered[region] = desk.name
        desks[desk.name] = desk
    uncovered = set() if problems else (regions or set()) - set(covered)  # a broken file may be the one
    for region in sorted(uncovered):
        problems.append(f"{Path(flows_dir).name}/{DESKS_DIR}/: region '{region}' queues callers but no desk "
                        f"serves it: add flows/{DESKS_DIR}/support-{region}.yaml")
    return Desks(MappingProxyType(desks)), problems


def _load(path: Path, rel: str, problems: list[str]) -> Desk | None:
    name = path.stem
    if not _NAME.match(name):
        problems.append(f"{rel}: the file name is the queue's name: lower-case letters, digits and '-' only")
        return None
    try:
        loaded = yaml.safe_load(path.read_bytes())
    except yaml.YAMLError as exc:
        problems.append(f"{rel}: not valid YAML: {exc}")
        return None
    try:
        spec = DeskFile.model_validate(loaded if isinstance(loaded, dict) else {})
    except ValidationError as exc:
        problems.extend(f"{rel}: {'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"
                        for err in exc.errors())
        return None
    agents = tuple(Agent(key, a.name, a.phone) for key, a in spec.agents.items())
    return Desk(name=name, regions=tuple(spec.regions), agents=agents, handle_seconds=spec.handle_seconds)
