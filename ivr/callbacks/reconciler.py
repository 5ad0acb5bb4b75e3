"""The call back reconciler: the database is the record, Redis only holds the jobs that act on it.

It compares the two and puts back what Redis lost (a restart without its data, a flushed queue):
every pending request gets its job; a placement left half done past its lease is taken over
(checking the call records first); an attempt whose final status never came is asked of Twilio;
jobs of a worker that died are retried. Every worker runs it every IVR_CALLBACK_RECONCILE_SECONDS
as a job that schedules its successor, every incoming call makes sure that job is scheduled, and
`ivr callbacks reconcile` runs it by hand.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from sqlalchemy import select

from ivr import jobs
from ivr.callbacks import booking, placing
from ivr.callbacks.booking import utc
from ivr.callbacks.scheduling import QUEUE, Due, ensure_job, schedule
from ivr.db.models import CallbackAttempt, CallbackRequest
from ivr.runtime import Runtime

log = logging.getLogger(__name__)
RECONCILE_KEEP = 3  # reconcile jobs' results kept this many periods


def reconcile(rt: Runtime) -> dict[str, int]:
    """Compare the database with Redis: every pending request gets its job back; a placement left
    half done past its lease is taken over (checking the call records first); an attempt whose
    final status never came is asked of Twilio."""
    counts = {"pending": 0, "rescheduled": 0, "taken_over": 0, "finished": 0}
    jobs.retry_abandoned(rt)  # jobs of a worker that died: RQ retries them, or files them as failed
    now = utc(rt.clock())
    with rt.sessions() as db:
        rows = db.execute(select(CallbackRequest.id, CallbackRequest.key, CallbackRequest.status,
                                 CallbackRequest.attempts, CallbackRequest.priority, CallbackRequest.due_at)
                          .where(CallbackRequest.status.in_(booking.ACTIVE))
                          .order_by(CallbackRequest.priority, CallbackRequest.due_at)).all()
        latest = {a.request_id: a for a in db.scalars(
            select(CallbackAttempt).where(CallbackAttempt.request_id.in_([r.id for r in rows]))
            .order_by(CallbackAttempt.attempt))} if rows else {}
    for row in rows:
        if row.status == "pending":
            counts["pending"] += 1
            due = Due(row.id, row.key, row.attempts + 1, row.priority, utc(row.due_at))
            if ensure_job(rt, due, still_pending=lambda request_id=row.id: _pending(rt, request_id)) == "scheduled":
                counts["rescheduled"] += 1
            continue
        attempt = latest.get(row.id)
        if attempt is None:
            continue
        if attempt.status == "placing" and (attempt.lease_until is None or utc(attempt.lease_until) <= now):
            result = placing.place(rt, row.key, attempt.attempt, owner=f"reconciler:{os.getpid()}")
            counts["taken_over"] += result.outcome in ("placed", "adopted")
        elif attempt.call_sid and attempt.ended_at is None and _overdue(rt, attempt, now):
            counts["finished"] += _ask_twilio(rt, attempt)
    if counts["rescheduled"] or counts["taken_over"] or counts["finished"]:
        log.warning("reconciled call backs: %s", counts)
    return counts


def _pending(rt: Runtime, request_id: int) -> bool:
    with rt.sessions() as db:
        request = db.get(CallbackRequest, request_id)
        return request is not None and request.status == "pending"


def _overdue(rt: Runtime, attempt: CallbackAttempt, now: datetime) -> bool:
    placed = utc(attempt.placed_at or attempt.created_at)
    return now - placed > timedelta(seconds=rt.settings.callback_ring_seconds + 3600)


def _ask_twilio(rt: Runtime, attempt: CallbackAttempt) -> int:
    """The final status callback of an attempt never came: ask Twilio how the call ended."""
    call = rt.twilio.calls(attempt.call_sid).fetch()
    if call.status not in placing.FINAL_STATUSES:
        return 0
    again = placing.status(rt, attempt.idempotency_key, attempt.call_sid, call.status,
                                  getattr(call, "answered_by", None))
    if again is not None:
        schedule(rt, again.id)
    return 1


def reconcile_job(rt: Runtime) -> dict[str, int]:
    """RQ job: reconcile, then schedule the next run."""
    try:
        return reconcile(rt)
    finally:
        keep_reconciling(rt)


def keep_reconciling(rt: Runtime) -> str:
    """Make sure the next periodic reconcile job is scheduled (one per period, whoever asks)."""
    return jobs.keep_periodic(rt, reconcile_job, "callbacks-reconcile", rt.settings.callback_reconcile_seconds, QUEUE,
                              keep=RECONCILE_KEEP, description="reconcile call backs (database vs RQ)")
