"""Recordings when things break: media not there yet, the store down, the disk full, the worker
killed mid-job. Nothing is lost in any of them, there is one stored copy, and Twilio's copy is
deleted only after ours was read back and matched."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import replace

import pytest
from click.testing import CliRunner
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from ivr import jobs
from ivr.cli.main import main
from ivr.recordings.ingest import job_id
from tests.callback_world import IVR, wait_for
from tests.recordings.conftest import make_recordings_world

# The retries follow the service's clock: those tests run again under faketime (time_sensitive).
# The killed-worker tests wait for RQ's heartbeat on the system clock; they run once.


def retry_until_done(world, rounds: int = 8) -> None:
    """Let every retry fall due on the service's clock, one after another."""
    for _ in range(rounds):
        world.rt.clock.advance(seconds=60)
        world.work()


@pytest.mark.time_sensitive
def test_media_not_ready_is_retried_until_twilio_has_it(recorded):
    call = recorded.call("+447700900601")
    entry = recorded.twilio.ledger.recordings[call.recording_sid]
    entry.status = "processing"  # Twilio has not finished storing it: the media answers 404
    recorded.work()
    waiting = recorded.recording(call.sid)
    assert waiting.status == "pending" and waiting.attempts == 1 and "404" in waiting.reason
    job = Job.fetch(job_id(call.recording_sid), connection=recorded.rt.jobs)
    assert job.get_status() == JobStatus.SCHEDULED  # retried with backoff, on the service's clock
    entry.status = "completed"
    recorded.rt.clock.advance(seconds=1)
    recorded.work()
    assert recorded.recording(call.sid).status == "stored"
    assert recorded.at_twilio(call.recording_sid) == "deleted"


@pytest.mark.time_sensitive
def test_the_store_down_then_up_loses_nothing(recorded, settings):
    settings.recordings_dir.write_text("not a folder")  # the store cannot be written
    call = recorded.call("+447700900602")
    recorded.work()
    waiting = recorded.recording(call.sid)
    assert waiting.status == "pending" and "Not a directory" in waiting.reason
    assert recorded.at_twilio(call.recording_sid) == "completed"  # Twilio keeps its copy
    settings.recordings_dir.unlink()
    recorded.rt.clock.advance(seconds=1)
    recorded.work()
    stored = recorded.recording(call.sid)
    assert stored.status == "stored" and (settings.recordings_dir / stored.storage_key).is_file()
    assert recorded.at_twilio(call.recording_sid) == "deleted"


@pytest.fixture
def tiny_disk(settings):
    """The recordings folder on a 1 MB tmpfs (we are root in the test command)."""
    folder = settings.recordings_dir
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


@pytest.mark.time_sensitive
def test_a_full_disk_is_a_clear_failure_and_twilio_keeps_its_copy(recorded, tiny_disk):
    filler = tiny_disk / "filler"
    free = os.statvfs(tiny_disk)
    filler.write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 8192))
    call = recorded.call("+447700900603")
    recorded.work()
    retry_until_done(recorded)
    failed = recorded.recording(call.sid)
    assert failed.status == "failed" and failed.attempts == 7  # the first try and six retries
    assert failed.reason.startswith("the recordings disk is full")
    assert recorded.at_twilio(call.recording_sid) == "completed"
    assert [p.name for p in tiny_disk.rglob("*") if p.is_file()] == ["filler"]  # no partial file left behind
    failure = next(d for k, d in recorded.events(call.sid) if k == "recording_failed")
    assert failure["twilio_copy"] == "kept" and "disk is full" in failure["reason"]
    filler.unlink()  # space again: the operator runs it once more
    result = CliRunner().invoke(main, ["recordings", "ingest", call.recording_sid], env=recorded.env)
    assert result.exit_code == 0, result.output
    assert recorded.recording(call.sid).status == "stored" and recorded.at_twilio(call.recording_sid) == "deleted"


@pytest.mark.parametrize("moment", ["downloading", "deleting at Twilio"])
def test_a_worker_killed_mid_ingest_leaves_one_copy_and_twilio_keeps_its_copy_until_verified(
        settings, clock, sessions, moment):
    made = make_recordings_world(settings, clock, sessions, recordings_job_timeout=8)
    try:
        clock.set("2026-11-24T10:00", "Europe/London")
        call = made.call("+447700900604")
        worker = subprocess.Popen([str(IVR), "worker", "--burst"], env=made.env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        killed: list[str] = []
        method = "GET" if moment == "downloading" else "DELETE"
        app = made.rest.server.app
        serve = app.wsgi_app

        def kill_the_worker(environ, start_response):
            if environ["REQUEST_METHOD"] == method and not killed:
                os.kill(worker.pid, signal.SIGKILL)
                killed.append(environ["PATH_INFO"])
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"the worker is gone"]
            return serve(environ, start_response)

        app.wsgi_app = kill_the_worker
        worker.wait(60)
        app.wsgi_app = serve
        assert killed and worker.returncode == -signal.SIGKILL
        halfway = made.recording(call.sid)
        assert made.at_twilio(call.recording_sid) == "completed"  # Twilio's copy is still there
        if moment == "downloading":
            assert halfway.status == "pending" and not settings.recordings_dir.exists()
        else:  # stored and verified, not yet deleted at Twilio
            assert halfway.status == "stored" and halfway.twilio_deleted_at is None
        started = StartedJobRegistry(queue=Queue("recordings", connection=made.rt.jobs))
        assert wait_for(lambda: job_id(call.recording_sid) in started.get_expired_job_ids(time.time()),
                        timeout=8 + jobs.ABANDONED_GRACE + 10)
        jobs.retry_abandoned(made.rt)  # what every worker's reconciler does
        clock.advance(seconds=1)
        made.work()
        done = made.recording(call.sid)
        assert done.status == "stored" and made.at_twilio(call.recording_sid) == "deleted"
        assert [p.name for p in settings.recordings_dir.rglob("*") if p.is_file()] == [f"{call.recording_sid}.ogg"]
        kinds = [kind for kind, _ in made.events(call.sid)]
        assert kinds.count("recording_stored") == 1 and kinds.count("recording_deleted_at_twilio") == 1
    finally:
        made.rest.__exit__(None, None, None)


def test_media_answered_with_a_redirect_is_not_followed_and_twilio_keeps_its_copy(recorded):
    """Whether Twilio redirects recording media to storage is not confirmed (Options.media_redirect):
    if it does, the fetcher follows no redirect, so the recording waits with a clear reason."""
    recorded.twilio.options = replace(recorded.twilio.options, media_redirect=True)
    asked: list[str] = []
    app = recorded.rest.server.app
    serve = app.wsgi_app

    def noting(environ, start_response):
        asked.append(environ["PATH_INFO"])
        return serve(environ, start_response)

    app.wsgi_app = noting
    call = recorded.call("+447700900605")
    recorded.work()
    waiting = recorded.recording(call.sid)
    assert waiting.status == "pending" and "307 to 127.0.0.1: redirects are not followed" in waiting.reason
    assert asked and not any(path.startswith("/emulated-storage/") for path in asked)
    assert recorded.at_twilio(call.recording_sid) == "completed"
