"""Tickets: every call opens one, or joins the caller's open one from the last day."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.calls.callers import Caller
from ivr.db.models import Ticket

CLOSED = ("closed",)
PRIORITIES = ("P1", "P2", "P3", "P4")


def new_reference() -> str:
    """A seven-digit number a caller can note down and read back."""
    return str(1_000_000 + secrets.randbelow(9_000_000))


def find_open(db: Session, region: str, caller: Caller, now: datetime, within_hours: int) -> Ticket | None:
    if caller.number is None:
        return None  # a withheld number cannot be matched to anyone
    since = now - timedelta(hours=within_hours)
    query = (select(Ticket)
             .where(Ticket.caller_number == caller.number, Ticket.region == region,
                    Ticket.status.not_in(CLOSED), Ticket.updated_at >= since)
             .order_by(Ticket.updated_at.desc()).limit(1))
    return db.scalars(query).first()


def find_open_security(db: Session, caller: Caller) -> Ticket | None:
    """The caller's open security ticket, in any region and of any age: they go straight through."""
    if caller.number is None:
        return None
    query = (select(Ticket)
             .where(Ticket.caller_number == caller.number, Ticket.status.not_in(CLOSED),
                    (Ticket.priority == "P1") | (Ticket.category == "account_takeover"))
             .order_by(Ticket.updated_at.desc()).limit(1))
    return db.scalars(query).first()


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


def open_or_join(db: Session, region: str, caller: Caller, now: datetime, within_hours: int) -> tuple[Ticket, bool]:
    """The caller's open ticket from the last `within_hours`, or a new one. Returns (ticket, joined)."""
    existing = find_open(db, region, caller, now, within_hours)
    if existing is not None:
        existing.updated_at = now
        return existing, True
    for _ in range(10):
        ticket = Ticket(reference=new_reference(), region=region, caller_number=caller.number,
                        caller_country=caller.country, status="open", priority="P3",
                        created_at=now, updated_at=now)
        try:
            with db.begin_nested():
                db.add(ticket)
                db.flush()
            return ticket, False
        except IntegrityError:
            continue  # reference taken: draw again
    raise RuntimeError("could not draw a free ticket reference in 10 tries")


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
