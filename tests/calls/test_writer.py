"""Records written behind (issue 15): a webhook hands its records to the stream ivr:records and
answers; the writer commits them, once, however often they are delivered; a consent is committed
before the reply that starts the recording; a full stream makes the webhook write itself; the
writer's lag is part of /readyz."""
from __future__ import annotations

import json
from dataclasses import replace

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from ivr import create_app
from ivr.calls import writer
from ivr.calls.behind import FIELD, STREAM, apply
from ivr.db.models import Call, CallEvent, Consent, Ticket
from tests.conftest import drain_records
from tests.webhooks import signed_post

GB, CALLER = "+442079460100", "+447700900123"


def incoming(app, sid: str, caller: str = CALLER):
    response = signed_post(app.test_client(), "/voice/incoming",
                           {"CallSid": sid, "From": caller, "To": GB, "CallStatus": "ringing"})
    assert response.status_code == 200 and b"<Gather" in response.data, response.data
    return response


def counts(raw_sessions) -> dict[str, int]:
    with raw_sessions() as db:
        return {model.__tablename__: db.scalar(select(func.count()).select_from(model))
                for model in (Ticket, Call, CallEvent, Consent)}


def test_a_new_call_is_answered_from_redis_and_written_by_the_writer(app, raw_sessions):
    rt = app.extensions["ivr"]
    incoming(app, "CA" + "a1" * 16)
    assert counts(raw_sessions) == {"tickets": 0, "calls": 0, "call_events": 0, "consents": 0}
    assert rt.redis.xlen(STREAM) == 1
    assert drain_records(app) == 1
    written = counts(raw_sessions)
    assert written["tickets"] == 1 and written["calls"] == 1 and written["call_events"] >= 3
    assert rt.redis.xlen(STREAM) == 0  # deleted once written
    assert drain_records(app) == 0
    assert counts(raw_sessions) == written


def test_a_second_call_within_a_day_joins_the_ticket_the_writer_has_not_written_yet(app, raw_sessions):
    incoming(app, "CA" + "a2" * 16)
    incoming(app, "CA" + "a3" * 16)  # answered before anything reached SQL
    drain_records(app)
    with raw_sessions() as db:
        assert db.scalar(select(func.count()).select_from(Ticket)) == 1
        assert len(set(db.scalars(select(Call.ticket_id)))) == 1


def test_a_batch_redelivered_after_its_writer_died_is_written_once(app, raw_sessions):
    rt = app.extensions["ivr"]
    for n in range(3):
        incoming(app, f"CA{n:032d}", caller=f"+44770090{n:04d}")
    writer.ensure_group(rt.redis)
    dead = writer.read(rt, "dead-writer", 10, None, claim_idle_ms=60_000)
    assert len(dead.ids) == 3  # read, never committed nor acknowledged: the writer died here
    assert counts(raw_sessions)["calls"] == 0
    # another writer claims them once idle (0 ms here: the tests do not wait), writes and acknowledges
    assert writer.drain(rt, consumer="other-writer", claim_idle_ms=0) == 3
    once = counts(raw_sessions)
    assert once["calls"] == 3 and once["tickets"] == 3
    # the same entries again (the dead writer had in fact committed before dying): nothing twice
    with raw_sessions.begin() as db:
        apply(db, dead.payloads)
    assert counts(raw_sessions) == once
    assert rt.redis.xpending(STREAM, writer.GROUP)["pending"] == 0


def test_an_older_copy_of_a_call_never_overwrites_a_newer_one(app, raw_sessions):
    rt = app.extensions["ivr"]
    sid = "CA" + "a4" * 16
    incoming(app, sid)
    first = [json.loads(fields[FIELD]) for _, fields in rt.redis.xrange(STREAM)]
    signed_post(app.test_client(), "/voice/status", {"CallSid": sid, "From": CALLER, "To": GB,
                                                     "CallStatus": "completed", "CallDuration": "9"})
    drain_records(app)
    with raw_sessions.begin() as db:
        apply(db, first)  # the first webhook's copy, delivered late
    with raw_sessions() as db:
        call = db.scalars(select(Call).where(Call.call_sid == sid)).one()
        assert call.status == "completed" and call.ended_at is not None


def test_the_database_unavailable_the_entries_wait_then_land_once(app, raw_sessions, tmp_path):
    rt = app.extensions["ivr"]
    incoming(app, "CA" + "a5" * 16)
    down = replace(rt, sessions=sessionmaker(create_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")))
    writer.ensure_group(rt.redis)
    batch = writer.read(down, "writer-1", 10, None, claim_idle_ms=60_000)
    try:
        writer.write(down, batch)
        raise AssertionError("the write should have failed")
    except Exception as exc:  # the database is unavailable: nothing acknowledged
        assert "unable to open" in str(exc)
    assert rt.redis.xpending(STREAM, writer.GROUP)["pending"] == 1
    assert counts(raw_sessions)["calls"] == 0
    # back: the same writer reads its own pending entry first and writes it
    assert writer.drain(rt, consumer="writer-1", claim_idle_ms=60_000) == 1
    assert counts(raw_sessions)["calls"] == 1
    assert rt.redis.xlen(STREAM) == 0


def test_a_consent_is_committed_before_the_reply_that_starts_the_recording(app, raw_sessions):
    sid = "CA" + "a6" * 16
    incoming(app, sid)
    client = app.test_client()
    signed_post(client, "/voice/gather", {"CallSid": sid, "From": CALLER, "To": GB})  # the greeting's no-input
    assert counts(raw_sessions)["consents"] == 0
    response = signed_post(client, "/voice/gather", {"CallSid": sid, "From": CALLER, "To": GB, "Digits": "1"})
    assert b"<Recording" in response.data, response.data
    with raw_sessions() as db:  # no writer has run
        [consent] = db.scalars(select(Consent)).all()
        assert consent.outcome == "given"
        assert db.scalars(select(Call).where(Call.call_sid == sid)).one().consent == consent.outcome


def test_a_full_stream_makes_the_webhook_write_its_records_itself(app, raw_sessions):
    rt = app.extensions["ivr"]
    rt.settings = replace(rt.settings, writer_stream_cap=1)
    incoming(app, "CA" + "a7" * 16)  # the one entry the stream may hold
    incoming(app, "CA" + "a8" * 16)  # refused by the full stream: written now
    assert rt.redis.xlen(STREAM) == 1
    assert counts(raw_sessions)["calls"] == 1
    drain_records(app)
    assert counts(raw_sessions)["calls"] == 2


def test_readyz_says_not_ready_while_the_writer_is_behind(app):
    rt = app.extensions["ivr"]
    client = app.test_client()
    assert client.get("/readyz").json["checks"]["writer"] == "ok"
    rt.redis.xadd(STREAM, {FIELD: json.dumps({})}, id="1-1")  # an entry from 1970: far older than the limit
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["writer"] == "behind"
    assert writer.lag(rt.redis).pending == 1
    drain_records(app)
    assert client.get("/readyz").status_code == 200


def test_the_writers_lag_and_backlog_are_metrics(settings, clock, sessions):
    token = "ops-token-for-the-writer-metrics-0123456789"
    app = create_app(settings.with_(ops_token=token), clock=clock)
    rt = app.extensions["ivr"]
    rt.redis.xadd(STREAM, {FIELD: json.dumps({})}, id="1-1")
    rt.redis.xadd(STREAM, {FIELD: json.dumps({})}, id="1-2")
    shown = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"}).data.decode()
    assert "ivr_writer_pending 2.0" in shown
    [lag] = [line for line in shown.splitlines() if line.startswith("ivr_writer_lag_seconds ")]
    assert float(lag.split()[1]) > 365 * 24 * 3600  # an entry from 1970
