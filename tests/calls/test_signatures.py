"""Every Twilio route refuses forged, missing and stale-URL signatures with 403 and writes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ivr.db.models import Call, CallEvent, Ticket
from tests.conftest import PUBLIC_URL
from tests.webhooks import signed_post

ROUTES = ["/voice/incoming", "/voice/gather", "/voice/status", "/voice/recording", "/voice/fallback"]
PARAMS = {"CallSid": "CA" + "b" * 32, "From": "+447700900123", "To": "+442079460100", "Digits": "1",
          "CallStatus": "completed", "RecordingStatus": "completed", "RecordingSid": "RE" + "c" * 32}


def rows(sessions) -> int:
    with sessions() as db:
        return sum(db.scalar(select(func.count()).select_from(m)) for m in (Call, CallEvent, Ticket))


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("forgery", ["missing", "wrong token", "tampered", "stale url", "garbage"])
def test_bad_signature_gets_403_and_nothing_is_written(route, forgery, client, sessions, redis_url):
    from redis import Redis
    kwargs = {"missing": {"signature": ""}, "wrong token": {"auth_token": "not-the-token"},
              "stale url": {"url": "https://old-host.example.test" + route},
              "garbage": {"signature": "bm90IGEgc2lnbmF0dXJl"}, "tampered": {}}[forgery]
    if forgery == "tampered":
        from twilio.request_validator import RequestValidator

        from tests.conftest import AUTH_TOKEN
        from tests.webhooks import standard
        good = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + route, standard(PARAMS))
        response = client.post(route, data=standard({**PARAMS, "Digits": "9"}),
                               headers={"X-Twilio-Signature": good}, environ_overrides={"RAW_URI": route})
    else:
        response = signed_post(client, route, PARAMS, **kwargs)
    assert response.status_code == 403
    assert rows(sessions) == 0
    assert Redis.from_url(redis_url).dbsize() == 0


def test_signature_holds_behind_a_tls_terminating_proxy(client, sessions):
    # Twilio signed https://ivr.example.test/...; the app itself is reached over plain http on another host.
    params = {"CallSid": "CA" + "d" * 32, "From": "+447700900123", "To": "+442079460100", "CallStatus": "ringing"}
    response = signed_post(client, "/voice/incoming", params)
    assert response.status_code == 200 and b"<Say" in response.data
    assert rows(sessions) > 0


def test_signature_covers_the_query_string(client):
    params = {"CallSid": "CA" + "e" * 32, "From": "+447700900123", "To": "+442079460100"}
    ok = signed_post(client, "/voice/incoming?attempt=2", params, url=PUBLIC_URL + "/voice/incoming?attempt=2")
    assert ok.status_code == 200
    moved = signed_post(client, "/voice/incoming?attempt=3", params, url=PUBLIC_URL + "/voice/incoming?attempt=2")
    assert moved.status_code == 403


def test_health_and_readiness_need_no_signature(client):
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["ready"] and ready.json["checks"]["redis"] == "ok"
    assert client.get("/metrics").status_code == 403  # metrics need the ops token (tests/web/test_logs_and_ops.py)
