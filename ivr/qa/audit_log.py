"""The Audit page, for admins: the log newest first, filtered by who, what, which target and when."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import AuditEntry
from ivr.errors import AccessRefused, FilterError
from ivr.qa import audit, reviewers
from ivr.qa.audit import ACTIONS, Actor
from ivr.qa.reviewers import Reviewer
from ivr.qa.search import parse_day
from ivr.runtime import Runtime

PAGE_SIZE = 100
NAME = re.compile(r"^[a-z0-9._-]{1,64}$")
TARGET = re.compile(r"^[a-z_]+:[A-Za-z0-9._/-]{1,120}$")


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None
    action: str | None = None
    target: str | None = None  # e.g. call:123
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> AuditFilters:
        v = {k: (query.get(k) or "").strip()[:80] for k in ("actor", "action", "target", "from", "to", "page")}
        if v["actor"] and not NAME.match(v["actor"]):
            raise FilterError(f"actor: a user name, got {v['actor']!r}")
        if v["action"] and v["action"] not in ACTIONS:
            raise FilterError(f"action: one of {', '.join(ACTIONS)}, got {v['action']!r}")
        if v["target"] and not TARGET.match(v["target"]):
            raise FilterError(f"target: like call:123, user:alice or path:/qa/users, got {v['target']!r}")
        if v["page"] and not (v["page"].isdigit() and 1 <= int(v["page"]) <= 100_000):
            raise FilterError(f"page: a number, got {v['page']!r}")
        return cls(v["actor"] or None, v["action"] or None, v["target"] or None, parse_day(v["from"], "from"),
                   parse_day(v["to"], "to"), int(v["page"] or 1))

    def as_query(self, **changes) -> dict[str, str]:
        names = {"date_from": "from", "date_to": "to"}
        data = {**asdict(self), **changes}
        return {names.get(k, k): str(v) for k, v in data.items()
                if v not in (None, "") and not (k == "page" and v == 1)}


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    page: int
    has_next: bool


def audit_log(rt: Runtime, reviewer: Reviewer, filters: AuditFilters, actor: Actor) -> AuditPage:
    try:
        reviewers.check_admin(reviewer, "audit")
    except AccessRefused as refused:
        audit.write(rt, "refused", actor, refused.target, reason=refused.reason)
        raise
    audit.write(rt, "audit_view", actor, None, filters={k: v for k, v in filters.as_query().items() if k != "page"})
    with rt.sessions() as db:
        return _page(db, filters)


def _page(db: Session, f: AuditFilters) -> AuditPage:
    query = select(AuditEntry)
    if f.actor:
        query = query.where(AuditEntry.actor == f.actor)
    if f.action:
        query = query.where(AuditEntry.action == f.action)
    if f.target:
        query = query.where(AuditEntry.target == f.target)
    if f.date_from:
        query = query.where(AuditEntry.at >= datetime.combine(f.date_from, time(0), tzinfo=UTC))
    if f.date_to:
        query = query.where(AuditEntry.at < datetime.combine(f.date_to + timedelta(days=1), time(0), tzinfo=UTC))
    query = query.order_by(AuditEntry.seq.desc()).offset((f.page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    found = list(db.scalars(query))
    return AuditPage(found[:PAGE_SIZE], f.page, len(found) > PAGE_SIZE)

