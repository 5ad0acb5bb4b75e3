"""One call, as a reviewer opens it: its ticket and the ticket's other calls, the consent (method
and time), the timeline in words, the path it took through its region's flow (drawn, with that
path highlighted), the agents who took it, and its scorecard. Opening it is audited; a reviewer
whose role or regions do not cover it is refused, and that is audited too.

Its stored recordings come with it (ivr/qa/listening.py): the player's audio (both channels) and
the redacted transcript with word timings; and, for admins, the ticket's legal hold.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Call
from ivr.errors import DiagramUnavailable
from ivr.qa import audit, reviewers
from ivr.qa.access import call_for
from ivr.qa.audit import Actor
from ivr.qa.checks import agents
from ivr.qa.diagrams import FlowDrawings
from ivr.qa.facts import branches_taken, call_facts
from ivr.qa.listening import RecordingView, recordings_of
from ivr.qa.masking import mask_number
from ivr.qa.reviewers import Reviewer
from ivr.qa.rubrics import Rubrics
from ivr.qa.scores import Scorecard, scorecard
from ivr.qa.timeline import TimelineEntry, timeline
from ivr.runtime import Runtime


@dataclass(frozen=True)
class TicketSummary:
    reference: str
    status: str
    category: str | None
    priority: str
    created_at: datetime
    legal_hold: dict | None  # {by, at, reason} while held


@dataclass(frozen=True)
class OtherCall:
    id: int
    started_at: datetime
    status: str
    duration_seconds: int | None
    consent: str | None


@dataclass(frozen=True)
class ConsentView:
    outcome: str
    method: str
    policy: str
    language: str
    prompt_version: str
    at: datetime


@dataclass(frozen=True)
class CallReview:
    id: int
    call_sid: str
    region: str | None
    region_name: str | None
    language: str | None
    direction: str | None
    caller: str  # masked
    caller_country: str | None
    stir_verstat: str | None
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: int | None
    status: str
    consent: str | None
    flow_version: str | None
    current_flow_version: str | None
    security: bool
    ticket: TicketSummary | None
    other_calls: list[OtherCall]
    consents: list[ConsentView]
    timeline: list[TimelineEntry]
    path: tuple[str, ...]
    path_source: str | None  # how the path is known: "the call's end", "the call in progress", "its menus and routes"
    diagram: str | None  # inline SVG
    diagram_problem: str | None
    agents: list[str]
    scorecard: Scorecard
    recordings: list[RecordingView]


def open_call(rt: Runtime, reviewer: Reviewer, call_id: int, actor: Actor) -> CallReview:
    """The call for review; AccessRefused (audited) if the reviewer may not see it, UnknownCall if
    there is no such call (audited too)."""
    with rt.sessions() as db:
        call = call_for(rt, db, reviewer, call_id, actor)
        audit.write(rt, "call_view", actor, f"call:{call.id}",
                     ticket=call.ticket.reference if call.ticket else None, region=call.region)
        return _review(rt, db, reviewer, call)


def _review(rt: Runtime, db: Session, reviewer: Reviewer, call: Call) -> CallReview:
    facts, path_source = call_facts(rt, call)
    flow = facts.flow
    diagram, problem = None, None
    if flow is not None:
        try:
            diagram = rt.service(FlowDrawings).svg(flow, facts.path or (), branches_taken(facts))
        except DiagramUnavailable as exc:
            problem = str(exc)
    ticket = call.ticket
    return CallReview(
        id=call.id, call_sid=call.call_sid, region=call.region, region_name=flow.name if flow else None,
        language=call.language, direction=call.direction, caller=mask_number(call.from_number, call.caller_withheld),
        caller_country=call.caller_country, stir_verstat=call.stir_verstat, started_at=call.started_at,
        ended_at=call.ended_at, duration_seconds=call.duration_seconds, status=call.status, consent=call.consent,
        flow_version=call.flow_version, current_flow_version=flow.version if flow else None,
        security=reviewers.is_security(ticket.priority if ticket else None),
        ticket=TicketSummary(ticket.reference, ticket.status, ticket.category, ticket.priority, ticket.created_at,
                             ticket.legal_hold)
        if ticket else None,
        other_calls=_other_calls(db, call),
        consents=[ConsentView(c.outcome, c.method, c.policy, c.language, c.prompt_version, c.at)
                  for c in call.consents],
        timeline=timeline(facts.events, call.started_at),
        path=facts.path or (), path_source=path_source, diagram=diagram, diagram_problem=problem,
        agents=agents(facts.events),
        scorecard=scorecard(db, rt.service(Rubrics), call, facts, reviewer),
        recordings=recordings_of(db, reviewer, call))


def _other_calls(db: Session, call: Call) -> list[OtherCall]:
    if call.ticket_id is None:
        return []
    others = db.scalars(select(Call).where(Call.ticket_id == call.ticket_id, Call.id != call.id)
                        .order_by(Call.started_at).limit(100))
    return [OtherCall(c.id, c.started_at, c.status, c.duration_seconds, c.consent) for c in others]
