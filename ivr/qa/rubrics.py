"""The scorecards' rubrics: flows/rubrics/<region>.yaml, or flows/rubrics/default.yaml for the
regions without their own, beside the flows and checked like them, each problem reported as
"<file>: <where>: <problem>".

    name: Standard call review
    scale: {0: Not done, 1: Partly, 2: Done}      # the scores a reviewer gives, lowest first
    items:
      - key: fraud_warning
        label: Fraud warning heard
        guide: The caller heard that staff never ask for passwords, seed phrases or codes.
        auto: {check: prompt_played, prompts: [fraud_warning, security_reminder]}
      - key: conduct
        label: Agent conduct
        agent_only: true                           # not applicable when no agent took the call

`auto` fills an item from the call's timeline where the facts are known (ivr/qa/checks.py).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ivr.core.steps import prompt_keys
from ivr.errors import FlowError
from ivr.flows.datafiles import relative, yaml_where
from ivr.flows.loader import FlowSet

RUBRICS_DIR = "rubrics"
DEFAULT = "default"
MAX_BYTES = 64_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AutoCheck(_Model):
    check: Literal["prompt_played", "consent_before_recording", "issue_recognised", "reached_agent"]
    prompts: list[str] = []  # prompt_played: any of these prompt keys

    @field_validator("prompts")
    @classmethod
    def _keys(cls, prompts: list[str]) -> list[str]:
        for key in prompts:
            if not key.replace("_", "").isalnum():
                raise ValueError(f"{key!r} is not a prompt key")
        return prompts


class RubricItem(_Model):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    label: str = Field(min_length=1, max_length=80)
    guide: str = Field(default="", max_length=400)
    weight: int = Field(default=1, ge=1, le=10)
    auto: AutoCheck | None = None
    agent_only: bool = False


class RubricFile(_Model):
    name: str = Field(min_length=1, max_length=80)
    scale: dict[int, str] = Field(min_length=2, max_length=11)
    items: list[RubricItem] = Field(min_length=1, max_length=30)

    @field_validator("scale")
    @classmethod
    def _scale(cls, scale: dict[int, str]) -> dict[int, str]:
        if min(scale) != 0 or max(scale) > 10:
            raise ValueError("scores run from 0 up to at most 10")
        return dict(sorted(scale.items()))


@dataclass(frozen=True)
class Rubric:
    source: str  # flows/rubrics/gb.yaml
    version: str  # the file's SHA-256, shortened: a score says which rubric it was given on
    spec: RubricFile

    @property
    def label(self) -> str:
        return f"{Path(self.source).stem}@{self.version}"

    @property
    def top(self) -> int:
        return max(self.spec.scale)

    def item(self, key: str) -> RubricItem | None:
        return next((item for item in self.spec.items if item.key == key), None)


@dataclass(frozen=True)
class Rubrics:
    by_region: Mapping[str, Rubric]
    default: Rubric | None

    def for_region(self, region: str | None) -> Rubric | None:
        return self.by_region.get(region or "", self.default)


def load_rubrics(flows_dir: Path, flows: FlowSet) -> Rubrics:
    """Every rubric under flows/rubrics/; FlowError listing every problem. No folder: no rubrics."""
    folder = Path(flows_dir) / RUBRICS_DIR
    loaded: dict[str, Rubric] = {}
    problems: list[str] = []
    regions = {flow.region: flow for flow in flows}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        rel = relative(path, Path(flows_dir))
        if path.stem != DEFAULT and path.stem not in regions:
            problems.append(f"{rel}: no region '{path.stem}' (a rubric is named for its region, or default.yaml)")
            continue
        try:
            rubric = _load(path, rel)
        except FlowError as exc:
            problems.extend(exc.problems)
            continue
        known = _prompt_keys(flows) if path.stem == DEFAULT else _prompt_keys([regions[path.stem]])
        problems.extend(_check_items(rubric, rel, known))
        loaded[path.stem] = rubric
    if problems:
        raise FlowError(problems)
    default = loaded.pop(DEFAULT, None)
    return Rubrics(by_region=MappingProxyType(loaded), default=default)


def _load(path: Path, rel: str) -> Rubric:
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise FlowError([f"{rel}: larger than {MAX_BYTES // 1000} kB"])
    try:
        raw = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise FlowError([f"{rel}: not valid YAML: {yaml_where(exc)}"]) from None
    if not isinstance(raw, dict):
        raise FlowError([f"{rel}: must be a mapping with name, scale and items"])
    if isinstance(raw.get("scale"), dict):
        unquoted = [f"{rel}: scale.{k}: write the label in quotes ('{'yes' if v else 'no'}'): YAML reads yes and no "
                    f"as true and false" for k, v in raw["scale"].items() if isinstance(v, bool)]
        if unquoted:
            raise FlowError(unquoted)
    try:
        spec = RubricFile.model_validate(raw)
    except ValidationError as exc:
        raise FlowError([f"{rel}: {_where(err['loc'], raw)}: {err['msg']}" for err in exc.errors()]) from None
    return Rubric(source=rel, version=hashlib.sha256(data).hexdigest()[:12], spec=spec)


def _where(loc: tuple, raw: dict) -> str:
    """'items.2 (fraud_warning).auto.check' rather than pydantic's bare numbers."""
    parts = []
    for index, part in enumerate(loc):
        parts.append(str(part))
        if index == 1 and loc[0] == "items" and isinstance(part, int):
            items = raw.get("items") or []
            key = items[part].get("key") if part < len(items) and isinstance(items[part], dict) else None
            parts[-1] = f"{part + 1} ({key})" if key else str(part + 1)
    return ".".join(parts) or "file"


def _check_items(rubric: Rubric, rel: str, known_prompts: set[str]) -> list[str]:
    problems, seen = [], set()
    for number, item in enumerate(rubric.spec.items, start=1):
        where = f"{rel}: items.{number} ({item.key})"
        if item.key in seen:
            problems.append(f"{where}: key '{item.key}' is used twice")
        seen.add(item.key)
        if item.auto and item.auto.check == "prompt_played":
            if not item.auto.prompts:
                problems.append(f"{where}: auto: prompt_played needs prompts: [the prompt keys to look for]")
            for key in item.auto.prompts:
                if key not in known_prompts:
                    problems.append(f"{where}: auto: no step of the flow speaks prompt '{key}'")
        elif item.auto and item.auto.prompts:
            problems.append(f"{where}: auto: {item.auto.check} takes no prompts")
    return problems


def _prompt_keys(flows) -> set[str]:
    return {key for flow in flows for step in flow.steps.values() for key in prompt_keys(step)}
