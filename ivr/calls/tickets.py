"""Tickets: every call opens one, or joins the caller's open one from the last day (found in Redis:
ivr/calls/ticket_cache.py, which reads SQL here when Redis has lost them); a flow's ticket steps."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Ticket

CLOSED = ("closed",)
PRIORITIES = ("P1", "P2", "P3", "P4")


def new_reference() -> str:
    """A seven-digit number a caller can note down and read back."""
    return str(1_000_000 + secrets.randbelow(9_000_000))


def open_tickets_of(db: Session, number: str | None, since: datetime) -> list[Ticket]:
    """A caller's open tickets updated since `since`, and their open security tickets of any age
    (what ivr/calls/ticket_cache.py keeps in Redis)."""
    if number is None:
        return []
    security = (Ticket.priority == "P1") | (Ticket.category == "account_takeover")
    query = (select(Ticket)
             .where(Ticket.caller_number == number, Ticket.status.not_in(CLOSED),
                    (Ticket.updated_at >= since) | security)
             .order_by(Ticket.updated_at.desc()).limit(200))
    return list(db.scalars(query))


def update(ticket: Ticket, changes: dict[str, str], now: datetime) -> dict[str, str]:
    """Apply a flow's ticket step; returns what actually changed."""
    changed = {}
    for field, value in changes.items():
        if field == "priority" and value not in PRIORITIES:
            raise ValueError(f"priority must be one of {PRIORITIES}, got {value!r}")
        if value and getattr(ticket, field) != value:
            setattr(ticket, field, value)
            changed[field] = value
    ticket.updated_at = now
    return changed
