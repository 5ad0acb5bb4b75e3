"""How long recordings are kept, and taking them away: the region's retention (its flow file's
`retention:`), a legal hold on a ticket (nothing of it is purged or deleted while held), the
daily purge, and deletion on request. What is removed: the stored audio, the encrypted original
if any, the transcripts, Twilio's copy, and (on request) the caller's words on the timeline. What
stays: the recording's row (status deleted) and a tombstone on the timeline saying who, when
and why, never what was said.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from rq.exceptions import DuplicateJobError
from sqlalchemy import select

from ivr import jobs
from ivr.calls.records import note
from ivr.db.models import Call, CallEvent, Recording, Ticket
from ivr.errors import IvrError
from ivr.recordings.ingest import QUEUE, delete_at_twilio, enqueue_ingest
from ivr.recordings.records import note_recording, utc
from ivr.recordings.storage import Store
from ivr.runtime import Runtime

log = logging.getLogger(__name__)
KEPT_STATUSES = ("stored", "failed")  # something is kept somewhere (ours, or Twilio's copy)
SPOKEN = ("text", "transcript")  # timeline fields holding the caller's words
DAY = 86400


@dataclass
class Outcome:
    removed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # tickets under legal hold, left alone
    problems: list[str] = field(default_factory=list)


def due_for_purge(rt: Runtime) -> list[str]:
    """RecordingSids past their region's retention, oldest first; held tickets are skipped."""
    now = utc(rt.clock())
    with rt.sessions() as db:
        rows = db.execute(select(Recording.recording_sid, Recording.region, Recording.created_at, Ticket.priority,
                                 Ticket.legal_hold)
                          .outerjoin(Ticket, Recording.ticket_id == Ticket.id)
                          .where(Recording.status.in_(KEPT_STATUSES)).order_by(Recording.created_at)).all()
    due = []
    for sid, region, created, priority, hold in rows:
        flow = rt.flows.flows.get(region or "")
        retention = flow.retention if flow else None
        if retention is None or hold:
            continue
        if utc(created) + timedelta(days=retention.for_ticket(priority)) <= now:
            due.append(sid)
    return due


def purge_one(rt: Runtime, recording_sid: str) -> None:
    remove(rt, recording_sid, tombstone="recording_purged", by="retention", reason="retention period over")


def purge(rt: Runtime) -> Outcome:
    outcome = Outcome()
    for sid in due_for_purge(rt):
        try:
            purge_one(rt, sid)
            outcome.removed.append(sid)
        except IvrError as problem:
            outcome.problems.append(f"{sid}: {problem}")
    return outcome


def remove(rt: Runtime, recording_sid: str, *, tombstone: str, by: str, reason: str,
           scrub_words: bool = False) -> None:
    """Take every copy of one recording away (Twilio's first: if that fails nothing is marked
    deleted and the command can be run again), then leave the tombstone."""
    with rt.sessions() as db:
        recording = db.scalars(select(Recording).where(Recording.recording_sid == recording_sid)).one()
        keys = [k for k in (recording.storage_key, recording.original_key) if k]
        at_twilio = recording.twilio_deleted_at is None
    if at_twilio:
        try:
            delete_at_twilio(rt, recording_sid)
        except Exception as error:
            raise IvrError(f"Twilio's copy could not be deleted ({type(error).__name__}: {error})") from None
    store: Store = rt.service(Store)
    for key in keys:
        store.delete(key)
    now = rt.clock()
    with rt.sessions.begin() as db:
        recording = db.scalars(select(Recording).where(Recording.recording_sid == recording_sid)).one()
        recording.transcripts.clear()
        recording.status, recording.deleted_at, recording.reason = "deleted", now, f"{reason} ({by})"[:500]
        recording.storage_key = recording.original_key = None
        recording.redactions = []
        if at_twilio:
            recording.twilio_deleted_at = now
        if scrub_words:
            _scrub_spoken_words(db, recording.call_id)
        note_recording(db, recording, tombstone, now, by=by, reason=reason, at=now.isoformat(timespec="seconds"))


def _scrub_spoken_words(db, call_id: int) -> None:
    for event in db.scalars(select(CallEvent).where(CallEvent.call_id == call_id)):
        if any(event.detail.get(name) for name in SPOKEN):
            event.detail = {k: ("[deleted on request]" if k in SPOKEN and v else v) for k, v in event.detail.items()}


def delete_on_request(rt: Runtime, *, by: str, reason: str, ticket: str | None = None,
                      caller: str | None = None) -> Outcome:
    """Everything recorded of a ticket, or of every ticket of a caller's number."""
    outcome = Outcome()
    with rt.sessions() as db:
        query = select(Recording.recording_sid, Ticket.reference, Ticket.legal_hold).join(
            Call, Recording.call_id == Call.id).outerjoin(Ticket, Recording.ticket_id == Ticket.id).where(
            Recording.status != "deleted")
        query = query.where(Ticket.reference == ticket) if ticket else query.where(Call.from_number == caller)
        rows = db.execute(query).all()
    for sid, reference, hold in rows:
        if hold:
            outcome.held.append(f"{sid} (ticket {reference}, held: {hold.get('reason')})")
            continue
        try:
            remove(rt, sid, tombstone="recording_deleted", by=by, reason=reason, scrub_words=True)
            outcome.removed.append(sid)
        except IvrError as problem:
            outcome.problems.append(f"{sid}: {problem}")
    return outcome


def set_hold(rt: Runtime, reference: str, *, by: str, reason: str | None, on: bool) -> Ticket:
    """Put a ticket under legal hold (reason required) or release it; noted on its latest call."""
    now = rt.clock()
    with rt.sessions.begin() as db:
        ticket = db.scalars(select(Ticket).where(Ticket.reference == reference)).first()
        if ticket is None:
            raise IvrError(f"no ticket {reference}")
        ticket.legal_hold = {"by": by, "at": now.isoformat(timespec="seconds"), "reason": reason} if on else None
        call = db.scalars(select(Call).where(Call.ticket_id == ticket.id).order_by(Call.started_at.desc())).first()
        if call is not None:
            note(db, call, "legal_hold_placed" if on else "legal_hold_released", now, by=by, reason=reason)
    return ticket


# -- the daily upkeep job ----------------------------------------------------------------------------

def upkeep(rt: Runtime) -> dict[str, int]:
    """Once a day: purge what is past retention; queue again any pending recording whose job Redis
    lost; retry deleting Twilio's copy of stored recordings where that failed."""
    counts = {"purged": 0, "requeued": 0, "twilio_deleted": 0}
    counts["purged"] = len(purge(rt).removed)
    day_ago = utc(rt.clock()) - timedelta(days=1)
    with rt.sessions() as db:
        pending = db.scalars(select(Recording.recording_sid).where(Recording.status == "pending")).all()
        undeleted = db.scalars(select(Recording.recording_sid).where(
            Recording.status == "stored", Recording.twilio_deleted_at.is_(None),
            Recording.stored_at <= day_ago)).all() if rt.settings.recordings_delete_at_twilio else []
    for sid in [*pending, *undeleted]:
        enqueue_ingest(rt, sid)
    counts["requeued"], counts["twilio_deleted"] = len(pending), len(undeleted)
    return counts


def upkeep_job(rt: Runtime) -> dict[str, int]:
    try:
        return upkeep(rt)
    finally:
        keep_upkeep(rt)


def keep_upkeep(rt: Runtime) -> str:
    """Make sure the next daily upkeep (at 03:00 UTC, by the runtime's clock) is scheduled, once."""
    now = rt.clock().timestamp()
    day = int((now - 3 * 3600) // DAY) + 1
    at = datetime.fromtimestamp(day * DAY + 3 * 3600, tz=UTC)
    try:
        jobs.queue(rt, QUEUE).enqueue_at(at, upkeep_job, job_id=f"recordings-upkeep-{day}", unique=True,
                                         result_ttl=3 * DAY, failure_ttl=30 * DAY,
                                         job_timeout=rt.settings.recordings_job_timeout,
                                         description="recordings: purge past retention, requeue, Twilio copies")
    except DuplicateJobError:
        return "already scheduled"
    return "scheduled"
