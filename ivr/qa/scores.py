"""Scorecards: a call scored on its region's rubric, one scorecard per reviewer and call (saving
again updates it). Items with an automatic check come filled in from the timeline; the reviewer
confirms or corrects them, scores the rest, and may comment on each. Scores are listed per agent
and region, for what the reviewer may see.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ivr.db.models import Call, QaScore, Ticket
from ivr.errors import ScoreError
from ivr.qa import audit
from ivr.qa.access import call_for
from ivr.qa.audit import Actor
from ivr.qa.checks import NA, NO, YES, CallFacts, Finding, agents, run
from ivr.qa.facts import call_facts
from ivr.qa.reviewers import SECURITY_PRIORITY, Reviewer
from ivr.qa.rubrics import Rubric, Rubrics
from ivr.runtime import Runtime

MAX_COMMENT = 2000  # characters, each item's comment and the overall one


@dataclass(frozen=True)
class ItemView:
    key: str
    label: str
    guide: str
    weight: int
    applies: bool  # False: an agent-only item on a call no agent took
    finding: Finding | None  # the automatic check's answer
    chosen: str  # "" (not yet), "na", or a score
    comment: str


@dataclass(frozen=True)
class ScoreSummary:
    call_id: int
    reviewer: str
    region: str
    agent: str | None
    points: int
    max_points: int
    rubric: str
    updated_at: datetime

    @property
    def percent(self) -> int | None:
        return round(100 * self.points / self.max_points) if self.max_points else None


@dataclass(frozen=True)
class Scorecard:
    rubric: Rubric | None
    scale: list[tuple[int, str]]
    items: list[ItemView]
    agents: list[str]
    agent: str | None
    comment: str
    mine: ScoreSummary | None
    others: list[ScoreSummary]


@dataclass(frozen=True)
class AgentScores:
    region: str
    agent: str | None
    reviews: int
    points: int
    max_points: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.points / self.max_points) if self.max_points else None


def scorecard(db: Session, rubrics: Rubrics, call: Call, facts: CallFacts, reviewer: Reviewer) -> Scorecard:
    rubric = rubrics.for_region(call.region)
    saved = db.scalars(select(QaScore).where(QaScore.call_id == call.id).order_by(QaScore.updated_at)).all()
    mine = next((s for s in saved if s.reviewer == reviewer.name), None)
    took = agents(facts.events)
    if rubric is None:
        return Scorecard(None, [], [], took, None, "", _summary(mine) if mine else None,
                         [_summary(s) for s in saved if s is not mine])
    items = []
    for item in rubric.spec.items:
        applies = not (item.agent_only and not took)
        finding = run(item.auto, facts) if item.auto else None
        kept = (mine.items or {}).get(item.key, {}) if mine else {}
        chosen = _kept_choice(kept) if mine else _suggested(finding, applies, rubric.top)
        items.append(ItemView(item.key, item.label, item.guide, item.weight, applies, finding, chosen,
                              kept.get("comment", "")))
    return Scorecard(rubric=rubric, scale=list(rubric.spec.scale.items()), items=items, agents=took,
                     agent=mine.agent if mine else (took[-1] if took else None), comment=mine.comment if mine else "",
                     mine=_summary(mine) if mine else None, others=[_summary(s) for s in saved if s is not mine])


def save(rt: Runtime, reviewer: Reviewer, call_id: int, form: Mapping[str, str], actor: Actor) -> ScoreSummary:
    """Check and keep a reviewer's scorecard for a call. ScoreError names what is missing or wrong."""
    now = rt.clock()
    with rt.sessions() as db:
        call = call_for(rt, db, reviewer, call_id, actor)
        facts, _ = call_facts(rt, call)
        card = scorecard(db, rt.service(Rubrics), call, facts, reviewer)
        if card.rubric is None:
            raise ScoreError(f"region {call.region} has no rubric (flows/rubrics/{call.region}.yaml or default.yaml)")
        items, points, top = _read(card, form)
        agent = form.get("agent") or None
        if agent is not None and agent not in card.agents:
            raise ScoreError(f"agent: {agent!r} did not take this call")
        comment = _comment(form.get("comment", ""), "overall comment")
        region, ticket_id = call.region or "", call.ticket_id
    audit.write(rt, "score", actor, f"call:{call_id}", rubric=card.rubric.label, points=points,
                 max_points=top, agent=agent)
    with rt.sessions.begin() as db:
        score = db.scalars(select(QaScore).where(QaScore.call_id == call_id,
                                                 QaScore.reviewer == reviewer.name)).first()
        if score is None:
            score = QaScore(call_id=call_id, reviewer=reviewer.name, created_at=now)
            db.add(score)
        score.ticket_id, score.region, score.agent, score.rubric = ticket_id, region, agent, card.rubric.label
        score.items, score.points, score.max_points, score.comment, score.updated_at = items, points, top, comment, now
        db.flush()
        return _summary(score)


def _read(card: Scorecard, form: Mapping[str, str]) -> tuple[dict, int, int]:
    allowed = {str(value) for value, _ in card.scale}
    items, points, top = {}, 0, 0
    for item in card.items:
        raw = (form.get(f"score_{item.key}") or "").strip()
        comment = _comment(form.get(f"comment_{item.key}", ""), item.label)
        if not item.applies:
            raw = "na"
        elif raw != "na" and raw not in allowed:
            raise ScoreError(f"{item.label}: choose a score ({', '.join(sorted(allowed))}) or n/a")
        kept = {"score": None if raw == "na" else int(raw), "comment": comment}
        if item.finding:
            kept.update(auto=item.finding.outcome, evidence=item.finding.evidence)
        items[item.key] = kept
        if raw != "na":
            points += int(raw) * item.weight
            top += card.rubric.top * item.weight
    return items, points, top


def _comment(text: str, what: str) -> str:
    text = (text or "").replace("\x00", "").strip()
    if len(text) > MAX_COMMENT:
        raise ScoreError(f"{what}: a comment is at most {MAX_COMMENT} characters")
    return text


def _suggested(finding: Finding | None, applies: bool, top: int) -> str:
    if not applies:
        return "na"
    if finding is None:
        return ""
    return {YES: str(top), NO: "0", NA: "na"}.get(finding.outcome, "")


def _kept_choice(kept: dict) -> str:
    if not kept:
        return ""
    return "na" if kept.get("score") is None else str(kept["score"])


def _summary(score: QaScore) -> ScoreSummary:
    return ScoreSummary(score.call_id, score.reviewer, score.region, score.agent, score.points, score.max_points,
                        score.rubric, score.updated_at)


def _visible(reviewer: Reviewer, query):
    query = query.join(Call, QaScore.call_id == Call.id).outerjoin(Ticket, Call.ticket_id == Ticket.id)
    if not reviewer.every_region:
        query = query.where(QaScore.region.in_(reviewer.regions))
    if not reviewer.sees_security:
        query = query.where(or_(Ticket.priority.is_(None), Ticket.priority != SECURITY_PRIORITY))
    return query


def by_agent_and_region(db: Session, reviewer: Reviewer) -> list[AgentScores]:
    query = _visible(reviewer, select(QaScore.region, QaScore.agent, func.count(QaScore.id),
                                      func.sum(QaScore.points), func.sum(QaScore.max_points)))
    rows = db.execute(query.group_by(QaScore.region, QaScore.agent).order_by(QaScore.region, QaScore.agent))
    return [AgentScores(region, agent, count, int(points or 0), int(top or 0)) for region, agent, count, points, top
            in rows]


def recent(db: Session, reviewer: Reviewer, limit: int = 50) -> list[ScoreSummary]:
    query = _visible(reviewer, select(QaScore)).order_by(QaScore.updated_at.desc(), QaScore.id.desc()).limit(limit)
    return [_summary(score) for score in db.scalars(query)]


def scores_page(rt: Runtime, reviewer: Reviewer, actor: Actor) -> tuple[list[AgentScores], list[ScoreSummary]]:
    """The Scores page: per agent and region, and the latest scorecards (audited)."""
    audit.write(rt, "scores_view", actor, None)
    with rt.sessions() as db:
        return by_agent_and_region(db, reviewer), recent(db, reviewer)
