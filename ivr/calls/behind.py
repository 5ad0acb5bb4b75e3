"""Records written behind: what a webhook hands the writer instead of committing SQL itself.

One webhook's records of one call are one entry of the Redis stream `ivr:records` (a field `r`:
JSON with the rows of `tickets`, `calls`, `call_events` and `consents`, each with its own id, see
ivr/calls/ids.py). The call and its ticket travel whole with every entry, so any entry can be
written on its own, in any order: `apply` inserts what is new and, for a call or a ticket already
there, keeps the newer copy (a call's `rev`, a ticket's `updated_at`); events and consents are
inserted once (their id). Writing an entry twice writes nothing twice. (A call's `rev` is one
more than the copy its webhook started from; two copies of one rev, the same webhook's, are
equal, so the later written wins.)

The stream holds only what is not yet written (the writer deletes what it has committed), up to
`writer_stream_cap` entries. When it is full, `hand_over` refuses the entry (nothing is trimmed,
nothing dropped) and the webhook writes its records itself, synchronously, as it did before the
writer existed: slower, never lost. The same synchronous path is taken for a consent (see
docs/architecture.md, "Records written behind").
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.db.models import Call, CallEvent, Consent, Ticket

STREAM = "ivr:records"
GROUP = "writers"
DEAD = "ivr:records:dead"  # entries the database refused even one by one: kept here for an operator
FIELD = "r"
KINDS = (("tickets", Ticket), ("calls", Call), ("call_events", CallEvent), ("consents", Consent))
# a ticket's columns a call changes; the others (legal_hold) are other capabilities' own
TICKET_FIELDS = ("region", "caller_number", "caller_country", "status", "category", "priority", "language",
                 "caller_verification", "updated_at")

# One webhook's commit, atomic: XADD the entry (ARGV[1] the cap; '' when the records were written
# synchronously) unless the stream already holds `cap` entries (a full stream refuses, it never
# trims), then the live copies: ["set", key, value, ttl] and ["sadd", key, member, ttl] (JSON, ARGV[3]).
_COMMIT = """
if ARGV[1] ~= '' then
  if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
  redis.call('XADD', KEYS[1], '*', 'r', ARGV[2])
end
for _, c in ipairs(cjson.decode(ARGV[3])) do
  if c[1] == 'set' then redis.call('SET', c[2], c[3], 'EX', c[4])
  else redis.call('SADD', c[2], c[3]); redis.call('EXPIRE', c[2], c[4]) end
end
return 1
"""


def row(record) -> dict[str, Any]:
    """A record's columns as JSON-able values."""
    out = {}
    for column in record.__table__.columns:
        value = getattr(record, column.key)
        out[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def values(table: Table, data: dict[str, Any]) -> dict[str, Any]:
    """`row`'s output back to column values."""
    out = {}
    for column in table.columns:
        value = data.get(column.key)
        if value is not None and isinstance(column.type, DateTime):
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:  # SQLite gives its times back without their zone: they are UTC
                value = value.replace(tzinfo=UTC)
        out[column.key] = value
    return out


def record(model: type, data: dict[str, Any]):
    """A transient (never added to a session) record rebuilt from `row`'s output."""
    return model(**values(model.__table__, data))


def encode(rows: dict[str, list[dict]]) -> str:
    return json.dumps(rows, separators=(",", ":"), default=str)


def hand_over(redis, payload: str | None, cap: int, commands: list[list]) -> bool:
    """Put one entry on the stream (none if `payload` is None: already written) and run `commands`,
    atomically; False, with nothing done, when the stream is full."""
    return bool(redis.eval(_COMMIT, 1, STREAM, "" if payload is None else cap, payload or "",
                           json.dumps(commands)))


def apply(db: Session, payloads: list[dict[str, list[dict]]], renumber=None) -> None:
    """Write entries' rows in `db`'s transaction, idempotently (see the module's docstring).
    `renumber(model, count)`, the first of `count` new ids, is for an event or consent whose id
    the database gave another row while Redis was down (ivr/calls/ids.py); without it, such a
    clash raises IntegrityError."""
    merged: dict[str, dict[int, dict]] = {name: {} for name, _ in KINDS}
    for payload in payloads:
        for name, _model in KINDS:
            for data in payload.get(name, ()):
                kept = merged[name].get(data["id"])
                if kept is None or _newer(name, data, kept):
                    merged[name][data["id"]] = data
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    for name, model in KINDS:
        rows = [values(model.__table__, data) for _, data in sorted(merged[name].items())]
        if not rows:
            continue
        table = model.__table__
        statement = insert(table)
        if model is Ticket:
            statement = statement.on_conflict_do_update(
                index_elements=["id"], set_={f: statement.excluded[f] for f in TICKET_FIELDS},
                where=table.c.updated_at <= statement.excluded.updated_at)
        elif model is Call:
            statement = statement.on_conflict_do_update(
                index_elements=["id"], set_={c.key: statement.excluded[c.key] for c in table.columns if c.key != "id"},
                where=table.c.rev.is_(None) | (table.c.rev <= statement.excluded.rev))
        else:
            rows = _without_written(db, model, rows, renumber)
            if not rows:
                continue
        db.execute(statement, rows)


SAME = {"call_events": ("call_id", "kind"), "consents": ("call_id", "outcome")}


def _without_written(db: Session, model: type, rows: list[dict], renumber) -> list[dict]:
    """The rows not yet written. A row whose id is taken is the same record written before (its
    call and kind agree: skipped) or, rarely, another row the database numbered (renumbered)."""
    table = model.__table__
    same = SAME[model.__tablename__]
    taken = {r.id: r for r in db.execute(select(table.c.id, *[table.c[k] for k in same])
                                         .where(table.c.id.in_([row["id"] for row in rows])))}
    fresh, clashed = [], []
    for row in rows:
        found = taken.get(row["id"])
        if found is None:
            fresh.append(row)
        elif any(getattr(found, k) != row[k] for k in same):
            clashed.append(row)
    if clashed:
        if renumber is None:
            raise IntegrityError("an id taken by another row", None, Exception(model.__tablename__))
        first = renumber(model, len(clashed))
        for offset, row in enumerate(clashed):
            fresh.append({**row, "id": first + offset})
    return fresh


def _newer(name: str, data: dict, kept: dict) -> bool:
    if name == "calls":
        return (data.get("rev") or 0) >= (kept.get("rev") or 0)  # a tie: the later entry's copy
    if name == "tickets":
        return (data.get("updated_at") or "") >= (kept.get("updated_at") or "")
    return False
