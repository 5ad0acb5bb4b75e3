"""Background jobs on Redis with RQ: the queues, putting work on them, and the job class that
hands each job the runtime of the worker that runs it.

Queues, most urgent first: `urgent` (pages to the security team, freeze requests, urgent security
call backs), `callbacks` (the other call backs, and the reconciler), `default`, and `recordings`
(ingesting recordings, which can take minutes, and their daily upkeep). `ivr worker`
(ivr/worker.py) serves them in that order. They are plain RQ queues: `rq info -u $IVR_REDIS_URL`
and rq-dashboard show them; run them with `ivr worker`, not `rq worker`, which has no runtime.

A job function takes the runtime first: `deliver(rt, page_id, level)`. It never builds its own
world from the environment; the worker built one runtime with the factory and passes it.

When a job is due is service time: a job for later is scheduled at `rt.clock()` + the delay, the
worker's scheduler releases it when the worker's clock reaches that moment, and a retry is
scheduled from the runtime's clock too. So a test that moves its clock moves the jobs with it, and
in production (the system clock) this is RQ's usual behaviour.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue, Retry, get_current_job
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry, StartedJobRegistry

from ivr import redis_client
from ivr.settings import Settings

log = logging.getLogger(__name__)

QUEUES = ("urgent", "callbacks", "default", "recordings")
JOB_TIMEOUT = 30  # seconds, unless IVR_JOB_TIMEOUT says otherwise: every job's HTTP calls time out well before
ABANDONED_GRACE = 5  # seconds after a job's timeout before a silent worker's job counts as abandoned
BACKOFF = (1, 2, 6, 12, 24, 60, 120, 180)
LIVE = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)
FAILURE_TTL = 7 * 24 * 3600  # failed jobs stay in RQ's failed registry for a week


def connect(settings: Settings) -> Redis:
    """RQ's connection: it stores pickled job data, so it must not decode responses."""
    return redis_client.connect(settings, socket_timeout=10, socket_connect_timeout=5)


def queue(rt, name: str = "default") -> Queue:
    return Queue(name, connection=rt.jobs, job_class=rt.job_class)


def enqueue(rt, func: Callable, *args, queue_name: str = "default", delay: timedelta | None = None,
            retry: Retry | None = None, job_id: str | None = None, timeout: int = JOB_TIMEOUT,
            kwargs: dict | None = None):
    """Put `func(rt, *args, **kwargs)` on a queue now, or `delay` from now on the runtime's clock. A
    fixed `job_id` makes it idempotent."""
    q = queue(rt, queue_name)
    if job_id is not None and (existing := q.fetch_job(job_id)) is not None:
        return existing
    options = dict(args=args, kwargs=kwargs or {}, retry=retry, job_id=job_id, job_timeout=timeout,
                   failure_ttl=FAILURE_TTL)
    if delay is not None:
        return q.enqueue_at(rt.clock() + delay, func, **options)
    return q.enqueue(func, **options)


def job_state(rt, queue_name: str, job_id: str) -> JobStatus | None:
    """The RQ status of a job by its fixed id, or None if Redis has no such job."""
    job = queue(rt, queue_name).fetch_job(job_id)
    return None if job is None else job.get_status(refresh=False)


def put_back(rt, func: Callable, *args, queue_name: str, job_id: str, retry: Retry | None = None,
             delay: timedelta | None = None, timeout: int = JOB_TIMEOUT):
    """Enqueue `func` under `job_id` again, replacing a finished, failed or lost job of that id (a
    job that is queued, running or scheduled is left alone): what a reconciler or an operator's
    "resend" does."""
    q = queue(rt, queue_name)
    job = q.fetch_job(job_id)
    if job is not None:
        if job.get_status(refresh=False) in LIVE:
            return job
        ScheduledJobRegistry(queue=q).remove(job)
        job.delete()
    return enqueue(rt, func, *args, queue_name=queue_name, delay=delay, retry=retry, job_id=job_id, timeout=timeout)


def last_try() -> bool:
    """Inside a job: is this its last attempt (no RQ retry left after it)?"""
    job = get_current_job()
    return job is None or not job.retries_left


def keep_periodic(rt, func: Callable, name: str, every: int, queue_name: str, keep: int = 3,
                  description: str | None = None) -> str:
    """Make sure `func(rt)` runs at the start of the next period of `every` seconds (service time),
    once per period whoever asks: a reconciler's job schedules its successor this way, and hooks
    (a worker starting, a call answered) make sure one is scheduled after Redis lost its data."""
    slot = int(rt.clock().timestamp() // every) + 1
    at = datetime.fromtimestamp(slot * every, tz=UTC)
    try:
        queue(rt, queue_name).enqueue_at(at, func, job_id=f"{name}-{slot}", unique=True, result_ttl=every * keep,
                                         failure_ttl=FAILURE_TTL, description=description or name)
    except DuplicateJobError:
        return "already scheduled"
    return "scheduled"


def retry_policy(base_seconds: int) -> Retry:
    """Retry a failed delivery with backoff: 1x, 2x, 6x ... 180x the base (5 s: up to 15 min apart)."""
    return Retry(max=len(BACKOFF), interval=[base_seconds * step for step in BACKOFF])


def retry_abandoned(rt) -> None:
    """Jobs left "started" by a worker that died (its heartbeat, on the system clock, lapsed): RQ
    retries them (from the runtime's clock), or files them as failed when no retry is left."""
    for name in QUEUES:
        StartedJobRegistry(queue=queue(rt, name), job_class=rt.job_class).cleanup()


class RuntimeJob(Job):
    """An RQ job run with the runtime of the worker running it (the class is bound to it by
    `bind_job_class`), whose retries are scheduled on that runtime's clock."""

    runtime = None

    def _execute(self):
        if self.runtime is None:
            raise RuntimeError(f"job {self.id}: run ivr's jobs with `ivr worker`, which gives them the runtime")
        return self.func(self.runtime, *self.args, **self.kwargs)

    def retry(self, queue: Queue, pipeline) -> None:
        interval = self.get_retry_interval()
        if not interval or self.runtime is None:
            return super().retry(queue, pipeline)
        self.retries_left -= 1
        at = self.runtime.clock() + timedelta(seconds=interval)
        self.set_status(JobStatus.SCHEDULED)
        queue.schedule_job(self, at, pipeline=pipeline)
        log.info("job %s: retry at %s (service time), %s left", self.id, at.isoformat(), self.retries_left)


def bind_job_class(rt) -> type[RuntimeJob]:
    """RuntimeJob bound to `rt`: what the runtime's queues, workers and registries use."""
    return type("RuntimeJob", (RuntimeJob,), {"runtime": rt, "__module__": __name__})
