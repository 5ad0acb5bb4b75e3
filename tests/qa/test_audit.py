"""The audit log is a hash chain: an entry edited, deleted or inserted in the database is caught by
`ivr audit verify`, which names the first broken entry; entries written at the same moment by many
threads never fork the chain; with IVR_AUDIT_KEY the chain cannot be recomputed without the key."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, insert, select, update

from ivr.cli import main
from ivr.db.database import make_engine, make_sessions, upgrade
from ivr.db.models import AuditEntry, AuditHead
from ivr.qa import audit
from ivr.qa.audit import Actor, entry_hash

WHEN = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
ALICE = Actor("alice", "qa", "10.0.0.7")
KEY = "an-audit-key-kept-outside-the-database-0123"


def write(sessions, count: int, key: str | None = None) -> list[int]:
    return [audit.record(sessions, key, WHEN, "call_view", ALICE, f"call:{n}", region="gb") for n in range(count)]


def verify(settings, *args: str):
    return CliRunner().invoke(main, ["audit", "verify", *args], env=settings.to_env())


def row(sessions, seq: int) -> dict:
    with sessions() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.seq == seq)).one()
        return {c.name: getattr(entry, c.name) for c in AuditEntry.__table__.columns}


@contextmanager
def tampered(sessions, *seqs: int):
    """Put the entries (and the head) back exactly as they were afterwards: the suite's own chain
    is checked once every QA test has run."""
    saved = [row(sessions, seq) for seq in seqs]
    with sessions() as db:
        head = db.get(AuditHead, 1)
        head_was = (head.seq, head.hash)
    try:
        yield
    finally:
        with sessions.begin() as db:
            for entry in saved:
                db.execute(delete(AuditEntry).where(AuditEntry.seq == entry["seq"]))
                db.execute(insert(AuditEntry).values(**entry))
            db.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=head_was[0], hash=head_was[1]))


def test_an_untouched_log_verifies_and_prints_its_head(settings, sessions):
    seqs = write(sessions, 5)
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    done = verify(settings)
    assert done.exit_code == 0, done.output
    assert "audit log intact" in done.output and f"head: {seqs[-1]}:" in done.output


def test_an_edited_entry_is_named(settings, sessions):
    seqs = write(sessions, 5)
    target = seqs[2]
    with tampered(sessions, target):
        with sessions.begin() as db:
            db.execute(update(AuditEntry).where(AuditEntry.seq == target).values(actor="mallory"))
        done = verify(settings)
        assert done.exit_code == 1
        assert f"BROKEN at entry {target}" in done.output and "does not match its hash" in done.output
    assert verify(settings).exit_code == 0


def test_an_edited_entry_with_its_hash_recomputed_breaks_the_link_to_the_next(settings, sessions):
    seqs = write(sessions, 5)
    target = seqs[1]
    with tampered(sessions, target):
        with sessions.begin() as db:
            entry = db.scalars(select(AuditEntry).where(AuditEntry.seq == target)).one()
            entry.detail = {"region": "us"}
            entry.hash = entry_hash(entry, None)  # whoever edits it can recompute its own hash...
        done = verify(settings)
        assert done.exit_code == 1  # ...but not the next entry's link to it
        assert f"BROKEN at entry {target + 1}" in done.output and f"does not follow entry {target}" in done.output


def test_a_deleted_entry_is_named(settings, sessions):
    seqs = write(sessions, 5)
    target = seqs[3]
    with tampered(sessions, target):
        with sessions.begin() as db:
            db.execute(delete(AuditEntry).where(AuditEntry.seq == target))
        done = verify(settings)
        assert done.exit_code == 1
        assert f"BROKEN at entry {target}: entry {target} is missing" in done.output
    assert verify(settings).exit_code == 0


def test_deleting_the_newest_entries_is_caught_by_the_head_and_by_an_anchor(settings, sessions):
    seqs = write(sessions, 4)
    anchor = verify(settings).output.split("head: ")[1].strip()
    with tampered(sessions, seqs[-2], seqs[-1]):
        with sessions.begin() as db:
            db.execute(delete(AuditEntry).where(AuditEntry.seq >= seqs[-2]))
        done = verify(settings)
        assert done.exit_code == 1 and f"its head names entry {seqs[-1]}" in done.output
        with sessions.begin() as db:  # whoever deleted them rewinds the head too: only the anchor shows it
            previous = db.scalars(select(AuditEntry).where(AuditEntry.seq == seqs[-3])).one()
            db.execute(update(AuditHead).values(seq=previous.seq, hash=previous.hash))
        assert verify(settings).exit_code == 0
        anchored = verify(settings, "--anchor", anchor)
        assert anchored.exit_code == 1 and f"entry {seqs[-1]}, the anchor, is not in the log" in anchored.output
    assert verify(settings, "--anchor", anchor).exit_code == 0


def test_an_inserted_entry_is_named(settings, sessions):
    seqs = write(sessions, 3)
    with tampered(sessions, seqs[1], seqs[2]):
        with sessions.begin() as db:  # shift the later entries on and slip one in between
            later = row(sessions, seqs[2])
            db.execute(delete(AuditEntry).where(AuditEntry.seq == seqs[2]))
            db.execute(insert(AuditEntry).values(**{**later, "id": later["id"] + 10_000, "seq": seqs[2] + 1}))
            forged = {**row(sessions, seqs[1]), "id": later["id"] + 10_001, "seq": seqs[2], "action": "sign_in"}
            db.execute(insert(AuditEntry).values(**forged))
            db.execute(update(AuditHead).values(seq=seqs[2] + 1))
        done = verify(settings)
        assert done.exit_code == 1 and f"BROKEN at entry {seqs[2]}" in done.output
        with sessions.begin() as db:
            db.execute(delete(AuditEntry).where(AuditEntry.seq == seqs[2] + 1))


def test_entries_written_at_once_by_many_threads_never_fork_the_chain(sessions):
    first = write(sessions, 1)[0]
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(number: int) -> None:
        try:
            start.wait()
            for n in range(15):
                audit.record(sessions, None, WHEN, "search", Actor(f"reviewer{number}", "qa", "10.0.0.1"), None,
                             shown=n)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    with sessions() as db:
        seqs = list(db.scalars(select(AuditEntry.seq).where(AuditEntry.seq > first).order_by(AuditEntry.seq)))
        prevs = list(db.scalars(select(AuditEntry.prev_hash).where(AuditEntry.seq > first)))
    assert seqs == list(range(first + 1, first + 1 + 8 * 15))  # no gaps, no two entries with one number
    assert len(set(prevs)) == len(prevs)  # no two entries follow the same entry
    assert audit.verify(sessions, None).intact


def test_a_keyed_chain_needs_its_key_and_cannot_be_recomputed_without_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'keyed.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    try:
        write(sessions, 3, key=KEY)
        assert audit.verify(sessions, KEY).intact
        assert "set IVR_AUDIT_KEY" in audit.verify(sessions, None).problem
        assert "does not match its hash" in audit.verify(sessions, "another-key-of-the-same-length-0000000").problem
        with sessions.begin() as db:  # an edit rehashed the only way possible without the key
            entry = db.scalars(select(AuditEntry).where(AuditEntry.seq == 2)).one()
            entry.actor, entry.scheme = "mallory", "sha256"
            entry.hash = entry_hash(entry, None)
        verdict = audit.verify(sessions, KEY)
        assert verdict.broken_seq == 2 and "not keyed although entries before it are" in verdict.problem
    finally:
        engine.dispose()


def test_every_action_the_log_knows_is_written_and_an_unknown_one_refused(sessions):
    for action in ("listen", "download", "legal_hold", "deletion"):  # the recordings' actions
        audit.record(sessions, None, WHEN, action, ALICE, "call:1")
    with pytest.raises(ValueError):
        audit.record(sessions, None, WHEN, "made_up", ALICE)
    assert audit.verify(sessions, None).intact
