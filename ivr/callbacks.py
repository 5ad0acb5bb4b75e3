"""Requests to call a caller back. The database is the record; the queue that works through them
(RQ jobs that place the calls) reads it in order: urgent security requests first, then by due time."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.models import Call, CallbackRequest, Ticket

PRIORITY = {"urgent": 0, "normal": 5}
ACTIVE = ("pending", "scheduled", "calling")


def request(db: Session, call: Call, ticket: Ticket | None, number: str | None, priority: str, reason: str,
            now: datetime) -> CallbackRequest | None:
    """Record a callback (one active per number and ticket: asking again only raises its priority).
    None when there is no number to call."""
    if number is None:
        return None
    existing = db.scalars(select(CallbackRequest).where(
        CallbackRequest.number == number, CallbackRequest.ticket_id == (ticket.id if ticket else None),
        CallbackRequest.status.in_(ACTIVE))).first()
    if existing is not None:
        existing.priority = min(existing.priority, PRIORITY[priority])
        return existing
    callback = CallbackRequest(ticket_id=ticket.id if ticket else None, call_id=call.id, region=call.region or "",
                               number=number, priority=PRIORITY[priority], reason=reason, status="pending",
                               created_at=now, due_at=now)
    db.add(callback)
    db.flush()
    return callback
