"""One webhook's turn on one call: carrying out what the engine asked for.

Inside the webhook (its records gathered in a ledger, ivr/calls/ledger.py), each action the
engine returned goes to the capability that registered for its type (`registry.effects`): the
security capability rings the on-call agent for a Transfer, the queue puts the caller in a
desk's queue for a JoinQueue, and so on. A handler may answer the engine at once (`turn.answer`:
nobody left to ring, a full queue), leave a TwiML-level action for the reply (`turn.emit`), or
leave work for after the commit (`turn.after_commit`: what may only happen once the rows exist,
such as enqueueing a page). A handler that needs the database (`turn.db`) gets a session in which
the call's and ticket's rows exist; the webhook's records are then committed there, synchronously.
Actions nobody registered for (Say, Gather, Hangup ...) go to the reply as they are. Once all
are carried out, the `reply_ready` hook may add to the reply's start (the speech capability starts
or stops the call's urgency stream there).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ivr.calls.ledger import CallLedger
from ivr.calls.records import note, record_outcome
from ivr.core import engine
from ivr.core.actions import Gather
from ivr.core.events import Event
from ivr.core.flow import Flow
from ivr.core.running import Outcome
from ivr.core.state import CallState
from ivr.db.models import Call
from ivr.runtime import Runtime


@dataclass(frozen=True)
class AfterCommit:
    """Work for after the transaction commits; returns what the caller then hears (often nothing)."""

    work: Callable[[], list]


class Turn:
    def __init__(self, rt: Runtime, flow: Flow, records: CallLedger, call: Call, outcome: Outcome, now: datetime):
        self.rt, self.flow, self.records, self.call, self.now = rt, flow, records, call, now
        self.state: CallState = outcome.state
        self._pending = list(outcome.actions)
        self._reply: list = []

    @property
    def db(self) -> Session:
        """The database, for a capability whose rows refer to the call or its ticket."""
        return self.records.sql()

    def carry_out(self) -> tuple[CallState, list]:
        """Carry out every action (and those of the engine's answers to them). Returns the call's
        new state and the reply: TwiML-level actions and AfterCommit work, in order."""
        effects = self.rt.registry.effects
        while self._pending:
            action = self._pending.pop(0)
            handler = effects.get(type(action))
            if handler is None:
                self._reply.append(action)
            else:
                handler(self, action)
        self.rt.registry.reply_ready(self)
        return self.state, self._reply

    def answer(self, event: Event) -> None:
        """Give the engine an answer now (within this webhook) and carry out what it asks next."""
        outcome = engine.step(self.flow, self.state, event, self.now)
        record_outcome(self.records, self.call, outcome.state, outcome.actions, self.now)
        self.state = outcome.state
        self._pending[:0] = outcome.actions

    def emit(self, action) -> None:
        """An action for the reply (rendered as TwiML)."""
        self._reply.append(action)

    def lead_with(self, action) -> None:
        """An action for the very start of the reply (a stream started or stopped before anything is said)."""
        self._reply.insert(0, action)

    @property
    def asks(self) -> bool:
        """Whether the reply puts a question (a Gather) to the caller."""
        return any(isinstance(action, Gather) for action in self._reply)

    def after_commit(self, work: Callable[[], list]) -> None:
        self._reply.append(AfterCommit(work))

    def note(self, kind: str, **detail) -> None:
        note(self.records, self.call, kind, self.now, **detail)


def settle(reply: list) -> list:
    """After the commit: run the AfterCommit work in order, each replaced by what it returns."""
    out = []
    for action in reply:
        out.extend(action.work() if isinstance(action, AfterCommit) else [action])
    return out
