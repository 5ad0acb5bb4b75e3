"""Fuzzing every Twilio webhook (hypothesis): whatever Twilio's parameters hold — missing, huge,
unicode, control characters, numbers that are not numbers, unknown and finished CallSids, status
callbacks out of order — a TwiML route answers 200 with TwiML Twilio can use (never a 5xx, so the
caller never hears Twilio's stock error), no route answers a 5xx to a well-formed status, and a
refused (unsigned or forged) request leaves no row and no key behind. Requests are signed as
Twilio signs them (the emulator's RequestValidator), through the app in process."""
from __future__ import annotations

from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from ivr.db.models import Call, CallbackRequest, CallEvent, FreezeRequest, Page, Ticket
from ivr.web.limits import MAX_BODY_BYTES
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL

GB, KR = "+442079460100", "+82215880100"
LIVE, ENDED, UNKNOWN = "CA" + "1" * 32, "CA" + "2" * 32, "CA" + "3" * 32
def fuzz(examples: int):
    """Derandomized (the same examples every run, so a failure is reproducible), sized to keep the
    whole file under a minute on two cores."""
    return settings(max_examples=examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

TWIML_ROUTES = ["/voice/incoming", "/voice/gather", "/voice/fallback", "/voice/transfer", "/voice/whisper",
                "/voice/whisper/answer", "/voice/listen", "/voice/listen/recorded", "/voice/listen/cloud",
                "/voice/queue/wait", "/voice/queue/key", "/voice/queue/left", "/voice/queue/agent",
                "/voice/queue/whisper", "/voice/callback/answer"]
STATUS_ROUTES = ["/voice/status", "/voice/recording", "/voice/callback/amd", "/voice/callback/status"]
PARAMS = ["CallSid", "AccountSid", "From", "To", "Caller", "Called", "Digits", "SpeechResult", "Confidence",
          "CallStatus", "CallDuration", "DialCallStatus", "RecordingSid", "RecordingUrl", "RecordingStatus",
          "RecordingDuration", "RecordingChannels", "QueueTime", "QueueResult", "ParentCallSid", "AnsweredBy",
          "ErrorCode", "ErrorUrl", "StirVerstat", "Direction", "ApiVersion"]
QUERY = ["attempt", "accept", "desk", "agent"]

odd = st.sampled_from(["", "NaN", "inf", "-1", "1e309", "0x1F", "9" * 400, "None", "[]", "{}", "\x00", "\r\n",
                       "\u202e", "%2e%2e%2f", "../../etc/passwd", "<Response><Hangup/></Response>", "' OR 1=1 --",
                       "hangup", "completed", "in-progress", "ringing", "busy", "no-answer", "failed", "1", "9",
                       "#", "*", "client:alice", "sip:bob@example.com", "+" + "1" * 80, "RE" + "a" * 32,
                       "https://evil.example/2010-04-01/Accounts/AC1/Recordings/RE" + "b" * 32, "machine_start",
                       "human", "0", "bridged", "redirected", "hangup", "queue-full", "leave", "system-error"])
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
huge = st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "\u0000", "9", "🙂"]), st.integers(1000, 12000))
value = st.one_of(odd, text, huge, st.integers().map(str), st.floats().map(str))
call_sid = st.one_of(st.sampled_from([LIVE, ENDED, UNKNOWN, "CA", "", "CA" + "g" * 32, "CA1\nforged line"]), text)


@st.composite
def twilio_request(draw):
    params = draw(st.dictionaries(st.sampled_from(PARAMS), value, max_size=10))
    sid = draw(st.one_of(st.none(), call_sid))
    if sid is not None:
        params["CallSid"] = sid
    if draw(st.booleans()):
        params.setdefault("To", draw(st.sampled_from([GB, KR, "+15005550006", "", "not a number"])))
    query = draw(st.dictionaries(st.sampled_from(QUERY), st.one_of(odd, text), max_size=3))
    return params, query


def post(client, path: str, params: dict, query: dict, *, signed: bool = True):
    qs = urlencode(query)
    target = path + ("?" + qs if qs else "")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + target, params) if signed else \
        RequestValidator("a-forger's-guess-0123456789abcdef").compute_signature(PUBLIC_URL + target, params)
    return client.post(target, data=params, headers={"X-Twilio-Signature": signature},
                       environ_overrides={"RAW_URI": target})


def is_twiml(response) -> bool:
    if response.status_code != 200 or "xml" not in response.content_type:
        return False
    try:
        return ElementTree.fromstring(response.data).tag == "Response"
    except ElementTree.ParseError:
        return False


def known_calls(client) -> None:
    """A live call (at its first question) and a finished one, once per test."""
    if getattr(client, "fuzz_ready", False):
        return
    base = {"AccountSid": ACCOUNT_SID, "From": "+447700900123", "To": GB, "CallStatus": "ringing"}
    assert is_twiml(post(client, "/voice/incoming", {**base, "CallSid": LIVE}, {}))
    assert is_twiml(post(client, "/voice/incoming", {**base, "CallSid": ENDED}, {}))
    post(client, "/voice/status", {**base, "CallSid": ENDED, "CallStatus": "completed", "CallDuration": "12"}, {})
    client.fuzz_ready = True


def counts(sessions, redis_url) -> tuple:
    with sessions() as db:
        rows = tuple(db.scalar(select(func.count()).select_from(m))
                     for m in (Call, CallEvent, Ticket, CallbackRequest, Page, FreezeRequest))
    return rows, Redis.from_url(redis_url).dbsize()


@pytest.mark.parametrize("route", TWIML_ROUTES)
def test_every_twiml_route_answers_twiml_whatever_twilio_sends(client, route):
    @fuzz(20)
    @given(request=twilio_request())
    def check(request):
        known_calls(client)
        params, query = request
        response = post(client, route, params, query)
        if len(urlencode(params)) > MAX_BODY_BYTES:  # never from Twilio: refused before it is read
            assert response.status_code == 413
            return
        assert is_twiml(response), (route, params, query, response.status_code, response.data[:300])

    check()


def test_status_callbacks_in_any_order_never_fail_and_calls_go_on(client):
    statuses = ["initiated", "ringing", "in-progress", "completed", "busy", "no-answer", "failed", "canceled"]

    @fuzz(10)
    @given(order=st.permutations(statuses + ["gather", "incoming"]))
    def check(order):
        known_calls(client)
        base = {"AccountSid": ACCOUNT_SID, "CallSid": LIVE, "From": "+447700900123", "To": GB}
        for step in order:
            if step == "incoming":
                assert is_twiml(post(client, "/voice/incoming", {**base, "CallStatus": "ringing"}, {}))
            elif step == "gather":
                assert is_twiml(post(client, "/voice/gather", {**base, "Digits": "1"}, {}))
            else:
                answer = post(client, "/voice/status", {**base, "CallStatus": step, "CallDuration": "30"}, {})
                assert answer.status_code < 500, (order, step)

    check()


def test_a_refused_request_leaves_no_row_and_no_key(client, sessions, redis_url):
    before = counts(sessions, redis_url)

    @fuzz(60)
    @given(route=st.sampled_from(TWIML_ROUTES + STATUS_ROUTES), request=twilio_request(), forged=st.booleans())
    def check(route, request, forged):
        params, query = request
        response = post(client, route, params, query, signed=False) if forged else \
            client.post(route, data=params, environ_overrides={"RAW_URI": route})
        assert response.status_code in (403, 413), (route, response.status_code)
        assert counts(sessions, redis_url) == before

    check()
