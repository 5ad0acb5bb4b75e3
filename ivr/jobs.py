"""Background jobs on Redis with RQ: the queues, how work is put on them, and the worker's runtime.

Queues, most urgent first: `urgent` (pages to the security team, freeze requests) and `default`.
`ivr worker` serves both, with RQ's scheduler for delayed jobs (escalations, retries).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Callable

from redis import Redis
from rq import Queue, Retry

QUEUES = ("urgent", "default")
_runtime = None


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
    """The runtime a job runs with: built once per worker process from the environment."""
    global _runtime
    if _runtime is None:
        from ivr.runtime import build_runtime
        from ivr.settings import Settings

        _runtime = build_runtime(Settings.from_env())
    return _runtime


def signed_body(payload: dict, secret: str | None) -> tuple[bytes, dict[str, str]]:
    """JSON body and headers for a webhook to another system, signed with HMAC-SHA256 when a secret is set."""
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-IVR-Signature"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, headers
