"""Background jobs on Redis with RQ: the queues, how work is put on them, and the worker's runtime.

Queues, most urgent first: `urgent` (pages to the security team, freeze requests, urgent security
call backs), `callbacks` (the other call backs, and the reconciler) and `default`. `ivr worker`
serves them in that order, with RQ's scheduler for delayed jobs (due call backs, escalations,
retries). They are plain RQ queues: `rq info -u $IVR_REDIS_URL` and rq-dashboard show them.

Every job here is short and waits on the network (a REST call, a webhook, a few small
transactions), so `ivr worker` runs them in its own process instead of forking a work horse for
each (`ServiceWorker`): a fork costs more than the job, and without it a worker keeps its
database connections and its HTTP connection to Twilio. Run several workers for more at once.
A worker killed in the middle of a job leaves it "started"; once its heartbeat lapses (the job's
timeout plus `ABANDONED_GRACE`), RQ's clean-up retries it. The call back reconciler runs that
clean-up every IVR_CALLBACK_RECONCILE_SECONDS, and the jobs themselves are safe to run twice.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from datetime import timedelta
from typing import Callable

from redis import Redis
from rq import Queue, Retry, SimpleWorker
from rq.registry import StartedJobRegistry

log = logging.getLogger(__name__)

QUEUES = ("urgent", "callbacks", "default")
JOB_TIMEOUT = 30  # seconds, unless IVR_JOB_TIMEOUT says otherwise: every job's HTTP calls time out well before
ABANDONED_GRACE = 5  # seconds after a job's timeout before a silent worker's job counts as abandoned
_runtime = None
_runtime_pid = None


def connect(redis_url: str) -> Redis:
    """RQ's connection: it stores pickled job data, so it must not decode responses."""
    return Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=5)


def queue(connection: Redis, name: str = "default") -> Queue:
    return Queue(name, connection=connection)


def enqueue(connection: Redis, func: Callable, *args, queue_name: str = "default", delay: timedelta | None = None,
            retry: Retry | None = None, job_id: str | None = None, timeout: int = JOB_TIMEOUT):
    """Put `func(*args)` on a queue now, or after `delay`. A fixed `job_id` makes it idempotent."""
    q = queue(connection, queue_name)
    if job_id is not None and q.fetch_job(job_id) is not None:
        return q.fetch_job(job_id)
    if delay is not None:
        return q.enqueue_in(delay, func, *args, retry=retry, job_id=job_id, job_timeout=timeout)
    return q.enqueue(func, *args, retry=retry, job_id=job_id, job_timeout=timeout)


def retry_abandoned(connection: Redis) -> None:
    """Jobs left "started" by a worker that died (past their heartbeat): RQ retries them, or files
    them as failed when no retry is left."""
    for name in QUEUES:
        StartedJobRegistry(queue=queue(connection, name)).cleanup()


BACKOFF = (1, 2, 6, 12, 24, 60, 120, 180)


def retry_policy(base_seconds: int) -> Retry:
    """Retry a failed delivery with backoff: 1x, 2x, 6x ... 180x the base (5 s: up to 15 min apart)."""
    return Retry(max=len(BACKOFF), interval=[base_seconds * step for step in BACKOFF])


def worker_runtime():
    """The runtime a job runs with: built once per worker process from the environment and kept
    (a forked child of a process that built it drops the parent's database connections)."""
    global _runtime, _runtime_pid
    if _runtime is None:
        from ivr.runtime import build_runtime
        from ivr.settings import Settings

        _runtime = build_runtime(Settings.from_env())
    elif _runtime_pid != os.getpid():
        _runtime.sessions.kw["bind"].dispose(close=False)
    _runtime_pid = os.getpid()
    return _runtime


def prebuilt_runtime():
    """The whole runtime if this process (or the process it forked from) built it already, else None."""
    return worker_runtime() if _runtime is not None else None


class ServiceWorker(SimpleWorker):
    """`ivr worker`: RQ's worker running each job in its own process (no work horse), with the
    periodic call back reconciler. A job builds the runtime it needs on first use and keeps it."""

    def work(self, *args, **kwargs):
        try:
            rt = scheduling.job_runtime()
            scheduling.keep_reconciling(self.connection, rt.settings.callback_reconcile_seconds)
            scheduling.warm_up(rt)  # the first call back due is not slowed by connecting
        except Exception:  # Redis or the database not reachable yet: the jobs will say so
            log.warning("worker starting without its connections ready", exc_info=True)
        return super().work(*args, **kwargs)

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        """How long the worker may stay silent in a job (it sends no heartbeat while the job
        runs): the job's timeout, which RQ enforces, and a little more (RQ's own allows a minute)."""
        timeout = job.timeout if job.timeout and job.timeout > 0 else JOB_TIMEOUT
        return int(timeout) + ABANDONED_GRACE


def signed_body(payload: dict, secret: str | None) -> tuple[bytes, dict[str, str]]:
    """JSON body and headers for a webhook to another system, signed with HMAC-SHA256 when a secret is set."""
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-IVR-Signature"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, headers


# The job modules, imported with this one (last, since they import it): a worker (or a forking RQ
# worker's horse) starts with them loaded instead of spending a second or two importing them.
from ivr.callbacks import scheduling  # noqa: E402,F401
from ivr.security import freeze
from ivr.security import paging
