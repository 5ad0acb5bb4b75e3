"""The scorecard's automatic checks: what a call's timeline and path already say about a rubric
item, with the evidence, so the reviewer confirms a fact instead of hunting for it.

Each check answers yes, no, n/a (the item did not arise on this call) or unknown (the records do
not say), and says why in words.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ivr.core.flow import Flow
from ivr.db.models import CallEvent
from ivr.qa.rubrics import AutoCheck

YES, NO, NA, UNKNOWN = "yes", "no", "n/a", "unknown"


@dataclass(frozen=True)
class CallFacts:
    """What the checks read: the call's events in order, the steps it went through, its flow."""

    events: Sequence[CallEvent]
    path: tuple[str, ...] | None
    flow: Flow | None

    def first(self, *kinds: str) -> CallEvent | None:
        return next((e for e in self.events if e.kind in kinds), None)


@dataclass(frozen=True)
class Finding:
    outcome: str
    evidence: str


def run(check: AutoCheck, facts: CallFacts) -> Finding:
    return CHECKS[check.check](check, facts)


def prompt_played(check: AutoCheck, facts: CallFacts) -> Finding:
    """A step on the call's path speaks one of the prompts."""
    if facts.flow is None or facts.path is None:
        return Finding(UNKNOWN, "the call's path through its flow is not known")
    wanted = set(check.prompts)
    for name in facts.path:
        step = facts.flow.steps.get(name)
        spoken = wanted.intersection(getattr(step, "prompts", None) or ())
        if spoken:
            return Finding(YES, f"step {name} played {', '.join(sorted(spoken))}")
    return Finding(NO, f"no step on the call's path plays {' or '.join(check.prompts)}")


def consent_before_recording(check: AutoCheck, facts: CallFacts) -> Finding:
    """Recording started only after the caller agreed (or, in a one-party region, was told)."""
    recording = facts.first("recording_started", "recording_in-progress")
    agreed = facts.first("consent_given", "consent_notice")
    declined = facts.first("consent_declined")
    if recording is not None:
        if agreed is not None and agreed.id < recording.id:
            how = "told" if agreed.kind == "consent_notice" else f"agreed by {agreed.detail.get('method')}"
            return Finding(YES, f"the caller {how} before the recording started")
        return Finding(NO, "the recording started before the caller agreed")
    if declined is not None:
        return Finding(YES, f"the caller declined by {declined.detail.get('method')}; nothing was recorded")
    if agreed is not None:
        return Finding(YES, "the caller agreed; no recording was started")
    return Finding(NA, "the call never reached the consent question and nothing was recorded")


def issue_recognised(check: AutoCheck, facts: CallFacts) -> Finding:
    """The call found out what the caller needed: an intent heard (or confirmed), a menu choice
    setting the issue, or the urgent path."""
    for event in facts.events:
        detail = event.detail or {}
        if event.kind == "urgent":
            return Finding(YES, f"urgent path ({detail.get('trigger')}): straight to security")
        if event.kind in ("intent", "intent_confirmed") and detail.get("intent") not in (None, "other"):
            said = f" from “{detail['text']}”" if detail.get("text") else ""
            return Finding(YES, f"heard {detail['intent']}{said}")
        if event.kind == "menu" and (detail.get("set") or {}).get("issue"):
            return Finding(YES, f"chose {detail['set']['issue']} (key {detail.get('key')}) at {detail.get('step')}")
    if facts.first("gave_up") is not None:
        return Finding(NO, "the caller's issue was not found: the call gave up asking")
    return Finding(NA, "the call did not reach the question of what happened")


def reached_agent(check: AutoCheck, facts: CallFacts) -> Finding:
    names = agents(facts.events)
    if names:
        return Finding(YES, f"talked with {', '.join(names)}")
    if facts.first("queue_joined", "transfer_ringing") is not None:
        booked = facts.first("callback_booked", "callback_requested")
        return Finding(NO, "no agent took the call" + ("; a call back was booked" if booked else ""))
    return Finding(NA, "the call did not ask for an agent")


def agents(events: Sequence[CallEvent]) -> list[str]:
    """Who took the call: desk agents who talked with the caller, security agents who accepted."""
    ringing = {e.detail.get("attempt"): e.detail.get("agent") for e in events if e.kind == "transfer_ringing"}
    names: list[str] = []
    for event in events:
        detail = event.detail or {}
        if event.kind == "agent_conversation":
            name = detail.get("agent")
        elif event.kind == "transfer_attempt" and detail.get("outcome") == "accepted":
            name = ringing.get(detail.get("attempt")) or detail.get("agent")
        else:
            continue
        if name and name not in names:
            names.append(str(name))
    return names


CHECKS = {"prompt_played": prompt_played, "consent_before_recording": consent_before_recording,
          "issue_recognised": issue_recognised, "reached_agent": reached_agent}
