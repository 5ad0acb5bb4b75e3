"""The database refusing writes for a while (its disk full: a small tmpfs, filled, then freed):
what the caller hears and that nothing is lost (issue 13, fault suite; the Low item on status
callbacks). Real SQLite on a real full filesystem, real Redis, a real RQ worker."""
from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from ivr import create_app
from ivr.calls import writer
from ivr.calls.behind import STREAM
from ivr.db.database import make_engine, make_sessions, upgrade
from ivr.db.models import Call
from tests.conftest import drain_records, run_jobs
from tests.webhooks import signed_post

GB, CALLER = "+442079460100", "+447700900123"
APOLOGY = b"We are sorry, something went wrong"


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs for the database (we are root in the test command)."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def world(settings, clock, small_disk, redis_url):
    url = f"sqlite:///{small_disk / 'ivr.db'}"
    upgrade(url)
    app = create_app(settings.with_(database_url=url, retry_base_seconds=1), clock=clock)
    engine = make_engine(url)
    yield app, make_sessions(engine), small_disk
    engine.dispose()


@contextmanager
def disk_full(sessions, folder):
    """Fill the filesystem the database is on; free it again on leaving."""
    with sessions() as db:
        db.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # no WAL space left to reuse
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for block in (65536, 4096, 512, 1):
            try:
                while os.write(fd, b"\0" * block):
                    pass
            except OSError:
                continue
    finally:
        os.close(fd)
    try:
        yield
    finally:
        os.remove(filler)


def incoming(sid: str) -> dict:
    return {"CallSid": sid, "From": CALLER, "To": GB, "CallStatus": "ringing"}


def test_a_full_database_disk_costs_no_caller_a_500_and_no_status_is_lost(world, clock):
    """The webhooks answer from Redis and hand their records to the writer, so a full disk costs a
    caller only what must be in the database before it goes on: their consent (the recording does
    not start, they hear the apology). The other records wait in the stream, the writer failing on
    them without losing any, and land once when the disk has room again."""
    app, sessions, folder = world
    rt = app.extensions["ivr"]
    clock.set("2026-11-24T10:00", "Europe/London")
    client = app.test_client()
    live, new = "CA" + "f1" * 16, "CA" + "f2" * 16
    assert b"<Gather" in signed_post(client, "/voice/incoming", incoming(live), token="t1").data
    consent = signed_post(client, "/voice/gather", {"CallSid": live, "Digits": "1"}, token="t0")  # no emergency
    assert b"press 1" in consent.data
    with disk_full(sessions, folder):
        answer = signed_post(client, "/voice/gather", {"CallSid": live, "Digits": "1"}, token="t2")  # consent: a write
        assert answer.status_code == 200 and APOLOGY in answer.data and b"<Hangup" in answer.data
        first = signed_post(client, "/voice/incoming", incoming(new), token="t3")
        assert first.status_code == 200 and b"<Gather" in first.data  # answered from Redis
        status = signed_post(client, "/voice/status", {"CallSid": live, "CallStatus": "completed",
                                                      "CallDuration": "42"}, token="t4")
        assert status.status_code == 204  # handed to the writer
        waiting = rt.redis.xlen(STREAM)
        with pytest.raises(OperationalError):
            writer.drain(rt)  # the writer cannot write: nothing acknowledged
        assert rt.redis.xlen(STREAM) == waiting > 0
    run_jobs(rt)
    assert writer.drain(rt) == waiting  # the disk has room again: every entry lands
    with sessions() as db:
        row = db.scalars(select(Call).where(Call.call_sid == live)).one()
        assert (row.status, row.duration_seconds) == ("completed", 42) and row.ended_at is not None
        assert row.consent is None  # the consent that could not be written: no recording was started
        assert len(db.scalars(select(Call).where(Call.call_sid == new)).all()) == 1


def test_status_callbacks_with_bad_numbers_are_kept(world):
    app, sessions, _ = world
    client = app.test_client()
    sid = "CA" + "f3" * 16
    signed_post(client, "/voice/incoming", incoming(sid))
    answer = signed_post(client, "/voice/status", {"CallSid": sid, "CallStatus": "completed",
                                                  "CallDuration": "forty-two"})
    assert answer.status_code == 204
    drain_records(app)
    with sessions() as db:
        row = db.scalars(select(Call).where(Call.call_sid == sid)).one()
        assert row.status == "completed" and row.duration_seconds is None and row.ended_at is not None
