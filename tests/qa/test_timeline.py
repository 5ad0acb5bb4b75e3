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
    [(offset, topic, text)] = read((5, "recording_in-progress", {"recording_sid": "RE1", "duration": "51"}))
    assert (offset, topic, text) == (5, "recording", "Recording RE1 in progress, 51 s")
    rows = [CallEvent(id=1, kind="something_new", at=START,
                      detail={"to": "+447700900123", "note": "rang +14155550123", "url": "https://x"})]
    [entry] = timeline(rows, START)
    assert entry.topic == "other" and entry.text == "Something new"
    assert entry.detail == "note: rang +1 •••••••123; to: +44 •••••••123"  # no url
    back = CallEvent(id=2, kind="answered", at=START, detail={"callback": "k1", "to": "+447700900123"})
    [answered] = timeline([back], START)
    assert answered.text == "Answered (a call back to +44 •••••••123)"


def test_a_recordings_life_reads_as_sentences_without_what_was_said():
    sid = {"recording_sid": "RE20571a04b7712a936b844b715452e53a"}
    assert [(topic, text) for _, topic, text in read(
        (60, "recording_stored", {**sid, "storage": "local", "key": "gb/x.ogg", "bytes": 34484, "sha256": "4f7e",
                                  "format": "ogg/opus", "encrypted_original": False}),
        (60, "recording_transcribed", {**sid, "channels": 2, "words": 41}),
        (60, "recording_redacted", {**sid, "spans": 3, "seed_phrase": 1, "one_time_code": 2}),
        (60, "recording_not_transcribed", {**sid, "reason": "no model for en",
                                           "redaction": "not possible without a transcript"}),
        (61, "recording_deleted_at_twilio", {**sid, "already_gone": False}),
        (70, "legal_hold_placed", {"by": "ada", "reason": "court order 44/2026"}),
        (71, "legal_hold_released", {"by": "ada", "reason": None}),
        (72, "original_exported", {**sid, "by": "sam", "reason": "SEC-88"}),
        (80, "recording_deleted", {**sid, "by": "dpo", "reason": "erasure request 2026-118"}),
        (90, "recording_purged", {**sid, "by": "retention", "reason": "retention period over"}),
        (91, "recording_failed", {**sid, "reason": "the recordings disk is full"}))] == [
        ("recording", "Recording stored (34 KiB, ogg/opus, local store)"),
        ("recording", "Recording transcribed: 2 channel(s), 41 words"),
        ("recording", "Recording redacted: 3 span(s) toned out (one time code 2, seed phrase 1)"),
        ("recording", "Recording not transcribed (no model for en): not redacted"),
        ("recording", "Twilio's copy of the recording deleted"),
        ("recording", "Legal hold placed on the ticket by ada: court order 44/2026"),
        ("recording", "Legal hold released by ada"),
        ("recording", "Unredacted original exported by sam: SEC-88"),
        ("recording", "Recording deleted on request by dpo: erasure request 2026-118"),
        ("recording", "Recording purged by retention: retention period over"),
        ("recording", "Recording could not be stored: the recordings disk is full")]
