"""The security path's reconciler: pages and freeze requests are database rows first, and Redis
only holds the jobs that deliver them, so a job Redis never took (enqueueing failed), lost (a
restart without its data, a flushed queue) or filed as failed (its worker killed on the last try)
is found here by comparing the two, as the call back reconciler does for call backs
(ivr/callbacks/reconciler.py):

- a page still `pending` gets its delivery job back, an escalated one its level-1 job, and a page
  nobody acknowledged its escalation check;
- a freeze request still `requested` gets its sending job back;
- one whose job RQ filed as failed with no retry left is marked `failed` and alerted on (log at
  ERROR, `ivr_deliveries_given_up`); `ivr pages resend` sends it again.

Rows younger than GRACE seconds are left alone (the webhook that wrote them may be enqueueing
right now). Every worker runs it every IVR_CALLBACK_RECONCILE_SECONDS as a job that schedules its
successor, every answered call makes sure that job is scheduled, and `ivr pages reconcile` runs it
by hand.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from rq.job import JobStatus
from sqlalchemy import select

from ivr import jobs
from ivr.db.models import FreezeRequest, Page
from ivr.runtime import Runtime
from ivr.security import freeze, paging

log = logging.getLogger(__name__)
GRACE = 30  # seconds (service time) a new row's own webhook has to enqueue its job
RECONCILE_KEEP = 3


def utc(value: datetime) -> datetime:
    """SQLite gives stored times back naive, which means UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def reconcile(rt: Runtime) -> dict[str, int]:
    counts = {"pages": 0, "freezes": 0, "put_back": 0, "given_up": 0}
    jobs.retry_abandoned(rt)  # a worker that died mid-job: RQ retries it, or files it as failed
    now = utc(rt.clock())
    settled = now - timedelta(seconds=GRACE)
    with rt.sessions() as db:
        pages = db.execute(select(Page.id, Page.status, Page.level, Page.created_at)
                           .where(Page.status.in_(("pending", "delivered")))).all()
        freezes = db.execute(select(FreezeRequest.id, FreezeRequest.updated_at)
                             .where(FreezeRequest.status == "requested")).all()
    for page in pages:
        if utc(page.created_at) > settled:
            continue
        counts["pages"] += 1
        if page.status == "pending":
            _ensure(rt, counts, paging.delivery_job(page.id, 0), lambda p=page: paging.send(rt, p.id, 0, again=True),
                    lambda why, p=page: paging.give_up(rt, p.id, why))
        if page.level >= 1:
            _ensure(rt, counts, paging.delivery_job(page.id, 1), lambda p=page: paging.send(rt, p.id, 1, again=True),
                    lambda why, p=page: paging.give_up(rt, p.id, why))
        else:
            check_at = utc(page.created_at) + timedelta(seconds=rt.settings.pager_ack_seconds)
            _ensure(rt, counts, paging.check_job(page.id),
                    lambda p=page, at=check_at: jobs.put_back(
                        rt, paging.escalate_if_unacknowledged, p.id, queue_name=paging.QUEUE,
                        job_id=paging.check_job(p.id), delay=max(at - now, timedelta(0)),
                        timeout=rt.settings.job_timeout),
                    None)
    for request in freezes:
        if utc(request.updated_at) > settled:
            continue
        counts["freezes"] += 1
        _ensure(rt, counts, freeze.job_id(request.id), lambda r=request: freeze.send(rt, r.id, again=True),
                lambda why, r=request: freeze.give_up(rt, r.id, why))
    if counts["put_back"] or counts["given_up"]:
        log.warning("reconciled pages and freeze requests: %s", counts)
    return counts


def _ensure(rt: Runtime, counts: dict, job_id: str, put_back, give_up) -> None:
    """The row needs job `job_id`: leave a live one alone, alert on one RQ gave up on, put back a
    missing one (or one that finished without settling the row, which a later job run fixes)."""
    state = jobs.job_state(rt, paging.QUEUE, job_id)
    if state in jobs.LIVE:
        return
    if state == JobStatus.FAILED and give_up is not None:
        give_up(f"job {job_id} failed with no retry left")
        counts["given_up"] += 1
        return
    put_back()
    counts["put_back"] += 1


def reconcile_job(rt: Runtime) -> dict[str, int]:
    """RQ job: reconcile, then schedule the next run."""
    try:
        return reconcile(rt)
    finally:
        keep_reconciling(rt)


def keep_reconciling(rt: Runtime) -> str:
    """Make sure the next periodic reconcile job is scheduled (one per period, whoever asks)."""
    return jobs.keep_periodic(rt, reconcile_job, "security-reconcile", rt.settings.callback_reconcile_seconds,
                              paging.QUEUE, keep=RECONCILE_KEEP,
                              description="reconcile pages and freeze requests (database vs RQ)")
