"""Background jobs on Redis with RQ: the queues, how work is put on them, and the worker's runtime.

Queues, most urgent first: `urgent` (pages to the security team, freeze requests, urgent security
call backs), `callbacks` (the other call backs, and the reconciler) and `default`. `ivr worker`
serves them in that order, with RQ's scheduler for delayed jobs (due call backs, escalations,
retries). They are plain RQ queues: `rq info -u $IVR_REDIS_URL` and rq-dashboard show them.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import timedelta
from typing import Callable

from redis import Redis
from rq import Queue, Retry, Worker

QUEUES = ("urgent", "callbacks", "default")
_runtime = None
_runtime_pid = None


def connect(redis_url: str) -> Redis:
    """RQ's connection: it stores pickled job data, so it must not decode responses."""
    return Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=5)


def queue(connection: Redis, name: str = "default") -> Queue:
    return Queue(name, connection=connection)


def enqueue(connection: Redis, func: Callable, *args, queue_name: str = "default", delay: timedelta | None = None,
            retry: Retry | None = None, job_id: str | None = None):
    """Put `func(*args)` on a queue now, or after `delay`. A fixed `job_id` makes it idempotent."""
    q = queue(connection, queue_name)
    if job_id is not None and q.fetch_job(job_id) is not None:
        return q.fetch_job(job_id)
    if delay is not None:
        return q.enqueue_in(delay, func, *args, retry=retry, job_id=job_id)
    return q.enqueue(func, *args, retry=retry, job_id=job_id)


BACKOFF = (1, 2, 6, 12, 24, 60, 120, 180)


def retry_policy(base_seconds: int) -> Retry:
    """Retry a failed delivery with backoff: 1x, 2x, 6x ... 180x the base (5 s: up to 15 min apart)."""
    return Retry(max=len(BACKOFF), interval=[base_seconds * step for step in BACKOFF])


def worker_runtime():
    """The runtime a job runs with: built once per worker process from the environment. A work
    horse forked from a worker that built it (ServiceWorker) reuses it, with its own database
    connections (the parent's are dropped, not closed, in the child)."""
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
    """The worker's runtime if this process (or the worker it forked from) built it already, else None."""
    return worker_runtime() if _runtime is not None else None


class ServiceWorker(Worker):
    """RQ's forking worker with the service loaded once, before any work horse forks: a job starts
    in milliseconds instead of loading the flows again (which takes seconds). It also starts the
    periodic call back reconciler. (`ivr worker` with plain RQ workers also works: the job modules
    are imported before forking either way, but each horse then builds what its job needs.)"""

    def work(self, *args, **kwargs):
        rt = worker_runtime()
        try:
            callback_jobs.keep_reconciling(rt.jobs, rt.settings.callback_reconcile_seconds)
        except Exception:  # Redis not reachable yet: RQ reports that itself
            pass
        return super().work(*args, **kwargs)


def signed_body(payload: dict, secret: str | None) -> tuple[bytes, dict[str, str]]:
    """JSON body and headers for a webhook to another system, signed with HMAC-SHA256 when a secret is set."""
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-IVR-Signature"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, headers


# Work horses fork from the worker: with the job modules imported here (last, since they import this
# module), each horse starts with them loaded instead of spending a second or two importing them.
from ivr import callback_jobs, freeze, paging  # noqa: E402,F401
