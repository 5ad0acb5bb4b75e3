"""Redis killed mid-call, and started again from its append-only file (issue 13, fault suite): what
the caller hears, and that no call, status or state is lost. A real redis-server of the test's own."""
from __future__ import annotations

from redis import Redis
from sqlalchemy import select

from ivr import create_app
from ivr.calls.store import STATE_KEY
from ivr.core.state import CallState
from ivr.db.models import Call
from tests.callbacks.test_callbacks_faults import aof_redis  # noqa: F401 (the fixture)
from tests.conftest import drain_records
from tests.webhooks import signed_post

GB, CALLER = "+442079460100", "+447700900123"
APOLOGY = b"We are sorry, something went wrong"


def incoming(sid: str) -> dict:
    return {"CallSid": sid, "From": CALLER, "To": GB, "CallStatus": "ringing"}


def row(sessions, sid: str) -> Call | None:
    with sessions() as db:
        found = db.scalars(select(Call).where(Call.call_sid == sid)).first()
        if found is not None:
            _ = found.events
        return found


def test_redis_killed_and_restarted_mid_call(settings, clock, sessions, aof_redis):  # noqa: F811
    app = create_app(settings.with_(redis_url=aof_redis.url), clock=clock)
    clock.set("2026-11-24T10:00", "Europe/London")
    client = app.test_client()
    sid, other = "CA" + "e1" * 16, "CA" + "e2" * 16
    assert b"<Gather" in signed_post(client, "/voice/incoming", incoming(sid), token="1").data
    assert b"press 1" in signed_post(client, "/voice/gather", {"CallSid": sid, "Digits": "1"}, token="2").data

    aof_redis.kill()  # SIGKILL between two of the caller's answers, then back from its append-only file
    aof_redis.start()
    consent = signed_post(client, "/voice/gather", {"CallSid": sid, "Digits": "1"}, token="3")
    assert consent.status_code == 200 and APOLOGY not in consent.data and b"<Gather" in consent.data
    state = CallState.from_json(Redis.from_url(aof_redis.url).get(STATE_KEY.format(sid=sid)))
    assert "consent" in state.path and not state.ended  # the call went on where it was

    aof_redis.kill()  # and now Redis stays down for a while
    during = signed_post(client, "/voice/gather", {"CallSid": sid, "Digits": "2"}, token="4")
    assert during.status_code == 200 and APOLOGY in during.data  # safe TwiML, never a 500 or the stock error
    refused = signed_post(client, "/voice/incoming", incoming(other), token="5")
    assert refused.status_code == 200 and APOLOGY in refused.data
    ended = signed_post(client, "/voice/status", {"CallSid": sid, "CallStatus": "completed", "CallDuration": "61"},
                        token="6")
    assert ended.status_code == 204  # the database closes the call without Redis
    assert row(sessions, other) is None  # nothing half written for the refused call

    aof_redis.start()
    retry = signed_post(client, "/voice/incoming", incoming(other), token="7")  # Twilio's retry
    assert retry.status_code == 200 and b"<Gather" in retry.data and APOLOGY not in retry.data
    drain_records(app)  # the records handed over before the kill came back with the append-only file
    first = row(sessions, sid)
    assert (first.status, first.duration_seconds) == ("completed", 61) and first.consent == "given"
    assert row(sessions, other) is not None
