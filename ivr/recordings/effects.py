"""What the recordings capability does when others call on it: a completed recording reported
by Twilio becomes a pending row and an ingest job (the webhook answers at once)."""
from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from ivr.calls.records import find_call
from ivr.db.models import Recording
from ivr.recordings.ingest import enqueue_ingest
from ivr.recordings.records import by_sid
from ivr.runtime import Runtime
from ivr.sids import is_sid

log = logging.getLogger(__name__)


def recording_completed(rt: Runtime, call_sid: str, detail: dict) -> str:
    """Twilio has a completed recording of a call: remember it, and queue its ingest."""
    sid = detail.get("recording_sid") or ""
    if not is_sid(sid, "RE"):
        log.warning("recording callback for call %s without a valid RecordingSid", call_sid)
        return "refused"
    try:
        with rt.sessions.begin() as db:
            call = find_call(db, call_sid)
            if call is None:
                return "unknown call"
            if by_sid(db, sid) is None:
                db.add(Recording(recording_sid=sid, call_id=call.id, ticket_id=call.ticket_id, region=call.region,
                                 language=call.language, channels=_number(detail.get("channels")) or 1,
                                 duration_seconds=_number(detail.get("duration")), status="pending",
                                 attempts=0, redactions=[], created_at=rt.clock()))
    except IntegrityError:
        pass  # the same callback twice at once: the other one made the row
    enqueue_ingest(rt, sid)
    return "queued"


def _number(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
