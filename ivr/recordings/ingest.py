"""The ingest job: a completed recording, from Twilio to our store, redacted on the way.

    fetch (the platform's safe fetcher) -> check the WAV -> hash it -> transcribe each channel ->
    find the secrets -> tone them out of the audio -> encode (Opus) -> store -> read the stored
    copy back and compare -> record it (transcripts, timeline) -> delete it at Twilio

Nothing unredacted is stored (unless kept encrypted, see `originals`), and Twilio's copy is
deleted only once the stored one has been read back and matched. Every step is safe to run
again: the key is fixed per recording (a retried job replaces, never adds, a file), and a
recording already stored only has its Twilio copy deleted. Media not ready (404), storage down
or full, and refused media are retried with backoff on the runtime's clock; after the last retry
the recording shows as failed with the reason, and Twilio keeps its copy.
"""
from __future__ import annotations

import hashlib
import logging
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pydub import AudioSegment
from rq import Retry, get_current_job
from rq.job import JobStatus
from sqlalchemy import select
from twilio.base.exceptions import TwilioRestException

from ivr import jobs
from ivr.db.models import Call, Recording, Ticket, Transcript
from ivr.errors import MediaRefused, StorageError
from ivr.recordings import audio as sound
from ivr.recordings import originals
from ivr.recordings.records import by_sid, note_recording, storage_key
from ivr.recordings.storage import Store
from ivr.recordings.transcripts import ChannelText, transcribe
from ivr.redaction.secrets import Span, find_secrets, redact, text_of
from ivr.runtime import Runtime
from ivr.speech.hearing import Hearing
from ivr.twilio_rest import fetch_recording

log = logging.getLogger(__name__)
QUEUE = "recordings"
BACKOFF = (1, 2, 6, 12, 24, 60)  # x IVR_RECORDINGS_RETRY_SECONDS: 30 s ... 30 min
RESULT_TTL = 24 * 3600
WAITING = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


@dataclass(frozen=True)
class Analysis:
    """What was heard on each channel and what was taken out, before anything is stored."""

    texts: list[ChannelText]
    spans: dict[int, list[Span]]  # channel -> secrets found

    def toned(self) -> list[tuple[int, float, float]]:
        return [(channel, span.start, span.end) for channel, spans in self.spans.items() for span in spans]


def job_id(recording_sid: str) -> str:
    return f"recording-ingest-{recording_sid}"


def enqueue_ingest(rt: Runtime, recording_sid: str):
    """Queue the ingest (once: a job already waiting or running is left to do it)."""
    queue = jobs.queue(rt, QUEUE)
    existing = queue.fetch_job(job_id(recording_sid))
    if existing is not None and existing.get_status(refresh=False) in WAITING:
        return existing
    base = rt.settings.recordings_retry_seconds
    return queue.enqueue(
        ingest, recording_sid, job_id=job_id(recording_sid), retry=Retry(max=len(BACKOFF),
                                                                       interval=[base * s for s in BACKOFF]),
        job_timeout=rt.settings.recordings_job_timeout, result_ttl=RESULT_TTL, failure_ttl=30 * 24 * 3600,
        description=f"ingest recording {recording_sid}")


def ingest(rt: Runtime, recording_sid: str) -> str:
    """RQ job (see the module's docstring). Returns what it did."""
    with rt.sessions() as db:
        recording = by_sid(db, recording_sid)
        if recording is None:
            log.warning("ingest: no recording %s", recording_sid)
            return "unknown"
        status = recording.status
    if status == "deleted":
        return "deleted"
    try:
        if status != "stored":
            _fetch_and_store(rt, recording_sid)
        finish_at_twilio(rt, recording_sid)
    except Exception as problem:
        _attempt_failed(rt, recording_sid, problem)
        raise
    return "stored"


def _fetch_and_store(rt: Runtime, recording_sid: str) -> None:
    store: Store = rt.service(Store)
    with rt.sessions() as db:
        recording = by_sid(db, recording_sid)
        call, ticket = db.get(Call, recording.call_id), db.get(Ticket, recording.ticket_id) if recording.ticket_id \
            else None
        key = storage_key(rt, recording, call, ticket)
        original_key = storage_key(rt, recording, call, ticket, "original.wav.enc")
        known = {ticket.reference} if ticket else set()
    with tempfile.TemporaryDirectory(prefix="ivr-recording-") as folder:
        work = Path(folder)
        source, encoded, sealed = work / "twilio.wav", work / f"stored.{sound.EXTENSION}", work / "original.enc"
        with open(source, "wb") as into:
            media = fetch_recording(rt.settings, recording_sid, into,
                                    channels=2 if recording.channels == 2 else None,
                                    max_bytes=rt.settings.recordings_max_mb * 1024 * 1024,
                                    deadline_seconds=max(30.0, rt.settings.recordings_job_timeout / 3))
        facts = sound.check_wav(source, recording.channels, recording.duration_seconds)
        heard = AudioSegment.from_wav(str(source))
        analysis = analyse(rt, heard, recording.language, known)
        sound.encode(sound.tone_over(heard, analysis.toned()), encoded)
        if abs(sound.probe_seconds(encoded) - facts.seconds) > 1.0:
            raise MediaRefused("the encoded recording is not as long as Twilio's")
        stored_sha256 = put_verified(store, key, encoded, sound.CONTENT_TYPE)
        if rt.settings.recordings_original_key:
            originals.encrypt_file(rt.settings.recordings_original_key, source, sealed, recording_sid.encode())
            put_verified(store, original_key, sealed, "application/octet-stream")
        _record_stored(rt, recording_sid, store, key, original_key if rt.settings.recordings_original_key else None,
                       media.sha256, media.size, stored_sha256, encoded.stat().st_size, analysis)


def analyse(rt: Runtime, heard: AudioSegment, language: str | None, known: set[str]) -> Analysis:
    """Transcribe each channel (where a model serves the language) and find its secrets."""
    hearing = rt.service(Hearing)
    texts, spans = [], {}
    for channel in range(1, heard.channels + 1):
        text = transcribe(hearing, language, channel, sound.channel_pcm(heard, channel), heard.frame_rate)
        texts.append(text)
        spans[channel] = find_secrets(text.words, language or "en", known) if text.words else []
    return Analysis(texts, spans)


def put_verified(store: Store, key: str, path: Path, content_type: str) -> str:
    """Store the file, read it back and compare: the SHA-256 of the stored copy, or StorageError."""
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    store.put(key, path, content_type)
    if hashlib.sha256(store.read(key)).hexdigest() != expected:
        raise StorageError(f"the stored copy at {store.where(key)} does not match what was written")
    return expected


def _record_stored(rt: Runtime, recording_sid: str, store: Store, key: str, original_key: str | None,
                   source_sha256: str, source_bytes: int, stored_sha256: str, stored_bytes: int,
                   analysis: Analysis) -> None:
    now = rt.clock()
    with rt.sessions.begin() as db:
        recording = by_sid(db, recording_sid)
        recording.status, recording.reason, recording.stored_at = "stored", None, now
        recording.storage, recording.storage_key, recording.format = store.name, key, sound.FORMAT
        recording.source_sha256, recording.source_bytes = source_sha256, source_bytes
        recording.stored_sha256, recording.stored_bytes, recording.original_key = stored_sha256, stored_bytes, \
            original_key
        write_transcripts(db, recording, analysis, now)
        note_recording(db, recording, "recording_stored", now, storage=store.name, key=key, bytes=stored_bytes,
                       sha256=stored_sha256, format=sound.FORMAT, encrypted_original=original_key is not None)
        note_transcripts(db, recording, analysis, now)


def write_transcripts(db, recording: Recording, analysis: Analysis, now) -> None:
    recording.transcripts.clear()
    db.flush()
    redactions = []
    for text in analysis.texts:
        spans = analysis.spans.get(text.channel, [])
        words = redact(text.words, spans)
        recording.transcripts.append(Transcript(
            channel=text.channel, language=text.language, status=text.status, note=text.note,
            text=text_of(words, text.language or ""), words=[[w.text, w.start, w.end] for w in words],
            created_at=now))
        redactions += [{"kind": s.kind, "channel": text.channel, "start": s.start, "end": s.end} for s in spans]
    recording.redactions = redactions
    missing = [text.note for text in analysis.texts if text.note]
    recording.redaction = missing[0] if missing else "done"


def note_transcripts(db, recording: Recording, analysis: Analysis, now) -> None:
    missing = sorted({text.note for text in analysis.texts if text.note})
    if missing:
        note_recording(db, recording, "recording_not_transcribed", now, reason="; ".join(missing),
                       redaction="not possible without a transcript")
    else:
        note_recording(db, recording, "recording_transcribed", now, channels=len(analysis.texts),
                       words=sum(len(text.words) for text in analysis.texts))
    if recording.redactions:
        kinds = Counter(item["kind"] for item in recording.redactions)
        note_recording(db, recording, "recording_redacted", now, spans=len(recording.redactions), **kinds)


def finish_at_twilio(rt: Runtime, recording_sid: str) -> str:
    """Delete Twilio's copy (IVR_RECORDINGS_DELETE_AT_TWILIO), after reading our stored copy back."""
    with rt.sessions() as db:
        recording = by_sid(db, recording_sid)
        if not rt.settings.recordings_delete_at_twilio or recording.twilio_deleted_at is not None:
            return "kept" if recording.twilio_deleted_at is None else "already deleted"
        key, expected = recording.storage_key, recording.stored_sha256
    store: Store = rt.service(Store)
    if recording.status != "stored" or hashlib.sha256(store.read(key)).hexdigest() != expected:
        raise StorageError(f"the stored copy of {recording_sid} does not verify: Twilio's copy is kept")
    gone = delete_at_twilio(rt, recording_sid)
    with rt.sessions.begin() as db:
        recording = by_sid(db, recording_sid)
        recording.twilio_deleted_at = rt.clock()
        note_recording(db, recording, "recording_deleted_at_twilio", rt.clock(), already_gone=gone == "gone")
    return "deleted"


def delete_at_twilio(rt: Runtime, recording_sid: str) -> str:
    try:
        rt.twilio.recordings(recording_sid).delete()
    except TwilioRestException as error:
        if error.status == 404:
            return "gone"
        raise
    return "deleted"


def _attempt_failed(rt: Runtime, recording_sid: str, problem: Exception) -> None:
    """Note the problem; after the last retry, the recording is failed (Twilio keeps its copy)."""
    job = get_current_job()
    last = job is None or not job.retries_left
    reason = str(problem) or type(problem).__name__
    try:
        with rt.sessions.begin() as db:
            recording = by_sid(db, recording_sid)
            if recording is None or recording.status in ("stored", "deleted"):
                if recording is not None:
                    recording.reason = f"Twilio's copy not deleted yet: {reason}"[:500]
                return
            recording.attempts += 1
            recording.reason = reason[:500]
            if last:
                recording.status = "failed"
                note_recording(db, recording, "recording_failed", rt.clock(), reason=reason[:200],
                               attempts=recording.attempts, twilio_copy="kept")
    except Exception:
        log.exception("could not note the failed ingest of %s", recording_sid)
    log.warning("ingest of %s failed (%s): %s", recording_sid, "no retry left" if last else "will retry", reason)


def missing_transcripts(rt: Runtime) -> list[str]:
    """Stored recordings whose transcript waits for a model that is now installed."""
    hearing = rt.service(Hearing)
    with rt.sessions() as db:
        rows = db.execute(select(Recording.recording_sid, Recording.language).where(
            Recording.status == "stored", Recording.redaction != "done")).all()
    return [sid for sid, language in rows if hearing.has_model(language)]


def transcribe_again(rt: Runtime, recording_sid: str) -> int:
    """Transcribe a stored recording whose language had no model at ingest, and redact it now:
    the stored copy is replaced (and verified) when secrets are found. Returns the spans removed."""
    store: Store = rt.service(Store)
    with rt.sessions() as db:
        recording = by_sid(db, recording_sid)
        ticket = db.get(Ticket, recording.ticket_id) if recording.ticket_id else None
        key, language = recording.storage_key, recording.language
    with tempfile.TemporaryDirectory(prefix="ivr-recording-") as folder:
        stored, encoded = Path(folder) / f"stored.{sound.EXTENSION}", Path(folder) / f"new.{sound.EXTENSION}"
        stored.write_bytes(store.read(key))
        heard = AudioSegment.from_file(str(stored)).set_frame_rate(8000).set_sample_width(2)
        analysis = analyse(rt, heard, language, {ticket.reference} if ticket else set())
        sha256, size = None, None
        if analysis.toned():
            sound.encode(sound.tone_over(heard, analysis.toned()), encoded)
            sha256, size = put_verified(store, key, encoded, sound.CONTENT_TYPE), encoded.stat().st_size
    now = rt.clock()
    with rt.sessions.begin() as db:
        recording = by_sid(db, recording_sid)
        if sha256:
            recording.stored_sha256, recording.stored_bytes = sha256, size
        write_transcripts(db, recording, analysis, now)
        note_transcripts(db, recording, analysis, now)
    return len(analysis.toned())
