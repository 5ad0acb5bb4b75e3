"""Running a flow from a step until it waits for the caller or ends, and the jump every question
allows: to the security fast path."""
from __future__ import annotations

from dataclasses import dataclass

from ivr.core.actions import Action, LeaveQueue, Note
from ivr.core.entering import ENTER
from ivr.core.flow import Flow
from ivr.core.state import CallState
from ivr.errors import EngineError

MAX_TRANSITIONS = 100  # steps run for one event before we call it a loop


@dataclass(frozen=True)
class Outcome:
    actions: tuple[Action, ...]
    state: CallState

    @property
    def waiting(self) -> bool:
        return self.state.waiting


def run(flow: Flow, state: CallState, actions: list[Action]) -> Outcome:
    """Execute steps from state.step until one waits for the caller or the call ends."""
    for _ in range(MAX_TRANSITIONS):
        current = flow.steps[state.step]
        state, produced, next_step = ENTER[type(current)](flow, state, current)
        actions.extend(produced)
        if state.waiting or state.ended:
            return Outcome(tuple(actions), state)
        state = state.visiting(next_step)
    raise EngineError(f"{flow.source}: step '{state.step}': the flow loops without asking the caller anything")


def go_urgent(flow: Flow, state: CallState, trigger: str, actions: list[Action] | None = None) -> Outcome:
    """Leave whatever the caller was doing for the security fast path (hours do not apply to it)."""
    if flow.urgent is None:
        raise EngineError(f"{flow.source}: this region has no urgent path")
    leaving = [LeaveQueue(state.queue.desk)] if state.queue.desk else []
    note = Note("urgent", {"trigger": trigger, "from_step": state.step})
    state = state.with_(waiting=False, attempts=0, urgent=trigger)
    return run(flow, state.visiting(flow.urgent.start), [*(actions or []), *leaving, note])
