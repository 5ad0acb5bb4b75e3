"""A live call's state: where it is in its flow, and the engine's own bookkeeping as typed fields.

`vars` holds the flow's variables only: what a flow file can read in a route condition or a
prompt (`ticket`, `issue`, `intent`, `caller`, `callback_minutes` ...) and what its menus `set:`.
Everything the engine needs to remember between two webhooks of one step (listen attempts, the
call back offer's stage, the transfer chain, the queue place) is a field of its own.
Plain frozen data, JSON round-trippable.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from types import MappingProxyType

MAX_PATH = 200


@dataclass(frozen=True)
class Listening:
    """A listen step in progress. `attempt` counts descriptions asked for (None: not listening)."""

    attempt: int | None = None
    confirming: bool = False  # "It sounds like ... is that right?" is out
    intent: str | None = None  # what was heard, while it is being confirmed
    issue: str | None = None  # the keypad menu's name for that intent
    mode: str | None = None  # how the app hears the caller: stream, record or cloud
    checking_urgent: bool = False  # "It sounds like someone may have got into your account ..." is out


@dataclass(frozen=True)
class CallbackOffer:
    """A call back offer in progress: `stage` confirm (the calling number), keyin (a number keyed
    in) or booking (waiting for the app to book it); `source` queue, overflow or closed."""

    stage: str | None = None
    source: str | None = None
    number: str | None = None  # the number being booked, E.164


@dataclass(frozen=True)
class TransferProgress:
    """A warm transfer down the on-call chain: the attempt out now (from 0), the team and the chain
    of people (rota keys), fixed at the first attempt."""

    attempt: int | None = None
    team: str | None = None
    chain: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueuePlace:
    """The queue step the caller waits at, and the desk whose queue the app put them in."""

    step: str | None = None
    desk: str | None = None


_PARTS = {"listening": Listening, "offer": CallbackOffer, "transfer": TransferProgress, "queue": QueuePlace}


@dataclass(frozen=True)
class CallState:
    call_sid: str
    region: str
    flow_version: str
    language: str
    step: str | None = None
    waiting: bool = False  # True while a question for `step` is out
    attempts: int = 0  # wrong or empty answers at the current step
    consent: str | None = None  # "given", "declined" or "notice"
    recording: bool = False
    hours: str | None = None  # "open", "closed" or "holiday", decided when the call starts
    urgent: str | None = None  # what sent the call to the security path: keypad, speech, repeat_caller
    transcript: str = ""  # the caller's last description, as recognised
    listening: Listening = Listening()
    offer: CallbackOffer = CallbackOffer()
    transfer: TransferProgress = TransferProgress()
    queue: QueuePlace = QueuePlace()
    vars: Mapping[str, str] = field(default_factory=dict)
    path: tuple[str, ...] = ()
    ended: bool = False

    def with_(self, **changes) -> CallState:
        return replace(self, **changes)

    def with_vars(self, **values: str) -> CallState:
        return replace(self, vars=MappingProxyType({**self.vars, **values}))

    def visiting(self, step: str) -> CallState:
        return replace(self, step=step, waiting=False, attempts=0, path=(self.path + (step,))[-MAX_PATH:])

    def to_json(self) -> str:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.update({name: asdict(getattr(self, name)) for name in _PARTS})
        data["vars"] = dict(self.vars)
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> CallState:
        data = json.loads(text)
        data["vars"] = MappingProxyType(data.get("vars", {}))
        data["path"] = tuple(data.get("path", ()))
        for name, kind in _PARTS.items():
            part = dict(data.get(name) or {})
            if "chain" in part:
                part["chain"] = tuple(part["chain"])
            data[name] = kind(**part)
        return cls(**data)
