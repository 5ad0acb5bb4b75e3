"""Status callbacks of the call backs we place, out of order and malformed (issue 13, Low): a
late non-final status never overwrites the final one, and a bad CallDuration costs nothing."""
from __future__ import annotations

import pytest

from ivr.emulator import Agent
from tests.callback_world import OLIVIA
from tests.webhooks import signed_post

pytestmark = pytest.mark.time_sensitive  # hours, call backs and scheduling


def test_a_late_ringing_after_the_final_status_changes_nothing(world, clock):
    clock.set("2026-11-24T10:00", "Europe/London")
    number = "+447400123461"
    world.twilio.person(number, Agent())
    world.twilio.person(OLIVIA, Agent())
    world.book(number)
    world.until_due(number)
    world.work()
    world.twilio.wait_outbound()
    [attempt] = world.attempts(number)
    assert attempt.status == "completed" and attempt.outcome == "answered"
    client = world.app.test_client()
    for late in ("ringing", "in-progress"):
        answer = signed_post(client, f"/voice/callback/status?attempt={attempt.idempotency_key}",
                             {"CallSid": attempt.call_sid, "CallStatus": late, "CallDuration": "x"})
        assert answer.status_code == 204
    [again] = world.attempts(number)
    assert (again.status, again.outcome, again.ended_at) == ("completed", "answered", attempt.ended_at)
    assert world.request(number).status == "completed"


def test_a_status_with_a_bad_duration_for_an_unknown_attempt_is_answered(world):
    answer = signed_post(world.app.test_client(), "/voice/callback/status?attempt=no-such-attempt",
                         {"CallSid": "CA" + "c1" * 16, "CallStatus": "completed", "CallDuration": "1e9999"})
    assert answer.status_code == 204  # nothing to record, and nothing breaks
