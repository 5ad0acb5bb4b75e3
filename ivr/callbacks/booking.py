"""Requests to call a caller back. The database is the record; RQ jobs (ivr/callbacks/scheduling.py) place
the calls when they fall due, urgent security requests first.

A request is `pending` (waiting for its due time), `calling` (an attempt is out), then `completed`,
`failed` (no answer after the last attempt) or `cancelled`. At most one is active per number and
ticket (a unique partial index): asking again updates it, keeping the earlier due time, so two
requests at the same moment make one call back.
"""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.core.hours import OpeningHours
from ivr.db.models import ACTIVE_CALLBACK, Call, CallbackRequest, Ticket

PRIORITY = {"urgent": 0, "normal": 5}
ACTIVE = ACTIVE_CALLBACK


@dataclass(frozen=True)
class Due:
    """When a call back is due and how to say it: "soon" (within opening hours, in `minutes`) or
    "opening" (the next time the line opens)."""

    at: datetime
    when: str
    minutes: int


def due_time(hours: OpeningHours, now: datetime, wait_seconds: int) -> Due:
    """As soon as an agent would be free (`wait_seconds` from now) within opening hours, else at the
    next opening in the region's timezone (holidays skipped)."""
    candidate = now + timedelta(seconds=max(0, wait_seconds))
    opening = hours.next_opening(candidate) or candidate
    soon = hours.is_open(now) and opening == candidate
    return Due(opening, "soon" if soon else "opening", max(1, math.ceil((opening - now).total_seconds() / 60)))


PACING_WINDOW = timedelta(hours=12)  # call backs due this soon after an opening are in its line


def paced(db: Session, hours: OpeningHours, desk: str, due: Due, pace_seconds: float, now: datetime) -> Due:
    """A call back due at an opening takes its place in that opening's line: the desk's other
    call backs due from then on go first, one every `pace_seconds` (an agent coming free), so
    the desk is not rung by everyone who asked overnight at the same moment. A line longer than
    the opening hours runs on into the next opening."""
    opening = utc(due.at)
    ahead = db.scalar(select(func.count()).select_from(CallbackRequest).where(
        CallbackRequest.desk == desk, CallbackRequest.status == "pending",
        CallbackRequest.due_at >= opening, CallbackRequest.due_at < opening + PACING_WINDOW)) or 0
    at = opening + timedelta(seconds=round(ahead * pace_seconds))
    if not hours.is_open(at):
        at = utc(hours.next_opening(at) or at)
    return Due(at, due.when, max(1, math.ceil((at - utc(now)).total_seconds() / 60)))


def request(db: Session, call: Call | None, ticket: Ticket | None, number: str | None, priority: str, reason: str,
            now: datetime, *, due: datetime | None = None, language: str | None = None, desk: str | None = None,
            caller_id: str | None = None, max_attempts: int = 3) -> CallbackRequest | None:
    """Record a call back, or update the active one for this number and ticket (a higher priority
    wins, the earlier due time is kept). None when there is no number to call."""
    if number is None:
        return None
    now, due = utc(now), utc(due or now)
    ticket_id = ticket.id if ticket else None
    existing = active(db, number, ticket_id)
    if existing is None:
        callback = CallbackRequest(key=uuid.uuid4().hex, ticket_id=ticket_id, call_id=call.id if call else None,
                                   region=(call.region if call else None) or "", desk=desk, language=language,
                                   number=number, caller_id=caller_id or (call.to_number if call else None),
                                   priority=PRIORITY[priority], reason=reason, status="pending", attempts=0,
                                   max_attempts=max_attempts, created_at=now, due_at=due, updated_at=now)
        try:
            with db.begin_nested():
                db.add(callback)
                db.flush()
            return callback
        except IntegrityError:  # the same number and ticket asked at the same moment: one call back
            existing = active(db, number, ticket_id)
            if existing is None:
                raise
    return _update(db, existing, priority, reason, due, language, desk, now)


def _update(db: Session, existing: CallbackRequest, priority: str, reason: str, due: datetime,
            language: str | None, desk: str | None, now: datetime) -> CallbackRequest:
    """Each change is one conditional UPDATE, so requests updating it at the same moment cannot undo
    each other (on SQLite, where there are no row locks, as on PostgreSQL)."""
    row, raw = CallbackRequest.id == existing.id, {"synchronize_session": False}  # refreshed below
    db.execute(update(CallbackRequest).where(row, CallbackRequest.priority > PRIORITY[priority])
               .values(priority=PRIORITY[priority], reason=reason), execution_options=raw)
    db.execute(update(CallbackRequest).where(row, CallbackRequest.status == "pending", CallbackRequest.due_at > due)
               .values(due_at=due), execution_options=raw)
    db.execute(update(CallbackRequest).where(row).values(language=language or CallbackRequest.language,
                                                         desk=desk or CallbackRequest.desk, updated_at=now),
               execution_options=raw)
    db.refresh(existing)
    return existing


def active(db: Session, number: str, ticket_id: int | None) -> CallbackRequest | None:
    query = select(CallbackRequest).where(CallbackRequest.number == number, CallbackRequest.status.in_(ACTIVE))
    query = query.where(CallbackRequest.ticket_id.is_(None) if ticket_id is None
                        else CallbackRequest.ticket_id == ticket_id)
    return db.scalars(query.with_for_update()).first()


def pending_for(db: Session, number: str | None) -> list[CallbackRequest]:
    """The caller's call backs still to be made (any ticket), soonest first."""
    if not number:
        return []
    return list(db.scalars(select(CallbackRequest).where(CallbackRequest.number == number,
                                                         CallbackRequest.status.in_(ACTIVE))
                           .order_by(CallbackRequest.due_at)))


def cancel(db: Session, requests: list[CallbackRequest], now: datetime, why: str) -> list[CallbackRequest]:
    """Cancel active requests; returns those cancelled (a call already ringing is left to finish)."""
    done, now = [], utc(now)
    for callback in requests:
        if callback.status == "pending":
            callback.status, callback.last_outcome = "cancelled", why
            callback.updated_at = callback.finished_at = now
            done.append(callback)
    return done


def by_key(db: Session, key: str, lock: bool = False) -> CallbackRequest | None:
    query = select(CallbackRequest).where(CallbackRequest.key == key)
    return db.scalars(query.with_for_update() if lock else query).first()


def by_reference(db: Session, reference: str) -> CallbackRequest | None:
    """A request by its id or key (as `ivr callbacks` lists them)."""
    if reference.isdigit():
        return db.get(CallbackRequest, int(reference))
    return by_key(db, reference)


def utc(value: datetime) -> datetime:
    """Times of call backs are stored in UTC; SQLite gives them back naive, which means UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
