"""Tickets as the webhooks see them: in Redis, rebuilt from SQL when Redis has lost them.

`ivr:ticket:{id}` holds a ticket's row (JSON) as the calls last left it; `ivr:caller-tickets:{number}`
the ids of the caller's tickets, with the member `complete` once the caller's open tickets were
loaded from SQL (a miss: Redis restarted, or the caller has not called for RECORD_TTL). The
"caller's open ticket within a day" and "open security ticket" lookups read these, never SQL on a
hit. Ticket references are drawn at random and made unique in the set `ivr:ticket-refs` (SADD:
one winner across every instance), seeded from SQL's references when Redis has lost it.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select

from ivr.calls import ids
from ivr.calls.behind import record, row
from ivr.calls.callers import Caller
from ivr.calls.tickets import CLOSED, new_reference, open_tickets_of
from ivr.db.models import Ticket

TICKET_KEY = "ivr:ticket:{id}"
CALLER_KEY = "ivr:caller-tickets:{number}"
COMPLETE = "complete"
REFS_KEY = "ivr:ticket-refs"
REFS_SEEDED = "ivr:ticket-refs:seeded"
RECORD_TTL = 2 * 24 * 3600  # longer than the day a caller's ticket can be joined in


def load(rt, ticket_id: int) -> Ticket | None:
    raw = rt.redis.get(TICKET_KEY.format(id=ticket_id))
    if raw is not None:
        return record(Ticket, json.loads(raw))
    with rt.sessions() as db:
        found = db.get(Ticket, ticket_id)
        return record(Ticket, row(found)) if found is not None else None


def callers_tickets(rt, caller: Caller, now: datetime, within_hours: int) -> list[Ticket]:
    """The caller's open tickets Redis knows (all of them: rebuilt from SQL when it did not)."""
    if caller.number is None:
        return []  # a withheld number cannot be matched to anyone
    key = CALLER_KEY.format(number=caller.number)
    members = rt.redis.smembers(key)
    if COMPLETE not in members:
        _rebuild(rt, caller, now, within_hours)
        members = rt.redis.smembers(key)
    wanted = sorted(m for m in members if m != COMPLETE)
    raws = rt.redis.mget([TICKET_KEY.format(id=m) for m in wanted]) if wanted else []
    found = [record(Ticket, json.loads(raw)) for raw in raws if raw is not None]
    if len(found) < len(wanted):  # a ticket's copy expired before its caller's list: read them again from SQL
        rt.redis.srem(key, COMPLETE)
        _rebuild(rt, caller, now, within_hours)
        raws = rt.redis.mget([TICKET_KEY.format(id=m) for m in wanted])
        found = [record(Ticket, json.loads(raw)) for raw in raws if raw is not None]
    return found


def _rebuild(rt, caller: Caller, now: datetime, within_hours: int) -> None:
    """The caller's open tickets from SQL into Redis; a copy Redis already has is newer and stays."""
    with rt.sessions() as db:
        rows = [row(t) for t in open_tickets_of(db, caller.number, now - timedelta(hours=within_hours))]
    key = CALLER_KEY.format(number=caller.number)
    with rt.redis.pipeline() as pipe:
        for data in rows:
            pipe.set(TICKET_KEY.format(id=data["id"]), json.dumps(data), nx=True, ex=RECORD_TTL)
            pipe.sadd(key, data["id"])
        pipe.sadd(key, COMPLETE)
        pipe.expire(key, RECORD_TTL)
        pipe.execute()


def find_open(known: list[Ticket], region: str, now: datetime, within_hours: int) -> Ticket | None:
    """Of the caller's tickets (`callers_tickets`), the open one in `region` updated within
    `within_hours`, the latest."""
    since = now - timedelta(hours=within_hours)
    found = [t for t in known if t.region == region and t.status not in CLOSED and t.updated_at >= since]
    return max(found, key=lambda t: (t.updated_at, t.id), default=None)


def find_open_security(known: list[Ticket]) -> Ticket | None:
    """Of the caller's tickets, the open security ticket, in any region and of any age: they go
    straight through."""
    found = [t for t in known if t.status not in CLOSED and (t.priority == "P1" or t.category == "account_takeover")]
    return max(found, key=lambda t: (t.updated_at, t.id), default=None)


def open_or_join(rt, known: list[Ticket], region: str, caller: Caller, now: datetime,
                 within_hours: int) -> tuple[Ticket, bool]:
    """The caller's open ticket from the last `within_hours` (of `known`), or a new one (not yet
    written: the call's records carry it). Returns (ticket, joined)."""
    existing = find_open(known, region, now, within_hours)
    if existing is not None:
        existing.updated_at = now
        return existing, True
    ticket = Ticket(reference=draw_reference(rt), region=region, caller_number=caller.number,
                    caller_country=caller.country, status="open", priority="P3", created_at=now, updated_at=now)
    ids.assign(rt.redis, rt.sessions, [ticket])
    return ticket, False


def draw_reference(rt) -> str:
    """A free seven-digit reference, unique across instances (SADD decides between two drawing the same)."""
    if not rt.redis.exists(REFS_SEEDED):
        _seed_references(rt)
    for _ in range(20):
        reference = new_reference()
        if rt.redis.sadd(REFS_KEY, reference):
            return reference
    raise RuntimeError("could not draw a free ticket reference in 20 tries")


def _seed_references(rt) -> None:
    """Every reference SQL holds into the set (Redis lost it): idempotent, so two seeding at once is harmless."""
    with rt.sessions() as db:
        references = list(db.scalars(select(Ticket.reference)))
    for start in range(0, len(references), 10_000):
        rt.redis.sadd(REFS_KEY, *references[start:start + 10_000])
    rt.redis.set(REFS_SEEDED, "1")


def keep(ticket: Ticket) -> list[list]:
    """The commands that keep the ticket's copy and its caller's list (run in the call's commit)."""
    commands = [["set", TICKET_KEY.format(id=ticket.id), json.dumps(row(ticket)), RECORD_TTL]]
    if ticket.caller_number:
        commands.append(["sadd", CALLER_KEY.format(number=ticket.caller_number), str(ticket.id), RECORD_TTL])
    return commands
