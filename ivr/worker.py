"""`ivr worker`: RQ's worker serving the service's queues with one runtime.

Every job here is short and waits on the network (a REST call, a webhook, a few small
transactions), so the worker runs them in its own process instead of forking a work horse for each
(RQ's SimpleWorker): a fork costs more than the job, and without it the worker keeps its database
connections and its HTTP connection to Twilio. Run several workers for more at once. A worker
killed in the middle of a job leaves it "started"; once its heartbeat lapses (the job's timeout
plus ABANDONED_GRACE), the reconcilers have RQ retry it, and the jobs are safe to run twice.

The worker's scheduler releases jobs scheduled for later when the runtime's clock reaches them
(ivr/jobs.py explains why service time, not the system clock). One worker's scheduler serves all of
them (RQ's lock, a lease of 61 s it renews every second); the others stand by. RQ's idle worker
wakes every 405 s and tries the lock only every 10 minutes, so a scheduler lost with its host
(several instances, one dies) left call backs, escalations and retries waiting up to 11 minutes; a
service worker wakes and tries every STANDBY_SECONDS, so another takes over within a minute and a
quarter of the loss.
"""
from __future__ import annotations

import logging
import signal
from contextlib import contextmanager

from rq import SimpleWorker
from rq.scheduler import RQScheduler

from ivr import jobs
from ivr.runtime import Runtime

log = logging.getLogger(__name__)

BURST_MAINTENANCE_SECONDS = 24 * 3600  # a burst run's upkeep: once, at its start
STANDBY_SECONDS = 15  # how often an idle worker wakes to run upkeep and try to take over the scheduler


class ClockScheduler(RQScheduler):
    """RQ's scheduler (its locks, its loop), releasing what is due by the runtime's clock."""

    def __init__(self, *args, runtime: Runtime, **kwargs):
        super().__init__(*args, **kwargs)
        self.runtime = runtime

    def enqueue_scheduled_jobs(self) -> None:
        self._status = self.Status.WORKING
        if not self._scheduled_job_registries and self._acquired_locks:
            self.prepare_registries()
        moment = self.runtime.clock().timestamp()
        for registry in self._scheduled_job_registries:
            queue = jobs.queue(self.runtime, registry.name)
            for job_id in registry.get_jobs_to_schedule(moment):
                if not registry.connection.zrem(registry.key, job_id):
                    continue  # another scheduler released it first
                job = queue.fetch_job(job_id)
                if job is not None:
                    queue.enqueue_job(job, at_front=job.should_enqueue_at_front())
        self._status = self.Status.STARTED


class ServiceWorker(SimpleWorker):
    """Runs the jobs of `runtime`'s queues with that runtime; `worker_started` hooks run first
    (the call back reconciler keeps itself scheduled, connections are opened)."""

    def __init__(self, runtime: Runtime, **kwargs):
        self.runtime = runtime
        queues = [jobs.queue(runtime, name) for name in jobs.QUEUES]
        # RQ's idle worker wakes every worker_ttl - 15 s; upkeep (and the scheduler lock) at most every
        # maintenance_interval
        kwargs = {"maintenance_interval": STANDBY_SECONDS, "worker_ttl": 15 + 5, **kwargs}
        super().__init__(queues, connection=runtime.jobs, job_class=runtime.job_class, **kwargs)

    def work(self, *args, burst: bool = False, **kwargs):
        if burst:
            # a burst run releases what is due once, at its start: its maintenance must not fork a
            # scheduler process while a long job runs (the fork copies a busy process, and the
            # burst's end then waits on that child)
            self.maintenance_interval = BURST_MAINTENANCE_SECONDS
        self.runtime.registry.worker_started(self.runtime)  # a hook that fails is logged; the jobs say the rest
        return super().work(*args, burst=burst, **kwargs)

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        """How long the worker may stay silent in a job (it sends no heartbeat while the job
        runs): the job's timeout, which RQ enforces, and a little more (RQ's own allows a minute)."""
        timeout = job.timeout if job.timeout and job.timeout > 0 else jobs.JOB_TIMEOUT
        return int(timeout) + jobs.ABANDONED_GRACE

    def _start_scheduler(self, burst: bool = False, logging_level="INFO", date_format=None, log_format=None):
        """As RQ's, with the clock-driven scheduler."""
        options = {k: v for k, v in (("date_format", date_format), ("log_format", log_format)) if v}
        self.scheduler = ClockScheduler(self.queues, connection=self.connection, runtime=self.runtime,
                                        logging_level=logging_level or self.log.level, serializer=self.serializer,
                                        **options)
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()


def work(runtime: Runtime, *, burst: bool = False, logging_level: str = "INFO") -> None:
    """Serve the queues (burst: what is queued and due now, then return)."""
    ServiceWorker(runtime).work(burst=burst, with_scheduler=True, logging_level=logging_level)


@contextmanager
def keeping_signal_handlers():
    """RQ's worker installs its own SIGINT/SIGTERM handlers; put the caller's back afterwards (for
    a worker run inside another program, such as the test suite or `ivr call`)."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


__all__ = ["ClockScheduler", "ServiceWorker", "keeping_signal_handlers", "work"]
