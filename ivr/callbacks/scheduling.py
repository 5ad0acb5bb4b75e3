"""Call backs on RQ. The database is the record; Redis only holds the jobs that act on it.

Each attempt is one job, `callback-<request id, ten digits>-<attempt>`, scheduled for the
request's due time (RQ's scheduler, which `ivr worker` runs, moves it to its queue then): urgent
security call backs on the `urgent` queue, the others on `callbacks`. A job that fails (the REST
API down, its worker killed) is retried by RQ (`RETRY`), then kept in the failed job registry;
`ivr callbacks retry` brings it back. The reconciler compares the database with Redis and puts back what Redis
lost (a restart without its data, a flushed queue) and takes over placements left half done; every
worker runs it every IVR_CALLBACK_RECONCILE_SECONDS as a job that schedules its successor, and
`ivr callbacks reconcile` runs it by hand.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property

from rq import Queue, Retry, get_current_job
from rq.exceptions import DuplicateJobError
from rq.job import JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from ivr.callbacks import placing
from ivr.callbacks import booking
from ivr import jobs
from ivr.callbacks.booking import utc
from ivr.db.models import CallbackAttempt, CallbackRequest

log = logging.getLogger(__name__)

QUEUE = "callbacks"
RETRY = Retry(max=3, interval=[1, 5, 30])
EARLY = 1.0  # RQ's scheduler looks once a second: jobs are released this early and wait for the due moment
RESULT_TTL = 24 * 3600
FAILURE_TTL = 7 * 24 * 3600
RECONCILE_KEEP = 3  # reconcile jobs' results kept this many periods


def job_id(request_id: int, attempt: int) -> str:
    """Fixed width: RQ's scheduler releases the jobs due in the same second in the order of their ids
    (its scores are whole seconds), and a job released early waits in its worker for its moment,
    so jobs due one after another must not be released out of order (`callback-10-1` before
    `callback-9-1`)."""
    return f"callback-{request_id:010d}-{attempt}"


def queue_name(priority: int) -> str:
    return "urgent" if priority == 0 else QUEUE


@dataclass(frozen=True)
class _Due:
    request_id: int
    key: str
    attempt: int
    priority: int
    due_at: datetime


def schedule(rt, request_id: int) -> str:
    """Make sure the next attempt of a pending request has its job, at its due time. Idempotent."""
    with rt.sessions() as db:
        request = db.get(CallbackRequest, request_id)
        if request is None or request.status != "pending":
            return "not pending"
        due = _Due(request.id, request.key, request.attempts + 1, request.priority, utc(request.due_at))
    return _ensure_job(rt, due)


def _ensure_job(rt, due: _Due, still_pending=None) -> str:
    q = Queue(queue_name(due.priority), connection=rt.jobs)
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
    now, release = _real_now(), due.due_at - timedelta(seconds=EARLY)
    on_time = {"due": due.due_at.timestamp()} if due.due_at > now else {}  # the job waits for the moment
    try:
        if release <= now:
            q.enqueue(place_job, args=(due.key, due.attempt), kwargs=on_time, at_front=due.priority == 0, **options)
        else:
            q.enqueue_at(release, place_job, args=(due.key, due.attempt), kwargs=on_time, **options)
    except DuplicateJobError:
        return "exists"
    return "scheduled"


def due_now(rt, key: str) -> str:
    """A caller's kept place has come to the front: their call back is due now."""
    with rt.sessions.begin() as db:
        request = booking.by_key(db, key)
        if request is None or request.status != "pending":
            return "not pending"
        request.due_at = utc(rt.clock())
        due = _Due(request.id, request.key, request.attempts + 1, request.priority, _real_now())
    return _ensure_job(rt, due)  # a job scheduled for later is replaced by one to run now


def place_job(key: str, attempt: int, due: float | None = None) -> str:
    """RQ job: place one attempt of a call back (exactly once, see ivr/placing.py), at the
    `due` moment (epoch seconds) when released early."""
    wait = (due - time.time()) if due else 0
    if 0 < wait <= EARLY + 1:
        time.sleep(wait)
    job = get_current_job()
    owner = f"job:{job.id}" if job is not None else f"pid:{os.getpid()}"
    return placing.place(job_runtime(), key, attempt, owner).outcome


class JobRuntime:
    """What call back jobs need (settings, database, Redis, the REST client), built in
    milliseconds; the flows and desks, which take seconds to load and check, only if a job needs
    them. Used when the worker did not build the whole runtime before forking."""

    def __init__(self, settings):
        from redis import Redis

        from ivr.db.database import make_engine, make_sessions

        self.settings = settings
        self.sessions = make_sessions(make_engine(settings.database_url))
        self.redis = Redis.from_url(settings.redis_url, decode_responses=True, socket_timeout=5)
        self.jobs = jobs.connect(settings.redis_url)
        self.clock = lambda: datetime.now(timezone.utc)

    def url_for(self, path: str) -> str:
        return self.settings.url_for(path)

    @cached_property
    def twilio(self):
        from ivr.twilio_rest import twilio_client

        return twilio_client(self.settings)

    @cached_property
    def flows(self):
        from ivr.flows.loader import load_flows

        return load_flows(self.settings.flows_dir)

    @cached_property
    def desks(self):
        from ivr.runtime import checked_desks

        return checked_desks(self.settings.flows_dir, self.flows)


_light: tuple[int, JobRuntime] | None = None


def job_runtime():
    """The worker's whole runtime when it was built before forking (ServiceWorker), else a light one."""
    global _light
    prebuilt = jobs.prebuilt_runtime()
    if prebuilt is not None:
        return prebuilt
    if _light is None or _light[0] != os.getpid():
        from ivr.settings import Settings

        _light = (os.getpid(), JobRuntime(Settings.from_env()))
    return _light[1]


def warm_up(rt) -> None:
    """Open the connections a placement uses (database, Twilio's REST client) before it is needed."""
    from sqlalchemy import text

    with rt.sessions() as db:
        db.execute(text("SELECT 1"))
    rt.twilio


def cancel_jobs(rt, request: CallbackRequest) -> None:
    """Drop the scheduled job of a cancelled request (harmless if it runs anyway: it finds it cancelled)."""
    q = Queue(queue_name(request.priority), connection=rt.jobs)
    job = q.fetch_job(job_id(request.id, request.attempts + 1))
    if job is not None and job.get_status(refresh=False) in (JobStatus.SCHEDULED, JobStatus.QUEUED):
        job.cancel()
        job.delete()


# -- the reconciler -------------------------------------------------------------------------------

def reconcile(rt) -> dict[str, int]:
    """Compare the database with Redis: every pending request gets its job back; a placement left
    half done past its lease is taken over (checking the call records first); an attempt whose
    final status never came is asked of Twilio."""
    counts = {"pending": 0, "rescheduled": 0, "taken_over": 0, "finished": 0}
    jobs.retry_abandoned(rt.jobs)  # jobs of a worker that died: RQ retries them, or files them as failed
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
            due = _Due(row.id, row.key, row.attempts + 1, row.priority, utc(row.due_at))
            if _ensure_job(rt, due, still_pending=lambda request_id=row.id: _pending(rt, request_id)) == "scheduled":
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


def _pending(rt, request_id: int) -> bool:
    with rt.sessions() as db:
        request = db.get(CallbackRequest, request_id)
        return request is not None and request.status == "pending"


def _overdue(rt, attempt: CallbackAttempt, now: datetime) -> bool:
    placed = utc(attempt.placed_at or attempt.created_at)
    return now - placed > timedelta(seconds=rt.settings.callback_ring_seconds + 3600)


def _ask_twilio(rt, attempt: CallbackAttempt) -> int:
    """The final status callback of an attempt never came: ask Twilio how the call ended."""
    call = rt.twilio.calls(attempt.call_sid).fetch()
    if call.status not in placing.FINAL_STATUSES:
        return 0
    again = placing.status(rt, attempt.idempotency_key, attempt.call_sid, call.status,
                                  getattr(call, "answered_by", None))
    if again is not None:
        schedule(rt, again.id)
    return 1


def reconcile_job() -> dict[str, int]:
    """RQ job: reconcile, then schedule the next run."""
    rt = job_runtime()
    try:
        return reconcile(rt)
    finally:
        keep_reconciling(rt.jobs, rt.settings.callback_reconcile_seconds)


def keep_reconciling(connection, every: int) -> str:
    """Make sure the next periodic reconcile job is scheduled (one per period, whoever asks)."""
    slot = int(_real_now().timestamp() // every) + 1
    at = datetime.fromtimestamp(slot * every, tz=timezone.utc)
    try:
        Queue(QUEUE, connection=connection).enqueue_at(
            at, reconcile_job, job_id=f"callbacks-reconcile-{slot}", unique=True, result_ttl=every * RECONCILE_KEEP,
            failure_ttl=FAILURE_TTL, description="reconcile call backs (database vs RQ)")
    except DuplicateJobError:
        return "already scheduled"
    return "scheduled"


def _real_now() -> datetime:
    """RQ's scheduler runs on the real clock, whatever the service's clock says (tests set it)."""
    return datetime.now(timezone.utc)
