"""The recordings table and the timeline: a recording's row, where it is stored, and the lines
it leaves on its call's timeline (stored, transcribed, redacted, deleted) with no content."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.calls.records import note
from ivr.db.models import Call, Recording, Ticket
from ivr.recordings.audio import EXTENSION
from ivr.runtime import Runtime


def by_sid(db: Session, recording_sid: str) -> Recording | None:
    return db.scalars(select(Recording).where(Recording.recording_sid == recording_sid)).first()


def storage_key(rt: Runtime, recording: Recording, call: Call, ticket: Ticket | None, suffix: str = EXTENSION) -> str:
    """region / the call's local date / ticket / RecordingSid: where an operator would look."""
    flow = rt.flows.flows.get(call.region or "")
    started = call.started_at if call.started_at.tzinfo else call.started_at.replace(tzinfo=UTC)
    local = started.astimezone(ZoneInfo(flow.timezone)) if flow else started
    return (f"{call.region or 'none'}/{local:%Y-%m-%d}/{ticket.reference if ticket else 'none'}/"
            f"{recording.recording_sid}.{suffix}")


def note_recording(db: Session, recording: Recording, kind: str, now: datetime, **detail) -> None:
    """A line on the recording's call's timeline (which is its ticket's timeline)."""
    call = db.get(Call, recording.call_id)
    note(db, call, kind, now, recording_sid=recording.recording_sid, **detail)


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
