"""The job worker itself: what `ivr worker --burst` (and every test's run_jobs) leaves behind."""
from __future__ import annotations

from ivr import jobs, worker


def note_done(rt, name: str) -> str:
    rt.redis.rpush("test:done", name)
    return name


def test_a_burst_run_never_forks_a_scheduler_between_its_jobs(app):
    """A burst run releases what is due once, at its start. Its upkeep must not start RQ's scheduler
    process between jobs (a long transcription outlasts the upkeep interval): the burst's end then
    waited on that child, and a child forked from a busy process can hang for good."""
    rt = app.extensions["ivr"]
    for name in ("first", "second", "third"):
        jobs.enqueue(rt, note_done, name)
    busy = worker.ServiceWorker(rt, maintenance_interval=0)  # upkeep due after every job
    with worker.keeping_signal_handlers():
        busy.work(burst=True, with_scheduler=True, logging_level="WARNING")
    assert rt.redis.lrange("test:done", 0, -1) == ["first", "second", "third"]
    assert busy.scheduler is None or busy.scheduler._process is None
