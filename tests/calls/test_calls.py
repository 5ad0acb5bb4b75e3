"""What whole calls leave in the records (call rows, timeline, consents, tickets), for every region.

What a caller hears on each region's main paths is in the scenario files (scenarios/, run by
test_scenarios.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ivr.db.models import Call, Consent, Ticket
from ivr.emulator import HangUp, Press, Silence, Speak

pytestmark = pytest.mark.time_sensitive  # hours, the rota, paging, call backs or scheduling

OPEN = {"us": ("2026-11-24T10:00", "America/Los_Angeles"), "gb": ("2026-11-24T10:00", "Europe/London"),
        "sg": ("2026-11-24T10:00", "Asia/Singapore"), "hk": ("2026-11-24T10:00", "Asia/Hong_Kong"),
        "kr": ("2026-11-24T10:00", "Asia/Seoul")}
NIGHT = {region: (local.replace("10:00", "23:00"), zone) for region, (local, zone) in OPEN.items()}
HOLIDAY = {"us": ("2026-12-25T10:00", "America/Los_Angeles"), "gb": ("2026-12-25T10:00", "Europe/London"),
           "sg": ("2026-12-25T10:00", "Asia/Singapore"), "hk": ("2026-12-25T10:00", "Asia/Hong_Kong"),
           "kr": ("2026-12-25T10:00", "Asia/Seoul")}
NUMBER = {"us": "+14155550100", "gb": "+442079460100", "sg": "+6565550100", "hk": "+85235550100",
          "kr": "+8225550100"}
CALLER = {"us": "+14155550123", "gb": "+447700900123", "sg": "+6581234567", "hk": "+85291234567",
          "kr": "+821012345678"}
# The greeting listens for the urgent key (9) for a moment: a caller who has no emergency stays silent.
LANGUAGE_KEY = {"us": [Silence(), Press("1")], "gb": [Silence()], "sg": [Silence(), Press("1")],
                "hk": [Silence(), Press("1")], "kr": [Silence()]}
ALL_PARTY = {"us", "gb"}


def consent_answer(region: str, yes: bool) -> list:
    return [Press("1" if yes else "2")] if region in ALL_PARTY else []


def call_row(sessions, sid) -> Call:
    with sessions() as db:
        call = db.scalars(select(Call).where(Call.call_sid == sid)).one()
        _ = call.ticket, call.events, call.consents  # load while the session is open
        return call


def kinds(call: Call) -> list[str]:
    return [event.kind for event in call.events]


@pytest.mark.parametrize("region", sorted(NUMBER))
def test_consent_yes_records_and_reaches_the_issue_menu(region, twilio, clock, sessions):
    clock.set(*OPEN[region])
    script = LANGUAGE_KEY[region] + consent_answer(region, True) + [Press("4"), Silence()]
    call = twilio.call(NUMBER[region], CALLER[region], script)
    assert not call.heard_stock_error
    assert call.recording_sid is not None
    row = call_row(sessions, call.sid)
    assert row.consent == ("given" if region in ALL_PARTY else "notice")
    assert row.recording_started_at is not None
    assert row.status == "completed" and row.ended_at is not None
    assert row.flow_version and row.region == region and row.caller_country
    assert row.ticket.reference in " ".join(call.said).replace(", ", "")
    assert row.ticket.status == "self_service" and row.ticket.category == "kyc"
    assert {"answered", "region", "hours", "ticket_opened", "recording_started", "menu", "end"} <= set(kinds(row))
    assert "recording_in-progress" in kinds(row) and "recording_completed" in kinds(row)


@pytest.mark.parametrize("region", sorted(ALL_PARTY))
def test_declined_consent_never_records(region, twilio, clock, sessions):
    clock.set(*OPEN[region])
    call = twilio.call(NUMBER[region], CALLER[region], LANGUAGE_KEY[region] + consent_answer(region, False) +
                       [Press("6")])
    assert call.recording_sid is None
    assert not any(h.kind == "recording" for h in call.transcript)
    row = call_row(sessions, call.sid)
    assert row.consent == "declined" and row.recording_started_at is None
    assert "recording_started" not in kinds(row)
    consent = row.consents[0]
    assert (consent.outcome, consent.method, consent.policy) == ("declined", "dtmf", "all-party")
    assert row.ticket.status == "awaiting_agent" and row.ticket.category == "withdrawal"
    assert call.heard("We are putting you through to an agent")  # the agents' queue


def test_consent_given_by_voice_through_twilio_speech(twilio, clock, sessions):
    clock.set(*OPEN["gb"])
    call = twilio.call(NUMBER["gb"], CALLER["gb"], [Silence(), Speak("yes please"), Press("0")])
    row = call_row(sessions, call.sid)
    assert row.consents[0].method == "speech" and row.consent == "given" and call.recording_sid


@pytest.mark.parametrize("region", sorted(NUMBER))
def test_out_of_hours_points_to_other_channels(region, twilio, clock, sessions):
    clock.set(*NIGHT[region])
    call = twilio.call(NUMBER[region], CALLER[region], LANGUAGE_KEY[region] + consent_answer(region, True) +
                       [Silence()])
    row = call_row(sessions, call.sid)
    hours = next(e for e in row.events if e.kind == "hours")
    assert hours.detail["state"] == "closed"
    assert row.ticket.status == "out_of_hours"
    assert call.transcript[-1].kind == "hangup" and row.status == "completed"
    assert not call.heard_stock_error


@pytest.mark.parametrize("region", sorted(NUMBER))
def test_public_holiday_closes_the_line(region, twilio, clock, sessions):
    clock.set(*HOLIDAY[region])
    call = twilio.call(NUMBER[region], CALLER[region], LANGUAGE_KEY[region] + consent_answer(region, True) +
                       [Silence()])
    row = call_row(sessions, call.sid)
    hours = next(e for e in row.events if e.kind == "hours")
    assert hours.detail["state"] == "holiday" and hours.detail["holiday"]
    assert row.ticket.status == "out_of_hours"


def test_english_out_of_hours_message_names_every_channel(twilio, clock):
    clock.set(*NIGHT["gb"])
    call = twilio.call(NUMBER["gb"], CALLER["gb"], [Silence(), Press("1"), Silence()])
    said = " ".join(call.said)
    for channel in ("closed right now", "help centre", "online chat", "ticket", "email"):
        assert channel in said


def test_unsupported_number_gets_the_pointers_and_no_ticket(twilio, sessions):
    call = twilio.call("+15005550006", "+14155550123")
    assert call.heard("not available for this number") and call.transcript[-1].kind == "hangup"
    row = call_row(sessions, call.sid)
    assert row.region is None and row.ticket is None and "unsupported_number" in kinds(row)
    assert not call.heard_stock_error


def test_withheld_caller_id_gets_a_new_ticket_every_time(twilio, clock, sessions):
    clock.set(*OPEN["gb"])
    first = twilio.call(NUMBER["gb"], "anonymous", [Silence(), Press("2"), Press("0")])
    second = twilio.call(NUMBER["gb"], "anonymous", [Silence(), Press("2"), Press("0")])
    a, b = call_row(sessions, first.sid), call_row(sessions, second.sid)
    assert a.caller_withheld and a.from_number == "anonymous" and a.caller_country is None
    assert a.ticket.id != b.ticket.id and a.ticket.caller_number is None


def test_repeat_caller_within_a_day_joins_the_open_ticket(twilio, clock, sessions):
    clock.set(*OPEN["gb"])
    first = twilio.call(NUMBER["gb"], CALLER["gb"], [Silence(), Press("2"), Press("6")])
    clock.set("2026-11-25T09:00", "Europe/London")
    second = twilio.call(NUMBER["gb"], CALLER["gb"], [Silence(), Press("2"), Press("6")])
    a, b = call_row(sessions, first.sid), call_row(sessions, second.sid)
    assert a.ticket.id == b.ticket.id and "ticket_joined" in kinds(b)
    clock.set("2026-11-27T09:00", "Europe/London")
    third = twilio.call(NUMBER["gb"], CALLER["gb"], [Silence(), Press("2"), Press("6")])
    assert call_row(sessions, third.sid).ticket.id != a.ticket.id


def test_hang_up_mid_menu_ends_the_call_record_where_the_caller_left(twilio, clock, sessions):
    clock.set(*OPEN["us"])
    call = twilio.call(NUMBER["us"], CALLER["us"], [Silence(), Press("1"), Press("1"), Press("*"), HangUp()])
    row = call_row(sessions, call.sid)
    end = [e for e in row.events if e.kind == "end"][-1]
    assert {k: end.detail[k] for k in ("status", "step", "waiting")} == \
        {"status": "completed", "step": "issue_menu", "waiting": True}
    assert end.detail["path"][-2:] == ["describe", "issue_menu"]
    assert row.ended_at is not None and row.ticket.status == "open"




def test_no_input_twice_then_the_caller_is_handed_to_an_agent(twilio, clock, sessions):
    clock.set(*OPEN["kr"])
    call = twilio.call(NUMBER["kr"], CALLER["kr"], [Silence(), Silence(), Silence(), Silence()])
    row = call_row(sessions, call.sid)
    assert kinds(row).count("no_input") == 3 and "gave_up" in kinds(row)
    assert row.ticket.status == "awaiting_agent"




def test_consents_table_keeps_the_prompt_version_heard(twilio, clock, sessions):
    clock.set(*OPEN["us"])
    twilio.call(NUMBER["us"], CALLER["us"], [Silence(), Press("2"), Press("1"), HangUp()])
    with sessions() as db:
        consent = db.scalars(select(Consent)).one()
    assert consent.language == "es" and consent.outcome == "given" and consent.prompt_keys == "consent_request"
    assert len(consent.prompt_version) == 12


def test_a_retried_webhook_gets_the_same_answer_and_writes_nothing_twice(app, sessions):
    from tests.webhooks import signed_post
    client = app.test_client()
    params = {"CallSid": "CA" + "a" * 32, "From": CALLER["gb"], "To": NUMBER["gb"], "CallStatus": "ringing"}
    first = signed_post(client, "/voice/incoming", params, token="retry-1")
    second = signed_post(client, "/voice/incoming", params, token="retry-1")
    assert first.status_code == second.status_code == 200 and first.data == second.data
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Call)) == 1
        assert db.scalar(select(func.count()).select_from(Ticket)) == 1
