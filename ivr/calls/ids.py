"""Ids of the call records (tickets, calls, timeline events, consents), handed out by Redis.

A record written behind (ivr/calls/behind.py) carries its own id from the moment it is made, so
a redelivered record is recognised and written once, and a row that refers to it (a call back's
call, a page's ticket) can be written before the writer gets to it. Every process of every
instance takes ids from the same counters (INCRBY), so they never collide and each table's ids
grow in the order the records were made. A counter Redis has lost is seeded from the table's
largest id. Rows these tables get any other way (the web's synchronous paths, call backs placed,
the tests) take their ids here too: `install` hooks the runtime's sessions before each flush.
Only while Redis is unreachable does the database number such a row itself; an entry written
behind whose id the database has meanwhile given to another row is then given a new id by the
writer (ivr/calls/behind.py), never dropped.
"""
from __future__ import annotations

import logging

from redis.exceptions import RedisError
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import Call, CallEvent, Consent, Ticket

log = logging.getLogger(__name__)

ID_KEY = "ivr:ids:{table}"
MODELS = (Ticket, Call, CallEvent, Consent)

# INCRBY each counter that exists; false for one Redis does not have (it is seeded, then asked again)
_ALLOCATE = """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then out[i] = redis.call('INCRBY', key, ARGV[i]) else out[i] = false end
end
return out
"""


def allocate(redis, sessions: sessionmaker, counts: dict[type, int]) -> dict[type, int]:
    """The first of `count` new ids for each model (they run from it, one after another)."""
    wanted = [(model, n) for model, n in counts.items() if n > 0]
    if not wanted:
        return {}
    keys = [ID_KEY.format(table=model.__tablename__) for model, _ in wanted]
    lasts = redis.eval(_ALLOCATE, len(keys), *keys, *[n for _, n in wanted])
    firsts = {}
    for (model, n), key, last in zip(wanted, keys, lasts, strict=True):
        if last is None:  # Redis lost the counter (or never had it): start after the largest id written
            with sessions() as db:
                largest = db.scalar(select(func.max(model.id))) or 0
            redis.set(key, largest, nx=True)
            last = redis.incrby(key, n)
        firsts[model] = int(last) - n + 1
    return firsts


def assign(redis, sessions: sessionmaker, records: list) -> None:
    """Give each record of `records` without an id the next one of its table."""
    counts: dict[type, int] = {}
    for record in records:
        if type(record) in MODELS and record.id is None:
            counts[type(record)] = counts.get(type(record), 0) + 1
    firsts = allocate(redis, sessions, counts)
    for record in records:
        if type(record) in firsts and record.id is None:
            record.id = firsts[type(record)]
            firsts[type(record)] += 1


def install(redis, sessions: sessionmaker) -> None:
    """Every new ticket, call, event or consent flushed through `sessions` takes its id from Redis."""
    def before_flush(session: Session, _context, _instances) -> None:
        new = [obj for obj in session.new if type(obj) in MODELS]
        try:
            assign(redis, sessions, new)
        except RedisError:  # Redis down: the database numbers them (the writer sees to a clash, see behind.py)
            log.warning("Redis unavailable: %d new call records take their ids from the database", len(new))

    if not event.contains(sessions, "before_flush", before_flush):
        event.listen(sessions, "before_flush", before_flush)
