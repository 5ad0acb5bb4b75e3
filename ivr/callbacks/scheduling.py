"""Call backs on RQ. The database is the record; Redis only holds the jobs that act on it.

Each attempt is one job, `callback-<request id, ten digits>-<attempt>`, scheduled for the
request's due time (the scheduler `ivr worker` runs moves it to its queue then): urgent
security call backs on the `urgent` queue, the others on `callbacks`. A job that fails (the REST
API down, its worker killed) is retried by RQ (`RETRY`), then kept in the failed job registry;
`ivr callbacks retry` brings it back. The reconciler compares the database with Redis and puts back what Redis
lost (a restart without its data, a flushed queue) and takes over placements left half done
(ivr/callbacks/reconciler.py).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from rq import Retry, get_current_job
from rq.exceptions import DuplicateJobError
from rq.job import JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy import text

from ivr import jobs
from ivr.callbacks import booking, placing
from ivr.callbacks.booking import utc
from ivr.db.models import CallbackRequest
from ivr.runtime import Runtime

log = logging.getLogger(__name__)

QUEUE = "callbacks"
RETRY = Retry(max=3, interval=[1, 5, 30])
EARLY = 1.0  # RQ's scheduler looks once a second: jobs are released this early and wait for the due moment
RESULT_TTL = 24 * 3600
FAILURE_TTL = 7 * 24 * 3600


def job_id(request_id: int, attempt: int) -> str:
    """Fixed width: RQ's scheduler releases the jobs due in the same second in the order of their ids
    (its scores are whole seconds), and a job released early waits in its worker for its moment,
    so jobs due one after another must not be released out of order (`callback-10-1` before
    `callback-9-1`)."""
    return f"callback-{request_id:010d}-{attempt}"


def queue_name(priority: int) -> str:
    return "urgent" if priority == 0 else QUEUE


@dataclass(frozen=True)
class Due:
    request_id: int
    key: str
    attempt: int
    priority: int
    due_at: datetime


def schedule(rt: Runtime, request_id: int) -> str:
    """Make sure the next attempt of a pending request has its job, at its due time. Idempotent."""
    with rt.sessions() as db:
        request = db.get(CallbackRequest, request_id)
        if request is None or request.status != "pending":
            return "not pending"
        due = Due(request.id, request.key, request.attempts + 1, request.priority, utc(request.due_at))
    return ensure_job(rt, due)


def ensure_job(rt: Runtime, due: Due, still_pending=None) -> str:
    """Make sure `due`'s attempt has its job at its due time (service time: see ivr/jobs.py)."""
    q = jobs.queue(rt, queue_name(due.priority))
    jid = job_id(due.request_id, due.attempt)
    job = q.fetch_job(jid)
    if job is not None:
        state = job.get_status(refresh=False)
        if state == JobStatus.SCHEDULED and job.kwargs.get("due") == due.due_at.timestamp():
            return "exists"
        if state in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED):
            return "exists"
        if still_pending is not None and not still_pending():
            return "not pending"  # the job ran since the caller looked: nothing to put back
        ScheduledJobRegistry(queue=q).remove(job)
        job.delete()  # due at another time, or finished or failed without placing this attempt
    options = dict(job_id=jid, retry=RETRY, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
                   job_timeout=rt.settings.job_timeout,
                   description=f"call back {due.request_id}, attempt {due.attempt}")
    now, release = rt.clock(), due.due_at - timedelta(seconds=EARLY)
    on_time = {"due": due.due_at.timestamp()} if due.due_at > now else {}  # the job waits for the moment
    try:
        if release <= now:
            q.enqueue(place_job, args=(due.key, due.attempt), kwargs=on_time, at_front=due.priority == 0, **options)
        else:
            q.enqueue_at(release, place_job, args=(due.key, due.attempt), kwargs=on_time, **options)
    except DuplicateJobError:
        return "exists"
    return "scheduled"


def after_status(rt: Runtime, attempt_key: str, call_sid: str, call_status: str, answered_by: str | None = None,
                 duration: int | None = None) -> None:
    """A status callback of an attempt (the webhook, or its retrying job when the webhook failed):
    record it, and schedule the next attempt when there is one."""
    again = placing.status(rt, attempt_key, call_sid, call_status, answered_by, duration)
    if again is not None:
        try:
            schedule(rt, again.id)
        except Exception:  # Redis down: the reconciler schedules it from the database
            log.exception("could not schedule the next attempt of call back %s", again.id)


def due_now(rt: Runtime, key: str) -> str:
    """A caller's kept place has come to the front: their call back is due now."""
    with rt.sessions.begin() as db:
        request = booking.by_key(db, key)
        if request is None or request.status != "pending":
            return "not pending"
        request.due_at = utc(rt.clock())
        due = Due(request.id, request.key, request.attempts + 1, request.priority, utc(rt.clock()))
    return ensure_job(rt, due)  # a job scheduled for later is replaced by one to run now


def place_job(rt: Runtime, key: str, attempt: int, due: float | None = None) -> str:
    """RQ job: place one attempt of a call back (exactly once, see ivr/callbacks/placing.py), at
    the `due` moment (epoch seconds, service time) when released early."""
    wait = (due - rt.clock().timestamp()) if due else 0
    if 0 < wait <= EARLY + 1:
        time.sleep(wait)
    job = get_current_job()
    owner = f"job:{job.id}" if job is not None else f"pid:{os.getpid()}"
    return placing.place(rt, key, attempt, owner).outcome


def warm_up(rt: Runtime) -> None:
    """Open the connections a placement uses (database, Twilio's REST client) before it is needed."""
    with rt.sessions() as db:
        db.execute(text("SELECT 1"))
    _ = rt.twilio  # builds the client and its connection pool


def cancel_jobs(rt: Runtime, request: CallbackRequest) -> None:
    """Drop the scheduled job of a cancelled request (harmless if it runs anyway: it finds it cancelled)."""
    q = jobs.queue(rt, queue_name(request.priority))
    job = q.fetch_job(job_id(request.id, request.attempts + 1))
    if job is not None and job.get_status(refresh=False) in (JobStatus.SCHEDULED, JobStatus.QUEUED):
        job.cancel()
        job.delete()
