"""A consented call's recording, end to end through the emulator with real audio: it arrives in
the store (the folder, or moto's S3 server), linked to its ticket, verified, and only then deleted
at the emulated Twilio; a declined consent leaves nothing anywhere; a Korean call's transcript
has word timings; the media is fetched from the API host whatever the callback says."""
from __future__ import annotations

import base64
import hashlib
import stat

from click.testing import CliRunner
from pydub import AudioSegment
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from ivr.cli.main import main
from ivr.db.models import Recording, Ticket
from ivr.recordings.storage import S3Store, StoredStream
from ivr.speech.hearing import Hearing
from tests.receiver import Receiver
from tests.recordings.conftest import DECLINE, KOREAN, KR, make_recordings_world


def test_a_consented_call_is_stored_with_its_ticket_verified_then_deleted_at_twilio(recorded, settings):
    call = recorded.call("+447700900501")
    pending = recorded.recording(call.sid)
    assert pending.status == "pending" and pending.channels == 2  # the webhook only queued the ingest
    assert recorded.at_twilio(call.recording_sid) == "completed"
    recorded.work()
    stored = recorded.recording(call.sid)
    with recorded.world.sessions() as db:
        ticket = db.get(Ticket, stored.ticket_id)
    assert stored.status == "stored" and stored.recording_sid == call.recording_sid
    assert stored.storage_key == f"gb/2026-11-24/{ticket.reference}/{call.recording_sid}.ogg"
    path = settings.recordings_dir / stored.storage_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert hashlib.sha256(path.read_bytes()).hexdigest() == stored.stored_sha256
    assert stored.stored_bytes == path.stat().st_size and stored.source_bytes > 10 * stored.stored_bytes
    played = AudioSegment.from_file(path)
    assert played.channels == 2 and abs(len(played) / 1000 - stored.duration_seconds) < 1.5
    assert recorded.at_twilio(call.recording_sid) == "deleted"
    kinds = [kind for kind, _ in recorded.events(call.sid)]
    assert kinds.index("recording_completed") < kinds.index("recording_stored") \
        < kinds.index("recording_deleted_at_twilio")
    assert [(t.channel, t.status, t.note) for t in stored.transcripts] == [
        (1, "no_model", "no model for en"), (2, "no_model", "no model for en")]
    assert stored.redaction == "no model for en"


def test_a_declined_consent_leaves_nothing_anywhere(recorded, settings):
    call = recorded.call("+447700900502", DECLINE)
    recorded.work()
    assert call.recordings == [] and recorded.twilio.ledger.recordings == {}
    with recorded.world.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Recording)) == 0
    assert not settings.recordings_dir.exists() or not any(settings.recordings_dir.rglob("*.ogg"))
    assert not any(kind.startswith("recording") for kind, _ in recorded.events(call.sid))


def test_a_korean_call_gets_a_transcript_with_word_timings(settings, clock, sessions):
    made = make_recordings_world(settings, clock, sessions)
    try:
        clock.set("2026-11-24T10:00", "Asia/Seoul")
        call = made.call("+821012345611", KOREAN, to=KR)
        made.work()
        stored = made.recording(call.sid)
        caller, ivr = stored.transcripts
        assert stored.status == "stored" and stored.language == "ko" and stored.redaction == "done"
        assert caller.status == "done" and caller.language == "ko" and caller.words
        for word, start, end in caller.words:
            assert word and 0 <= start < end <= stored.duration_seconds
        assert caller.text == " ".join(word for word, _, _ in caller.words)
        assert ivr.status == "done"  # the IVR's channel: the emulator's IVR voice is silent
        assert ("recording_transcribed", {"recording_sid": call.recording_sid, "channels": 2,
                                          "words": len(caller.words) + len(ivr.words)}) in made.events(call.sid)
    finally:
        made.rest.__exit__(None, None, None)


def test_the_media_comes_from_the_api_host_never_from_the_host_a_callback_names(recorded, monkeypatch):
    with Receiver() as elsewhere:
        forged = elsewhere.url.removesuffix("/hook") + "/2010-04-01/Accounts/AC/Recordings/{sid}"
        monkeypatch.setattr(recorded.twilio.ledger, "recording_url", lambda sid: forged.format(sid=sid))
        call = recorded.call("+447700900503")
        assert any(d.get("url", "").startswith(elsewhere.url[:20]) for k, d in recorded.events(call.sid)
                   if k == "recording_completed")
        recorded.work()
        assert recorded.recording(call.sid).status == "stored"
        assert elsewhere.received == []


def test_recordings_go_to_s3_encrypted_at_rest(settings, clock, sessions, s3):
    made = make_recordings_world(settings, clock, sessions, recordings_url="s3://ivr-recordings/calls")
    try:
        clock.set("2026-11-24T10:00", "Europe/London")
        call = made.call("+447700900504")
        made.work()
        stored = made.recording(call.sid)
        assert stored.status == "stored" and stored.storage == "s3"
        head = s3.client().head_object(Bucket="ivr-recordings", Key=f"calls/{stored.storage_key}")
        assert head["ServerSideEncryption"] == "AES256" and head["ContentType"] == "audio/ogg"
        body = s3.client().get_object(Bucket="ivr-recordings", Key=f"calls/{stored.storage_key}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == stored.stored_sha256
        store = S3Store("s3://ivr-recordings/calls")
        assert store.read(stored.storage_key, 0, 3) == b"OggS"  # byte ranges, for a seeking player
        # What the QA player is served: werkzeug's Range handling over ranged GETs passed through.
        stream = StoredStream(store, stored.storage_key, len(body))
        stream.CHUNK = 4096  # several ranged GETs for one answer
        answer = Response(stream, mimetype="audio/ogg", direct_passthrough=True)
        answer.make_conditional(EnvironBuilder(headers={"Range": "bytes=1000-20999"}).get_environ(),
                                accept_ranges=True, complete_length=len(body))
        assert answer.status_code == 206 and answer.headers["Content-Range"] == f"bytes 1000-20999/{len(body)}"
        assert b"".join(answer.response) == body[1000:21000]
        assert made.at_twilio(call.recording_sid) == "deleted"
        assert not settings.recordings_dir.exists()
    finally:
        made.rest.__exit__(None, None, None)


def test_ivr_tickets_show_prints_the_calls_timeline_and_recordings(recorded):
    call = recorded.call("+447700900505")
    recorded.work()
    stored = recorded.recording(call.sid)
    with recorded.world.sessions() as db:
        reference = db.get(Ticket, stored.ticket_id).reference
    result = CliRunner().invoke(main, ["tickets", "show", reference], env=recorded.env)
    assert result.exit_code == 0, result.output
    assert f"ticket {reference}: " in result.output and f"call {call.sid}" in result.output
    assert "consent_given" in result.output and "recording_stored" in result.output
    assert f"{call.recording_sid}  stored" in result.output and "channel 1 (caller): no model for en" in result.output
    listed = CliRunner().invoke(main, ["recordings", "list"], env=recorded.env)
    assert call.recording_sid in listed.output and stored.storage_key in listed.output


def test_a_recording_without_a_model_is_transcribed_and_redacted_once_one_is_installed(settings, clock, sessions):
    made = make_recordings_world(settings, clock, sessions)
    try:
        clock.set("2026-11-24T10:00", "Asia/Seoul")
        made.rt.service(Hearing).models.pop("ko")  # this service has no Korean model yet
        call = made.call("+821012345612", KOREAN, to=KR)
        made.work()
        waiting = made.recording(call.sid)
        assert waiting.status == "stored" and waiting.redaction == "no model for ko"
        assert [t.note for t in waiting.transcripts] == ["no model for ko", "no model for ko"]
        assert ("recording_not_transcribed", {"recording_sid": call.recording_sid, "reason": "no model for ko",
                                              "redaction": "not possible without a transcript"}) \
            in made.events(call.sid)
        result = CliRunner().invoke(main, ["recordings", "transcribe", "--missing"], env=made.env)  # has the model
        assert result.exit_code == 0 and "transcribed 1" in result.output, result.output
        done = made.recording(call.sid)
        assert done.redaction == "done" and done.transcripts[0].status == "done" and done.transcripts[0].words
        assert [k for k, _ in made.events(call.sid)].count("recording_transcribed") == 1
    finally:
        made.rest.__exit__(None, None, None)


def test_the_original_is_kept_only_encrypted_and_only_an_audited_export_reads_it(settings, clock, sessions, tmp_path):
    key = base64.b64encode(bytes(range(32))).decode()
    made = make_recordings_world(settings, clock, sessions, recordings_original_key=key)
    try:
        clock.set("2026-11-24T10:00", "Europe/London")
        call = made.call("+447700900506")
        made.work()
        stored = made.recording(call.sid)
        sealed = settings.recordings_dir / stored.original_key
        assert stored.original_key.endswith(".original.wav.enc") and b"RIFF" not in sealed.read_bytes()[:64]
        out = tmp_path / "original.wav"
        result = CliRunner().invoke(main, ["recordings", "export-original", call.recording_sid, "--reason",
                                           "takeover investigation SEC-88", "--by", "secops", "--out", str(out)],
                                    env=made.env)
        assert result.exit_code == 0, result.output
        assert hashlib.sha256(out.read_bytes()).hexdigest() == stored.source_sha256  # Twilio's WAV, as it came
        exported = next(d for k, d in made.events(call.sid) if k == "original_exported")
        assert exported["by"] == "secops" and exported["reason"] == "takeover investigation SEC-88"
        deleted = CliRunner().invoke(main, ["recordings", "delete", "--ticket", _reference(made, stored),
                                            "--reason", "erasure request"], env=made.env)
        assert deleted.exit_code == 0 and not sealed.exists()
    finally:
        made.rest.__exit__(None, None, None)


def _reference(made, recording) -> str:
    with made.world.sessions() as db:
        return db.get(Ticket, recording.ticket_id).reference
