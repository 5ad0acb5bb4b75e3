"""What the QA pages know about a call beyond its rows: the path it took through its region's
flow, and the facts the scorecard's automatic checks read."""
from __future__ import annotations

from ivr.calls.store import CallStore
from ivr.db.models import Call
from ivr.qa.checks import CallFacts
from ivr.qa.diagrams import exit_label
from ivr.runtime import Runtime

PATH_FROM_NOTES = ("route", "menu", "key", "no_input", "invalid_choice", "gave_up", "intent", "queue_left")


def call_facts(rt: Runtime, call: Call) -> tuple[CallFacts, str | None]:
    """What the automatic checks read, and how the path is known."""
    flow = rt.flows.flows.get(call.region or "")
    path, source = _path(rt, call)
    return CallFacts(events=list(call.events), path=path, flow=flow), source


def _path(rt: Runtime, call: Call) -> tuple[tuple[str, ...] | None, str | None]:
    """The steps the call went through: from the engine's note at its end, from its live state while
    it goes on, else pieced together from the steps its menus and routes name (partial)."""
    ends = [e for e in call.events if e.kind == "end" and (e.detail or {}).get("path")]
    if ends:
        return tuple(ends[-1].detail["path"]), "the call's end"
    if call.ended_at is None:
        state = rt.service(CallStore).load(call.call_sid)
        if state is not None and state.path:
            return state.path, "the call in progress"
    steps: list[str] = []
    for event in call.events:
        step = (event.detail or {}).get("step") if event.kind in PATH_FROM_NOTES else None
        if step and (not steps or steps[-1] != step):
            steps.append(step)
    return (tuple(steps), "its menus and routes (partial)") if steps else (None, None)


def branches_taken(facts: CallFacts) -> set[tuple[str, str]]:
    """(step, branch label) for each choice the timeline records: a route's branch, a key pressed,
    the consent answer; so the drawing marks the branch taken where two lead to the same step."""
    if facts.flow is None:
        return set()
    steps = facts.flow.steps
    consent_step = next((name for name in facts.path or () if getattr(steps.get(name), "kind", "") == "consent"), None)
    taken = set()
    for event in facts.events:
        detail = event.detail or {}
        step = detail.get("step")
        if event.kind == "route" and step in steps:
            branch = detail.get("branch")
            label = exit_label(steps[step], index=branch if isinstance(branch, int) else None)
        elif event.kind in ("menu", "key") and step in steps and detail.get("key"):
            label = exit_label(steps[step], key=str(detail["key"]))
        elif event.kind in ("consent_given", "consent_declined", "consent_notice") and consent_step:
            step, label = consent_step, exit_label(steps[consent_step], outcome=event.kind.removeprefix("consent_"))
        else:
            continue
        if label:
            taken.add((step, label))
    return taken
