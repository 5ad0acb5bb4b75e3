"""Call backs when things break, with a real Redis and real `ivr worker` processes: a worker killed
while placing a call back, Redis restarted (with and without its data), two requests at the same
moment, bad numbers. The database is the record; no call back is lost or made twice."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import func, select

from ivr import jobs
from ivr.callbacks import booking, reconciler, scheduling
from ivr.cli.callbacks import callbacks as callbacks_cli
from ivr.db.models import CallbackRequest, Ticket
from ivr.emulator import Agent, Press, Silence
from tests.callback_world import BOOK_FROM_THE_QUEUE, GB, OLIVIA, make_world, wait_for
from tests.conftest import real_time_env

pytestmark = pytest.mark.time_sensitive  # hours, the rota, paging, call backs or scheduling


def test_a_worker_killed_while_placing_a_call_back_still_calls_exactly_once(settings, clock, sessions):
    """The worker dies (SIGKILL) after Twilio accepted the call but before it heard back. Its job
    is left "started"; once the worker's heartbeat lapses, the reconciler has RQ retry it, and the
    retried job finds the call in the records and does not call again."""
    world, rest = make_world(settings, clock, sessions, job_timeout=2)
    try:
        clock.set("2026-11-24T10:00", "Europe/London")
        world.twilio.person("+447400123421", Agent(presses=()))
        world.twilio.person(OLIVIA, Agent())
        world.book("+447400123421")
        world.until_due("+447400123421")
        worker = world.start_worker()
        place = world.twilio.place_outbound
        killed: list[int] = []

        def place_then_kill(entry, form):  # Twilio has the call; the worker never gets the answer
            place(entry, form)
            os.kill(worker.pid, signal.SIGKILL)
            killed.append(worker.pid)

        world.twilio.place_outbound = place_then_kill
        worker.communicate(timeout=120)
        assert killed and worker.returncode == -signal.SIGKILL
        world.twilio.place_outbound = place
        [job_id] = StartedJobRegistry(queue=Queue("callbacks", connection=world.rt.jobs)).get_job_ids()
        assert reconciler.reconcile(world.rt)["rescheduled"] == 0  # still within its heartbeat: left alone
        started = StartedJobRegistry(queue=Queue("callbacks", connection=world.rt.jobs))
        # the job's timeout (2 s) and the grace pass on the system clock: that is how long the worker is silent
        assert wait_for(lambda: job_id in started.get_expired_job_ids(time.time()),
                        timeout=2 + jobs.ABANDONED_GRACE + 5)
        reconciler.reconcile(world.rt)
        assert Job.fetch(job_id, connection=world.rt.jobs).get_status() == JobStatus.SCHEDULED  # RQ retries it
        clock.advance(seconds=1)  # RQ retries the job after 1 s of service time
        world.work()
        world.twilio.wait_outbound()
        [placed] = world.calls_to("+447400123421")
        [attempt] = world.attempts("+447400123421")
        assert attempt.call_sid == placed.sid and attempt.attempt == 1
        assert world.request("+447400123421").status == "completed"
        assert [c.bridged_to for c in world.twilio.outbound] == [[OLIVIA]]
    finally:
        world.twilio.wait_outbound()
        rest.__exit__(None, None, None)


@pytest.fixture
def aof_redis(tmp_path):
    """A Redis of our own with its append-only file on, that the test can kill and start again."""
    folder = tmp_path / "redis-aof"
    folder.mkdir()
    socket = folder / "redis.sock"
    command = [shutil.which("redis-server"), "--port", "0", "--unixsocket", str(socket), "--dir", str(folder),
               "--appendonly", "yes", "--appendfsync", "always", "--save", ""]
    server = _Server(command, f"unix://{socket}")
    server.start()
    yield server
    server.stop()


class _Server:
    def __init__(self, command, url):
        self.command, self.url, self.process = command, url, None

    def start(self):
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, env=real_time_env())
        assert wait_for(lambda: _pings(self.url), timeout=10)

    def kill(self):
        self.process.kill()
        self.process.wait(10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def _pings(url) -> bool:
    try:
        return Redis.from_url(url).ping()
    except Exception:
        return False


def _scheduled(redis_url) -> set[str]:
    connection = Redis.from_url(redis_url)
    return {job for name in ("callbacks", "urgent")
            for job in ScheduledJobRegistry(queue=Queue(name, connection=connection)).get_job_ids()}


def test_redis_restarted_loses_no_call_back_and_the_reconciler_restores_what_it_lost(settings, clock, sessions,
                                                                                      aof_redis):
    made, rest = make_world(settings.with_(redis_url=aof_redis.url), clock, sessions)
    try:
        later = clock() + timedelta(hours=1)
        numbers = ["+447400123431", "+447400123432", "+447400123433"]
        with sessions.begin() as db:
            ids = [booking.request(db, None, None, n, "normal", "caller_queue", later, due=later, desk="support-gb",
                                     caller_id=GB).id for n in numbers]
        for request_id in ids:
            scheduling.schedule(made.rt, request_id)
        expected = {scheduling.job_id(i, 1) for i in ids}
        assert _scheduled(aof_redis.url) == expected

        aof_redis.kill()  # SIGKILL: the append-only file is all that survives
        aof_redis.start()
        assert _scheduled(aof_redis.url) == expected  # nothing lost

        Redis.from_url(aof_redis.url).flushall()  # and when Redis loses everything, the database still has it
        assert _scheduled(aof_redis.url) == set()
        result = CliRunner().invoke(callbacks_cli, ["reconcile"], env=made.env)  # `ivr callbacks reconcile`
        assert result.exit_code == 0, result.output
        assert "rescheduled 3" in result.output
        assert expected <= _scheduled(aof_redis.url)
        with sessions() as db:
            assert db.scalar(select(func.count()).select_from(CallbackRequest)
                             .where(CallbackRequest.status == "pending")) == 3
    finally:
        rest.__exit__(None, None, None)


def test_two_requests_at_the_same_moment_make_one_call_back(world, sessions):
    """Eight webhooks book a call back for the same number and ticket at once: one request, updated."""
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    with sessions.begin() as db:
        ticket = Ticket(reference="4821000", region="gb", caller_number="+447400123441", status="open",
                        priority="P3", created_at=now, updated_at=now)
        db.add(ticket)
    start = threading.Barrier(8)
    made: list[int] = []

    def book(n: int) -> None:
        start.wait()
        with sessions.begin() as db:
            mine = db.get(Ticket, ticket.id)
            request = booking.request(db, None, mine, "+447400123441", "normal", "caller_queue", now,
                                        due=now + timedelta(minutes=n), desk="support-gb", caller_id=GB)
            made.append(request.id)

    threads = [threading.Thread(target=book, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with sessions() as db:
        rows = db.scalars(select(CallbackRequest).where(CallbackRequest.number == "+447400123441")).all()
    assert len(rows) == 1 and made == [rows[0].id] * 8
    assert booking.utc(rows[0].due_at) == now  # the earliest due time asked for is kept


def test_two_calls_booking_at_once_place_one_call_back(world, clock):
    """The caller, on an open ticket, books from two calls at the same moment (two phones, one
    number): one request, and the worker places one call back."""
    clock.set("2026-11-24T09:00", "Europe/London")
    world.twilio.call(GB, "+447400123442", [Silence(), Press("2"), Press("2"), Press("2")])  # opens the ticket
    clock.set("2026-11-24T10:00", "Europe/London")
    world.twilio.person("+447400123442", Agent(presses=()))
    world.twilio.person(OLIVIA, Agent())
    for key in ("olivia", "tom"):
        world.rt.redis.set(f"ivr:queue:support-gb:agent:{key}", "busy:elsewhere", ex=600)
    calls = [threading.Thread(target=world.twilio.call, args=(GB, "+447400123442", list(BOOK_FROM_THE_QUEUE)))
             for _ in range(2)]
    for call in calls:
        call.start()
    for call in calls:
        call.join(60)
    world.free_agents()
    with world.sessions() as db:
        assert db.scalar(select(func.count()).select_from(CallbackRequest)
                         .where(CallbackRequest.number == "+447400123442")) == 1
    world.until_due("+447400123442")
    world.work()
    world.twilio.wait_outbound()
    assert len(world.calls_to("+447400123442")) == 1


def test_bad_numbers_are_refused_with_a_reason_and_nothing_is_queued(world, clock):
    clock.set("2026-11-24T10:00", "Europe/London")
    for key in ("olivia", "tom"):
        world.rt.redis.set(f"ivr:queue:support-gb:agent:{key}", "busy:elsewhere", ex=600)
    call = world.twilio.call(GB, "anonymous", [Silence(), Press("2"), Press("6"), Press("1"), Press("123#"),
                                               Press("09098790000#"), Press("0033612345678#"), Silence()])
    heard = " ".join(call.said)
    assert "that is not a phone number we can call" in heard
    assert "we cannot call premium-rate numbers" in heard and "only call back numbers in United Kingdom" in heard
    assert "We will call you back" not in heard
    with world.sessions() as db:
        assert db.scalar(select(func.count()).select_from(CallbackRequest)) == 0
    connection = world.rt.jobs
    assert all(Queue(name, connection=connection).count == 0 for name in ("urgent", "callbacks"))
    assert not {job for job in _scheduled(world.rt.settings.redis_url)
                if not job.startswith(("callbacks-reconcile", "security-reconcile"))}


def test_an_answering_machine_is_hung_up_on_and_tried_again_until_the_caller_answers(world, clock):
    """Twilio's machine detection says a machine answered: it is hung up on, the next attempt comes
    after the back-off (1 s here), within hours, from a real worker; every attempt and outcome is on
    the timeline of the call that booked it."""
    clock.set("2026-11-24T10:00", "Europe/London")
    world.twilio.person("+447400123451", Agent(answer="machine", presses=()), Agent(presses=()))
    world.twilio.person(OLIVIA, Agent())
    first = world.book("+447400123451")
    world.until_due("+447400123451")
    world.work()
    world.twilio.wait_outbound()
    assert (world.request("+447400123451").status, world.request("+447400123451").attempts) == ("pending", 1)
    clock.advance(seconds=1)  # IVR_CALLBACK_RETRY_SECONDS=1, on the service's clock
    world.work()
    world.twilio.wait_outbound()
    request = world.request("+447400123451")
    assert (request.status, request.attempts, request.last_outcome) == ("completed", 2, "answered")
    assert [a.outcome for a in world.attempts("+447400123451")] == ["machine", "answered"]
    assert [a.answered_by for a in world.attempts("+447400123451")] == ["machine_start", "human"]
    from tests.security.test_urgent import timeline

    events = timeline(world.sessions, first.sid)
    assert [d["outcome"] for k, d in events if k == "callback_outcome"] == ["machine", "answered"]
    assert [d["attempt"] for k, d in events if k == "callback_attempt"] == [1, 2]


def test_urgent_security_call_backs_are_placed_first(world, clock, sessions):
    """Due at the same time, an urgent security call back is placed before routine ones."""
    now = clock() - timedelta(seconds=5)
    with sessions.begin() as db:
        routine = [booking.request(db, None, None, f"+4474001234{n}", "normal", "caller_queue", now, due=now,
                                     desk="support-gb", caller_id=GB, max_attempts=1).id for n in (61, 62)]
        urgent = booking.request(db, None, None, "+447400123463", "urgent", "urgent_unanswered", now, due=now,
                                   desk="support-gb", caller_id=GB, max_attempts=1).id
    for request_id in [*routine, urgent]:
        scheduling.schedule(world.rt, request_id)
    world.work()
    world.twilio.wait_outbound()
    order = [c.to for c in sorted(world.twilio.ledger.calls.values(), key=lambda c: c.created_at)]
    assert order[0] == "+447400123463" and sorted(order[1:]) == ["+447400123461", "+447400123462"]
