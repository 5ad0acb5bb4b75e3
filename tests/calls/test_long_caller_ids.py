"""Long SIP and client caller IDs (issue 13, defect 11): a 77-character identity (and one of any
length) answers the call like any other and leaves its call row, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.db.models import Call
from tests.webhooks import signed_post

GB = "+442079460100"
SIP_77 = "sip:" + "customer.support.escalation.line" + "@voice.partner-exchanges-example.com:5061"


def call_row(sessions, sid: str) -> Call:
    with sessions() as db:
        row = db.scalars(select(Call).where(Call.call_sid == sid)).one()
        _ = row.events
        return row


@pytest.mark.parametrize("caller", [SIP_77, "client:" + "agent-console-" * 6, "sip:" + "x" * 2000 + "@example.com",
                                    "+" + "4" * 300])
def test_a_long_caller_id_is_answered_and_recorded(app, sessions, caller):
    sid = "CA" + "11" * 16
    assert len(SIP_77) >= 77
    answer = signed_post(app.test_client(), "/voice/incoming",
                         {"CallSid": sid, "From": caller, "To": GB, "StirVerstat": "TN-Validation-Passed-A" * 5})
    assert answer.status_code == 200 and b"sorry" not in answer.data.lower() and b"<Gather" in answer.data
    row = call_row(sessions, sid)
    assert row.from_number == caller[:255] and row.ended_at is None
    answered = next(e for e in row.events if e.kind == "answered")
    assert answered.detail.get("clipped", []) == (["from"] if len(caller) > 255 else [])
    assert "webhook_error" not in [e.kind for e in row.events]


def test_a_long_called_number_is_recorded_as_unsupported(app, sessions):
    sid = "CA" + "12" * 16
    to = "sip:" + "support" * 50 + "@example.com"
    answer = signed_post(app.test_client(), "/voice/incoming", {"CallSid": sid, "From": "+447700900123", "To": to})
    assert answer.status_code == 200 and b"<Hangup" in answer.data
    row = call_row(sessions, sid)
    assert row.to_number == to[:255] and [e.kind for e in row.events][:2] == ["answered", "unsupported_number"]
