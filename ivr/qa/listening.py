"""A call's recordings as a reviewer hears and reads them: the player's audio (both channels in one
stereo Ogg Opus file: the caller left, the IVR or agent right; see ivr/recordings/audio.py) and the
transcript with its word timings, grouped into turns.

What is stored is already the redacted copy (secrets toned out, their words replaced by a label;
the unredacted original, when kept at all, is encrypted and readable only by the audited CLI
export). A recording whose redaction could not be done (no speech model for its language) may
still hold a secret: the `qa` role is refused its audio; security and admin hear it, told so.

A recording is looked up by its id in the database, never by anything naming a file, and the
reviewer must be allowed to see its call (role and region, like the Call page). Every refusal is
audited; so is every download, and each listen: the first piece of a recording served to a
reviewer is a `listen` entry, and the player's further requests (the browser asks for ranges as
it plays and seeks) are part of that listen until LISTEN_MINUTES pass on the service's clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Call, Recording, Ticket
from ivr.errors import AccessRefused, UnknownRecording
from ivr.qa import audit, reviewers
from ivr.qa.audit import Actor
from ivr.qa.reviewers import Reviewer
from ivr.recordings.storage import Store, StoredStream
from ivr.runtime import Runtime

LISTEN_MINUTES = 30
LISTEN_KEY = "qa:listening:{user}:{recording}"  # the service time (epoch seconds) of the audited listen
SPEAKERS = {1: "Caller", 2: "IVR / agent"}
PLAYABLE = "stored"


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    redacted: bool  # a label put in a secret's place ("[seed phrase removed]")


@dataclass(frozen=True)
class Turn:
    channel: int
    speaker: str
    start: float
    words: list[Word]


@dataclass(frozen=True)
class RecordingView:
    id: int
    recording_sid: str
    status: str  # pending, stored, failed, deleted
    reason: str | None
    channels: int
    duration_seconds: int | None
    stored_bytes: int | None
    redaction: str | None  # done, or why not ("no model for en")
    redacted_spans: int
    refusal: str | None  # why this reviewer may not play it (None: they may)
    turns: list[Turn]
    transcript_notes: list[str]  # channels without words, and why

    @property
    def playable(self) -> bool:
        return self.status == PLAYABLE and self.refusal is None

    @property
    def redacted(self) -> bool:
        return self.redaction == "done"


@dataclass(frozen=True)
class Media:
    """What the player or a download is served: where it is, how big, and its hash (the ETag)."""

    recording_id: int
    recording_sid: str
    stream: StoredStream
    size: int
    etag: str | None
    content_type: str
    filename: str


def refusal(reviewer: Reviewer, recording: Recording) -> str | None:
    """Why this reviewer may not hear this (stored) recording, or None."""
    if recording.redaction != "done" and not reviewer.sees_security:
        return (f"this recording is not redacted ({recording.redaction or 'no transcript'}): only the security "
                "and admin roles hear it")
    return None


def recordings_of(db: Session, reviewer: Reviewer, call: Call) -> list[RecordingView]:
    """The call's recordings (the reviewer is already allowed to see the call), oldest first."""
    found = db.scalars(select(Recording).where(Recording.call_id == call.id).order_by(Recording.id))
    return [_view(reviewer, recording) for recording in found]


def _view(reviewer: Reviewer, recording: Recording) -> RecordingView:
    turns, notes = [], []
    stored = recording.status == PLAYABLE
    if stored:
        turns = _turns(recording)
        notes = [f"{SPEAKERS.get(t.channel, f'channel {t.channel}')}: {t.note}"
                 for t in recording.transcripts if t.note]
    return RecordingView(
        id=recording.id, recording_sid=recording.recording_sid, status=recording.status, reason=recording.reason,
        channels=recording.channels, duration_seconds=recording.duration_seconds,
        stored_bytes=recording.stored_bytes, redaction=recording.redaction,
        redacted_spans=len(recording.redactions or []), refusal=refusal(reviewer, recording) if stored else None,
        turns=turns, transcript_notes=notes)


def _turns(recording: Recording) -> list[Turn]:
    """Both channels' words in time order, a new turn each time the other side speaks."""
    words = sorted(((float(start), float(end), str(text), t.channel) for t in recording.transcripts
                    for text, start, end in (t.words or [])), key=lambda w: (w[0], w[3]))
    turns: list[Turn] = []
    for start, end, text, channel in words:
        word = Word(text, start, end, text.startswith("[") and text.endswith("]"))
        if turns and turns[-1].channel == channel:
            turns[-1].words.append(word)
        else:
            turns.append(Turn(channel, SPEAKERS.get(channel, f"channel {channel}"), start, [word]))
    return turns


def open_media(rt: Runtime, reviewer: Reviewer, recording_id: int, actor: Actor, purpose: str) -> Media:
    """A recording's audio for the player (`listen`) or a download (`download`), after the checks;
    refusals (AccessRefused: 403; UnknownRecording: 404) are audited, and so is what is served."""
    target = f"recording:{recording_id}"
    with rt.sessions() as db:
        recording = db.get(Recording, recording_id)
        if recording is None:
            _refused(rt, actor, target, "no such recording", purpose)
            raise UnknownRecording(f"no recording {recording_id}")
        call = db.get(Call, recording.call_id)
        ticket = db.get(Ticket, call.ticket_id) if call.ticket_id else None
        try:
            reviewers.check_call(reviewer, call.region, ticket.priority if ticket else None, target)
        except AccessRefused as refused:
            _refused(rt, actor, target, refused.reason, purpose, call=call.id)
            raise
        if recording.status != PLAYABLE or not recording.storage_key:
            _refused(rt, actor, target, f"the recording is {recording.status}", purpose, call=call.id)
            raise UnknownRecording(f"recording {recording_id} is {recording.status}: there is no audio to play")
        why_not = refusal(reviewer, recording)
        if why_not:
            _refused(rt, actor, target, why_not, purpose, call=call.id)
            raise AccessRefused(why_not, target)
        sid, key, sha256, call_id = recording.recording_sid, recording.storage_key, recording.stored_sha256, call.id
        reference = ticket.reference if ticket else None
    store: Store = rt.service(Store)
    size = store.size(key)
    if size is None:
        _refused(rt, actor, target, "the stored audio is missing", purpose, call=call_id)
        raise UnknownRecording(f"recording {recording_id}: the stored audio is missing")
    if purpose == "download" or _new_listen(rt, reviewer, recording_id):
        audit.write(rt, purpose, actor, target, call=call_id, ticket=reference, recording_sid=sid)
    return Media(recording_id, sid, StoredStream(store, key, size), size, sha256, "audio/ogg",
                 f"{sid}.ogg")


def _new_listen(rt: Runtime, reviewer: Reviewer, recording_id: int) -> bool:
    """True for the first piece of a recording served to this reviewer in LISTEN_MINUTES (on the
    service's clock); the player's other range requests belong to that listen."""
    now = rt.clock().timestamp()
    key = LISTEN_KEY.format(user=reviewer.id, recording=recording_id)
    last = rt.redis.get(key)
    if last is not None and 0 <= now - float(last) < LISTEN_MINUTES * 60:
        return False
    rt.redis.set(key, str(now), ex=int(timedelta(days=1).total_seconds()))
    return True


def _refused(rt: Runtime, actor: Actor, target: str, reason: str, purpose: str, **detail) -> None:
    audit.write(rt, "refused", actor, target, reason=reason, wanted=purpose, **detail)
