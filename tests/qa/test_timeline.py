"""A call's timeline in words: each kind of event a reviewer reads, with its time from the start;
an event of a kind with no words still shows with its details; phone numbers are masked."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ivr.db.models import CallEvent
from ivr.qa.timeline import timeline

START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def read(*events: tuple) -> list[tuple[int, str, str]]:
    rows = [CallEvent(id=n, kind=kind, detail=detail, at=START + timedelta(seconds=seconds))
            for n, (seconds, kind, detail) in enumerate(events, 1)]
    return [(e.offset_seconds, e.topic, e.text) for e in timeline(rows, START)]


def test_what_the_caller_said_is_shown_with_the_intent_and_confidence():
    assert read((12, "intent", {"step": "describe", "text": "my withdrawal is stuck", "intent": "withdrawal",
                                "confidence": 0.92, "source": "vosk"}),
                (20, "intent_unsure", {"text": "kay why see", "intent": "kyc", "confidence": 0.61}),
                (25, "intent_confirmed", {"intent": "kyc", "method": "speech"}),
                (31, "not_understood", {"text": "", "confidence": 0.0})) == [
        (12, "speech", "Heard “my withdrawal is stuck” → withdrawal (confidence 0.92, vosk)"),
        (20, "speech", "Unsure of “kay why see” → kyc (confidence 0.61): asked to confirm"),
        (25, "speech", "Caller confirmed kyc by speech"),
        (31, "speech", "Not understood: nothing (confidence 0.0)")]


def test_call_backs_and_freezes_read_as_sentences():
    assert [text for _, _, text in read(
        (1, "callback_chosen", {"step": "queue_callback"}),
        (9, "callback_number_refused", {"problem": "premium"}),
        (15, "callback_booked", {"when": "2026-11-24T10:05:00+00:00", "request": 4}),
        (16, "freeze_requested", {"request": 2}),
        (17, "freeze_frozen", {"request": 2}))] == [
        "Chose a call back", "Call back number refused: premium", "Call back booked for 2026-11-24T10:05:00+00:00",
        "Account freeze requested", "Account freeze frozen"]


def test_an_unknown_kind_still_shows_with_its_details_and_numbers_are_masked():
    [(offset, topic, text)] = read((5, "recording_redacted", {"spans": 2}))
    assert (offset, topic, text) == (5, "recording", "Recording redacted")
    rows = [CallEvent(id=1, kind="something_new", at=START,
                      detail={"to": "+447700900123", "note": "rang +14155550123", "url": "https://x"})]
    [entry] = timeline(rows, START)
    assert entry.topic == "other" and entry.text == "Something new"
    assert entry.detail == "note: rang +1 •••••••123; to: +44 •••••••123"  # no url
    back = CallEvent(id=2, kind="answered", at=START, detail={"callback": "k1", "to": "+447700900123"})
    [answered] = timeline([back], START)
    assert answered.text == "Answered (a call back to +44 •••••••123)"
