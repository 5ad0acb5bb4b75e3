"""The pure step machine: (flow, call state, event, now) -> (actions, new state).

No Flask, Twilio, Redis, database or clock in here (the import contracts in pyproject.toml keep it
so). The calls capability feeds events in and turns the returned actions into records and TwiML.
Entering steps is in `entering`, answering questions in `answers`, the run loop and the urgent
jump in `running`, the words a caller hears in `prompts`.
"""
from __future__ import annotations

from datetime import datetime

from ivr.core.actions import Note
from ivr.core.answers import answer
from ivr.core.events import (
    CallbackBooked,
    CallEnded,
    CallStarted,
    Digits,
    Event,
    Heard,
    NoInput,
    QueueLeft,
    Speech,
    TransferEnded,
)
from ivr.core.flow import Flow
from ivr.core.running import Outcome, answer_urgent_check, go_urgent, heard_urgent, run
from ivr.core.state import CallState
from ivr.errors import EngineError

__all__ = ["Outcome", "go_urgent", "new_call", "step"]


def new_call(flow: Flow, call_sid: str, **vars: str) -> CallState:
    """The state of a call that has not been answered yet."""
    return CallState(call_sid=call_sid, region=flow.region, flow_version=flow.version,
                     language=flow.language_codes[0]).with_vars(**vars)


def step(flow: Flow, state: CallState, event: Event, now: datetime) -> Outcome:
    """Apply one event to a call and run the flow until it needs input or ends."""
    if state.ended:
        return Outcome((), state)
    match event:
        case CallStarted():
            return _start(flow, state, now)
        case CallEnded(status=status):
            note = Note("end", {"status": status, "step": state.step, "waiting": state.waiting,
                                "path": list(state.path)})
            return Outcome((note,), state.with_(ended=True, waiting=False))
        case Digits() | Speech() | NoInput() | TransferEnded() | Heard() | QueueLeft() | CallbackBooked():
            if not state.waiting or state.step not in flow.steps:
                raise EngineError(f"call {state.call_sid}: input arrived but no question is open")
            if _is_urgent_key(flow, state, event):
                return go_urgent(flow, state, "keypad")
            if state.listening.checking_urgent:
                return answer_urgent_check(flow, state, event)
            if isinstance(event, Speech) and event.urgent and flow.urgent is not None and state.urgent is None:
                return heard_urgent(flow, state, event.text, event.intent_confidence)  # at any question
            return answer(flow, state, event)
    raise EngineError(f"unknown event {event!r}")


def _start(flow: Flow, state: CallState, now: datetime) -> Outcome:
    hours = flow.hours.status_at(now)
    state = state.with_(hours=hours.state).with_vars(holiday=hours.holiday or "")
    notes = [Note("region", {"region": flow.region, "flow_version": flow.version}),
             Note("hours", {"state": hours.state, "holiday": hours.holiday,
                            "local_time": now.astimezone(flow.hours.zone).isoformat(timespec="minutes")})]
    if flow.urgent and state.vars.get("security_ticket"):  # a caller already on an open security ticket
        return go_urgent(flow, state, "repeat_caller", notes)
    return run(flow, state.visiting(flow.start), notes)


def _is_urgent_key(flow: Flow, state: CallState, event: Event) -> bool:
    return (flow.urgent is not None and isinstance(event, Digits) and event.digits[:1] == flow.urgent.key
            and state.urgent is None and state.offer.stage != "keyin")  # a keyed-in number may start with 9
