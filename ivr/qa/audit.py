"""The audit log: every sign-in (and failed one), search, call view, listen, download, score, legal
hold, deletion and refusal, as an entry with who, what, when (the runtime's clock), from where,
and the hash of the entry before it.

Each entry's hash is SHA-256 over its own content and the previous entry's hash (HMAC-SHA256 with
IVR_AUDIT_KEY when that is set), so an entry edited, inserted or deleted in the database breaks
the chain from that point: `verify` walks it and names the first broken entry. Appends are
serialised on the `audit_head` row (a row lock on PostgreSQL, the write lock on SQLite), so two
entries written at once never both follow the same entry. An entry is written before what it
records is shown: if the log cannot be written, nothing is served.

What the chain does not catch on its own: someone with write access to the database and without
the HMAC key can rewrite the whole chain after an edit, and removing the newest entries together
with the head leaves a shorter, valid chain. Set IVR_AUDIT_KEY (kept outside the database) for the
first, and keep `verify`'s printed head somewhere else (an anchor: `ivr audit verify --anchor`)
for the second.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import AuditEntry, AuditHead
from ivr.runtime import Runtime

log = logging.getLogger(__name__)

GENESIS = "0" * 64  # the "previous hash" of the first entry
PLAIN, KEYED = "sha256", "hmac-sha256"
APPEND_ATTEMPTS = 5
MAX_TEXT = 200  # characters kept of any one detail value
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# What an entry may record. listen, download, legal_hold and deletion are written by the recordings
# pages (the player, the admin's holds and deletions).
ACTIONS = (
    "sign_in", "sign_in_failed", "sign_in_limited", "sign_out", "session_expired",
    "search", "call_view", "scores_view", "audit_view", "users_view", "listen", "download", "score",
    "legal_hold", "deletion", "refused",
    "user_added", "user_changed", "user_disabled", "user_enabled", "password_reset",
)


@dataclass(frozen=True)
class Actor:
    """Who did it, and from where: a signed-in user, someone not signed in (name None), or an
    operator at the command line (`ivr users ...`)."""

    name: str | None
    role: str | None
    ip: str | None


@dataclass(frozen=True)
class Verdict:
    entries: int
    head_seq: int
    head_hash: str
    problem: str | None = None  # the first broken entry, in words
    broken_seq: int | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def write(rt: Runtime, action: str, actor: Actor, target: str | None = None, **detail) -> int:
    """Append an entry now (the runtime's clock), keyed with IVR_AUDIT_KEY when it is set."""
    return record(rt.sessions, rt.settings.audit_key, rt.clock(), action, actor, target, **detail)


def record(sessions: sessionmaker[Session], key: str | None, now: datetime, action: str, actor: Actor,
           target: str | None = None, **detail) -> int:
    """Append one entry (in a transaction of its own); returns its number in the chain."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    at = now.astimezone(UTC)
    clean = {k: _bounded(v) for k, v in detail.items() if v is not None}
    target = _text(target, 128) if target is not None else None
    for attempt in range(1, APPEND_ATTEMPTS + 1):
        try:
            with sessions.begin() as db:
                return _append(db, key, at, action, actor, target, clean)
        except (IntegrityError, OperationalError):
            if attempt == APPEND_ATTEMPTS:
                raise
            log.warning("audit append clashed with another (attempt %d); trying again", attempt)
    raise AssertionError("unreachable")


def _append(db: Session, key: str | None, at: datetime, action: str, actor: Actor, target: str | None,
            detail: dict) -> int:
    # Lock the head before reading it: the next writer waits here until this entry is committed.
    locked = db.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
    if locked.rowcount != 1:
        raise RuntimeError("the audit log's head row is missing: run `ivr audit verify`")
    seq, prev = db.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    entry = AuditEntry(seq=seq + 1, at=at, actor=actor.name, role=actor.role, ip=actor.ip, action=action,
                       target=target, detail=detail, scheme=KEYED if key else PLAIN, prev_hash=prev)
    entry.hash = entry_hash(entry, key)
    db.add(entry)
    db.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=entry.seq, hash=entry.hash))
    return entry.seq


def entry_hash(entry: AuditEntry, key: str | None) -> str:
    content = json.dumps({
        "seq": entry.seq, "at": _moment(entry.at), "actor": entry.actor, "role": entry.role, "ip": entry.ip,
        "action": entry.action, "target": entry.target, "detail": entry.detail or {}, "scheme": entry.scheme,
        "prev": entry.prev_hash,
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    if entry.scheme == KEYED:
        if not key:
            raise LookupError("keyed entry")
        return hmac.new(key.encode(), content, hashlib.sha256).hexdigest()
    return hashlib.sha256(content).hexdigest()


def verify(sessions: sessionmaker[Session], key: str | None, anchor: tuple[int, str] | None = None) -> Verdict:
    """Walk the chain from the first entry; stop at the first one that is not as it was written."""
    count, prev, keyed_seen, expected = 0, GENESIS, False, 1
    anchor_found = anchor is None
    with sessions() as db:
        for entry in _in_order(db):
            problem = _check(entry, expected, prev, key, keyed_seen)
            if problem:
                return Verdict(count, entry.seq, prev, problem, min(entry.seq, expected))
            if anchor and entry.seq == anchor[0]:
                if entry.hash != anchor[1]:
                    return Verdict(count, entry.seq, prev, f"entry {entry.seq} is not the entry anchored: its hash "
                                   f"is {entry.hash[:16]}…, the anchor says {anchor[1][:16]}…", entry.seq)
                anchor_found = True
            keyed_seen = keyed_seen or entry.scheme == KEYED
            count, prev, expected = count + 1, entry.hash, entry.seq + 1
        head = db.get(AuditHead, 1)
    if head is None:
        return Verdict(count, count, prev, "the audit log's head row is missing (deleted?)", count + 1)
    if (head.seq, head.hash) != (count, prev):
        return Verdict(count, count, prev, f"the log ends at entry {count} but its head names entry {head.seq}: "
                       f"entries after {count} were removed, or the head was changed", count + 1)
    if not anchor_found:
        return Verdict(count, count, prev, f"entry {anchor[0]}, the anchor, is not in the log (removed?)", anchor[0])
    return Verdict(count, count, prev)


def _check(entry: AuditEntry, expected: int, prev: str, key: str | None, keyed_seen: bool) -> str | None:
    if entry.seq != expected:
        return (f"entry {expected} is missing: the log goes from entry {expected - 1} to entry {entry.seq} "
                f"(deleted?)")
    if entry.prev_hash != prev:
        return (f"entry {entry.seq} does not follow entry {entry.seq - 1}: the hash it holds of the entry before "
                f"it does not match (entry {entry.seq - 1} was changed, replaced or inserted)")
    if entry.scheme not in (PLAIN, KEYED):
        return f"entry {entry.seq} has an unknown hash scheme {entry.scheme!r}"
    if entry.scheme == PLAIN and keyed_seen:
        return f"entry {entry.seq} is not keyed although entries before it are (written without IVR_AUDIT_KEY?)"
    if entry.scheme == KEYED and not key:
        return f"entry {entry.seq} is keyed: set IVR_AUDIT_KEY to verify the log"
    if not hmac.compare_digest(entry_hash(entry, key), entry.hash):
        return (f"entry {entry.seq} ({_moment(entry.at)} {entry.action} by {entry.actor or 'nobody signed in'}) "
                f"does not match its hash: it was changed after it was written")
    return None


def _in_order(db: Session) -> Iterator[AuditEntry]:
    return db.scalars(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=2000))


def _moment(at: datetime) -> str:
    """One spelling of an entry's time on every database (SQLite gives it back without its zone)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value: str, limit: int = MAX_TEXT) -> str:
    """Text as it may be kept: control characters (a NUL in a doctored address) written out, bounded."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", value)[:limit]


def _bounded(value):
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, (list, tuple)):
        return [_bounded(v) for v in list(value)[:50]]
    if isinstance(value, dict):
        return {_text(str(k), 64): _bounded(v) for k, v in list(value.items())[:50]}
    if value is None or isinstance(value, (bool, int)):
        return value
    return _text(str(value))
