"""Running a flow from a step until it waits for the caller or ends, and the jump every question
allows: to the security fast path."""
from __future__ import annotations

from dataclasses import dataclass, replace

from ivr.core.actions import Action, Gather, LeaveQueue, Note, Say
from ivr.core.entering import ENTER
from ivr.core.events import Speech
from ivr.core.flow import Flow
from ivr.core.prompts import render, says_any, word_list
from ivr.core.state import CallState
from ivr.errors import EngineError

URGENT_SURE = 0.75  # an urgent guess below this is asked about ("press 9 or say yes") before acting

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
    # whatever question was open is closed, "press 9 or say yes" included: an answer (or silence)
    # on the security path belongs to the security path
    state = state.with_(waiting=False, attempts=0, urgent=trigger,
                        listening=replace(state.listening, checking_urgent=False))
    return run(flow, state.visiting(flow.urgent.start), [*(actions or []), *leaving, note])


def heard_urgent(flow: Flow, state: CallState, text: str, confidence: float, sure: float = URGENT_SURE,
                 detail: dict | None = None) -> Outcome:
    """The caller's words at a question name a takeover: sure, the security path at once; unsure,
    ask "It sounds like someone may have got into your account ... press 9 or say yes"."""
    state = state.with_(transcript=text)
    detail = {"step": state.step, "text": text, "intent": "account_takeover", "confidence": round(confidence, 2),
              **(detail or {})}
    if confidence >= sure:
        return go_urgent(flow, state, "speech", [Note("intent", detail)])
    lang = flow.language(state.language)
    question = Say(render(flow, state, flow.prompt(state.language, "confirm_urgent")), lang.say, lang.voice)
    gather = Gather(step=state.step, prompts=(question,), timeout=5,
                    speech_language=lang.speech if flow.cloud_speech and lang.speech else None)
    listening = replace(state.listening, checking_urgent=True)
    return Outcome((Note("urgent_unsure", detail), gather), state.with_(waiting=True, listening=listening))


def answer_urgent_check(flow: Flow, state: CallState, event) -> Outcome:
    """The answer to "press 9 or say yes" (9 itself is the urgent key, taken before this): yes, the
    security path; anything else, back to the question the caller was at."""
    state = state.with_(listening=replace(state.listening, checking_urgent=False))
    said_yes = isinstance(event, Speech) and (event.urgent or (
        says_any(event.text, word_list(flow, state, "words_yes"))
        and not says_any(event.text, word_list(flow, state, "words_no"))))
    if said_yes:
        return go_urgent(flow, state, "speech", [Note("urgent_confirmed", {"step": state.step})])
    note = Note("urgent_rejected", {"step": state.step, "method": type(event).__name__.lower()})
    current = flow.steps[state.step]
    new_state, actions, next_step = ENTER[type(current)](flow, state.with_(waiting=False), current)
    if new_state.waiting or new_state.ended:
        return Outcome((note, *actions), new_state)
    return run(flow, new_state.visiting(next_step), [note, *actions])
