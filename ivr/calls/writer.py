"""The writer: commits the records the webhooks handed over (ivr/calls/behind.py) to SQL.

`ivr writer` runs `run`; the tests call `drain`. Each round it reads up to `writer_batch` entries
of the stream with the consumer group `writers` (its own pending ones first: what it read before
a restart), writes them in one transaction, and only after the commit acknowledges and deletes
them (XACK, XDEL): an entry is in the stream until it is in SQL. A writer that died leaves its
entries pending; another claims them once idle for `writer_claim_seconds` (XAUTOCLAIM) and writes
them again, which writes nothing twice. The database down: the batch is rolled back, nothing is
acknowledged, and the same entries are tried again after a pause, until it is back. A batch the
database refuses (a constraint) is written entry by entry; an entry refused on its own is moved
to `ivr:records:dead` with the reason, logged, and acknowledged, so one bad record never holds
up the others.

Lag: the age of the oldest entry not yet written (by Redis's clock, as entry ids are) and how
many there are (`lag`), a metric and part of /readyz.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
from dataclasses import dataclass

from redis.exceptions import RedisError, ResponseError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from ivr.calls import ids
from ivr.calls.behind import DEAD, FIELD, GROUP, STREAM, apply

log = logging.getLogger(__name__)

RETRY_PAUSE = 1.0  # seconds between tries while the database is down (`run` only)
BLOCK_MS = 1000  # how long `run` waits on an empty stream before it looks for a dead writer's entries


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def ensure_group(redis) -> None:
    try:
        redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


@dataclass
class Batch:
    ids: list[str]
    payloads: list[dict]


def read(rt, consumer: str, count: int, block_ms: int | None, claim_idle_ms: int) -> Batch:
    """The next entries for `consumer`: a dead writer's (idle for `claim_idle_ms`), its own pending
    ones, then new ones."""
    redis = rt.redis
    _next, claimed, *_ = redis.xautoclaim(STREAM, GROUP, consumer, min_idle_time=claim_idle_ms, start_id="0-0",
                                          count=count)
    entries = [e for e in claimed if e[1] is not None]
    if not entries:
        entries = _entries(redis.xreadgroup(GROUP, consumer, {STREAM: "0"}, count=count))
    if not entries:
        entries = _entries(redis.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=count, block=block_ms))
    return Batch([entry_id for entry_id, _ in entries], [json.loads(fields[FIELD]) for _, fields in entries])


def _entries(response) -> list:
    return [e for _stream, entries in (response or []) for e in entries if e[1]]


def write(rt, batch: Batch) -> int:
    """Commit the batch, then acknowledge it. Returns how many entries were written. Raises when
    the database is unavailable (nothing acknowledged: the entries stay pending)."""
    if not batch.ids:
        return 0
    try:
        with rt.sessions.begin() as db:
            apply(db, batch.payloads, renumber=_renumber(rt))
    except IntegrityError:
        log.warning("writer: a batch of %d entries was refused; writing them one by one", len(batch.ids))
        return _one_by_one(rt, batch)
    _acknowledge(rt, batch.ids)
    return len(batch.ids)


def _one_by_one(rt, batch: Batch) -> int:
    written = 0
    for entry_id, payload in zip(batch.ids, batch.payloads, strict=True):
        try:
            with rt.sessions.begin() as db:
                apply(db, [payload], renumber=_renumber(rt))
            written += 1
        except IntegrityError as exc:
            log.error("writer: entry %s refused by the database (%s); moved to %s", entry_id,
                      exc.__class__.__name__, DEAD)
            rt.redis.xadd(DEAD, {FIELD: json.dumps(payload), "entry": entry_id, "reason": str(exc.orig)[:500]})
        _acknowledge(rt, [entry_id])
    return written


def _renumber(rt):
    return lambda model, count: ids.allocate(rt.redis, rt.sessions, {model: count})[model]


def _acknowledge(rt, ids: list[str]) -> None:
    with rt.redis.pipeline() as pipe:
        pipe.xack(STREAM, GROUP, *ids)
        pipe.xdel(STREAM, *ids)
        pipe.execute()


def drain(rt, consumer: str = "drain", claim_idle_ms: int = 0) -> int:
    """Write everything in the stream now, in this process (the tests' way to wait for the writer).
    Returns how many entries were written; raises if the database is unavailable."""
    if not rt.redis.exists(STREAM):
        return 0
    ensure_group(rt.redis)
    total = 0
    while True:
        batch = read(rt, consumer, rt.settings.writer_batch, None, claim_idle_ms)
        if not batch.ids:
            return total
        total += write(rt, batch)


def run(rt, consumer: str | None = None, stop=lambda: False) -> None:
    """`ivr writer`: write batches as they come until `stop()`."""
    consumer = consumer or consumer_name()
    log.info("writer %s: writing %s to the database", consumer, STREAM)
    while not stop():
        try:
            ensure_group(rt.redis)  # again after Redis lost its data
            batch = read(rt, consumer, rt.settings.writer_batch, BLOCK_MS, rt.settings.writer_claim_seconds * 1000)
        except RedisError:
            log.warning("writer: Redis is unavailable", exc_info=True)
            time.sleep(RETRY_PAUSE)  # a real pause: we wait for Redis, not for the calendar
            continue
        try:
            write(rt, batch)
        except (OperationalError, DBAPIError):
            log.warning("writer: the database is unavailable; %d entries wait in the stream", len(batch.ids),
                        exc_info=True)
            time.sleep(RETRY_PAUSE)  # a real pause: the database is what we wait for, not the calendar
        except RedisError:  # committed, not acknowledged: written again later, which writes nothing twice
            log.warning("writer: Redis is unavailable after a commit", exc_info=True)
            time.sleep(RETRY_PAUSE)


@dataclass(frozen=True)
class Lag:
    seconds: float  # age of the oldest entry not yet written; 0 when none
    pending: int  # entries not yet written


def lag(redis) -> Lag:
    first = redis.xrange(STREAM, count=1)
    if not first:
        return Lag(0.0, 0)
    now_s, now_us = redis.time()
    oldest_ms = int(first[0][0].split("-")[0])
    return Lag(max(0.0, (now_s * 1000 + now_us / 1000 - oldest_ms) / 1000), redis.xlen(STREAM))
