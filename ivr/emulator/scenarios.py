"""Scenario files: a scripted call and what it must show, kept in a folder a support team owns.

    name: Spanish caller declines recording and is handed to an agent
    call: {to: "+14155550100", from: "+14155550123", at: "2026-11-24T10:00"}
    caller: [{press: 2}, {press: 2}, {press: 6}]
    expect:
      heard: ["Su número de ticket es"]
      recording: false
      ticket: {status: awaiting_agent, category: withdrawal}
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ivr.emulator.script import Agent, CallerAction, HangUp, Press, Silence, Speak
from ivr.errors import ScenarioError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CallSpec(_Model):
    to: str
    from_: str = Field(default="+15005550123", alias="from")
    at: str | None = None  # local time in the region, e.g. 2026-11-24T10:00; in-process runs only
    params: dict[str, str] = {}  # extra Twilio parameters, e.g. StirVerstat


class TicketExpect(_Model):
    status: str | None = None
    category: str | None = None
    priority: str | None = None


class CallbackExpect(_Model):
    """The call back booked on the call (the caller's newest), after any call backs were placed."""

    status: Literal["pending", "calling", "completed", "failed", "cancelled"] | None = None
    number: str | None = None
    attempts: int | None = None
    due: str | None = None  # local time it is (or was last) due, e.g. 2026-12-29T08:00
    heard: list[str] = []  # what the person called back heard, over every attempt, in order
    connected_to: str | None = None  # the agent the call back reached


class Expect(_Model):
    heard: list[str] = []  # fragments the caller hears, in this order
    not_heard: list[str] = []
    language: str | None = None
    consent: Literal["given", "declined", "notice"] | None = None
    recording: bool | None = None
    ticket: TicketExpect | Literal["none"] | None = None
    path: list[str] = []  # steps the call passes, in this order (others may come between)
    ended_by: Literal["ivr-hangup", "caller-hangup", "no-more-verbs", "stock-error"] | None = None
    connected_to: str | None = None  # the number the caller was bridged to (an agent), or "nobody"
    callback: CallbackExpect | Literal["none"] | None = None


class DeskPreset(_Model):
    """The region's queue as the call finds it (in-process runs only)."""

    busy: list[str] | Literal["all"] = []  # agents (their numbers) on other calls, or all of them
    waiting: int = Field(default=0, ge=0, le=500)  # callers already waiting, ahead of this one
    handle_seconds: list[int] = []  # how long the desk's recent conversations lasted


class EarlierCall(_Model):
    """A call the same caller made before this one (not checked), e.g. one that booked a call back."""

    at: str | None = None
    caller: list[str | dict] = []
    agents: dict[str, list[str | dict]] = {}


class ScenarioFile(_Model):
    name: str
    call: CallSpec
    caller: list[str | dict] = []
    agents: dict[str, list[str | dict]] = {}
    desk: DeskPreset | None = None
    before: list[EarlierCall] = []
    callbacks: bool = False  # after the call, place the call backs it booked as they fall due
    expect: Expect = Expect()

    @field_validator("caller")
    @classmethod
    def _caller(cls, items):
        for item in items:
            caller_action(item)
        return items

    @field_validator("agents")
    @classmethod
    def _agents(cls, agents):
        for items in agents.values():
            for item in items:
                agent(item)
        return agents


@dataclass(frozen=True)
class Scenario:
    path: Path | None
    spec: ScenarioFile

    @property
    def name(self) -> str:
        return self.spec.name

    def script(self) -> list[CallerAction]:
        return [caller_action(item) for item in self.spec.caller]

    def agents(self) -> dict[str, list[Agent]]:
        return {number: [agent(item) for item in items] for number, items in self.spec.agents.items()}

    def earlier(self) -> list[tuple[str | None, list[CallerAction], dict[str, list[Agent]]]]:
        return [(e.at, [caller_action(i) for i in e.caller], {n: [agent(i) for i in items] for n, items in
                                                              e.agents.items()}) for e in self.spec.before]


def caller_action(item: str | dict) -> CallerAction:
    """`silence`, `hangup`, {press: "12#"}, {say: "text"} or {say: {text, language, wav}}."""
    if item == "silence":
        return Silence()
    if item == "hangup":
        return HangUp()
    if isinstance(item, dict) and len(item) == 1:
        (kind, value), = item.items()
        if kind == "press" and str(value) and all(ch in "0123456789*#" for ch in str(value)):
            return Press(str(value))
        if kind == "say" and isinstance(value, str) and value.strip():
            return Speak(value)
        if kind == "say" and isinstance(value, dict) and set(value) <= {"text", "language", "wav"} and \
                (value.get("text") or value.get("wav")):
            wav = Path(value["wav"]) if value.get("wav") else None
            return Speak(value.get("text", ""), language=value.get("language"), wav=wav)
    raise ValueError(f"{item!r} is not a caller action: use silence, hangup, {{press: \"1\"}} or {{say: \"...\"}}")


def agent(item: str | dict) -> Agent:
    """`answer` (and press 1), `no-answer`, `busy`, `silent` (answers, presses nothing), `machine`
    (an answering machine), or {answer: answer, presses: ["1"], talk_seconds: 60}."""
    shortcuts = {"answer": Agent(), "no-answer": Agent(answer="no-answer"), "busy": Agent(answer="busy"),
                 "silent": Agent(presses=()), "machine": Agent(answer="machine", presses=())}
    if isinstance(item, str) and item in shortcuts:
        return shortcuts[item]
    if isinstance(item, dict) and set(item) <= {"answer", "presses", "talk_seconds"}:
        return Agent(answer=item.get("answer", "answer"), presses=tuple(str(k) for k in item.get("presses", ["1"])),
                     talk_seconds=int(item.get("talk_seconds", 60)))
    raise ValueError(f"{item!r} is not an agent: use answer, no-answer, busy, silent, machine or "
                     f"{{answer: ..., presses: [...]}}")


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping with name, call, caller and expect")
    try:
        return Scenario(path=path, spec=ScenarioFile.model_validate(data))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}" for err in exc.errors())
        raise ScenarioError(f"{path}: {problems}") from None


def load_scenarios(target: Path) -> list[Scenario]:
    """One file, or every *.yaml under a folder (sorted)."""
    if target.is_dir():
        paths = sorted(p for p in target.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))
        if not paths:
            raise ScenarioError(f"{target}: no scenario files (*.yaml) found")
        return [load_scenario(p) for p in paths]
    return [load_scenario(target)]
