"""Several instances: two `ivr serve` (web and job workers) on different ports, sharing one Redis and
one database (PostgreSQL when IVR_TEST_DATABASE_URL is set, else a shared SQLite file), behind a
load balancer that alternates every request between them. One instance is killed mid-call; every
call carries on on the other, no ticket number repeats and each call back is placed once."""
from __future__ import annotations

import os
import signal
import subprocess
from datetime import UTC
from pathlib import Path

import pytest
import requests
from redis import Redis
from sqlalchemy import select

from ivr import jobs, worker
from ivr.db.models import Call, CallbackAttempt, CallbackRequest, Ticket
from ivr.emulator import Agent, NumberConfig, Press, Silence, Twilio
from ivr.emulator.transport import HttpTransport, TransportError
from tests.callback_world import BOOK_FROM_THE_QUEUE, GB, OLIVIA, wait_for
from tests.cli.test_service import IVR, PUBLIC, service_env
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.ports import free_port

# Not marked time_sensitive: the service's clock is set (a file every process reads), so the wall
# clock changes nothing here, and two `ivr serve` under libfaketime three more times would cost minutes.


class Instance:
    """One `ivr serve` (gunicorn and a job worker) in its own process group, so it can be killed
    whole, as a machine that dies takes its web server and its worker with it."""

    def __init__(self, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([str(IVR), "serve", "--job-workers", "1"],
                                        env={**env, "IVR_BIND": f"127.0.0.1:{self.port}"},
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        self.served = 0

    def ready(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail("ivr serve stopped:\n" + self.process.communicate()[0])
        try:
            return requests.get(self.url + "/readyz", timeout=5).ok
        except (requests.ConnectionError, requests.Timeout):
            return False

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


class Balancer:
    """A load balancer in front of the instances: each request goes to the next instance in turn;
    one that refuses the connection is taken out and the request goes to the next (what nginx's
    `proxy_next_upstream error` or an HAProxy health check does). `then` runs after a request."""

    def __init__(self, instances: list[Instance]):
        self.instances = instances
        self.transports = [HttpTransport(connect_to=i.url, timeout=15) for i in instances]
        self.turn = 0
        self.down: set[int] = set()
        self.log: list[tuple[str, int]] = []  # (path, which instance answered)
        self.then = None

    def request(self, method, url, params, headers):
        for _ in self.instances:
            which = self.turn % len(self.instances)
            self.turn += 1
            if which in self.down:
                continue
            try:
                reply = self.transports[which].request(method, url, params, headers)
            except TransportError:
                self.down.add(which)
                continue
            self.instances[which].served += 1
            self.log.append((url.split("?")[0].removeprefix(PUBLIC), which))
            if self.then is not None:
                self.then(len(self.log))
            return reply
        raise TransportError(11205, "no instance is up")


@pytest.fixture
def instances(redis_url, database_url, sessions, clock):
    twilio = Twilio(None, ACCOUNT_SID, AUTH_TOKEN, [])
    with twilio.serve_rest() as rest:
        env = {**service_env(redis_url, database_url, 0), "IVR_CLOCK": clock.spec, "IVR_TWILIO_API_URL": rest.url,
               "IVR_CALLBACK_RETRY_SECONDS": "1", "IVR_LOG_LEVEL": "WARNING"}
        started = [Instance(env), Instance(env)]
        try:
            assert wait_for(lambda: all(i.ready() for i in started), timeout=90, every=0.2), "not ready in 90 s"
            balancer = Balancer(started)
            twilio.transport = balancer
            for number in ("+442079460100", "+15005550006"):
                twilio.numbers[number] = NumberConfig(number, f"{PUBLIC}/voice/incoming", f"{PUBLIC}/voice/fallback",
                                                      f"{PUBLIC}/voice/status")
            yield twilio, balancer, started
            twilio.wait_outbound()
        finally:
            for instance in started:
                instance.stop()


def test_calls_carry_on_when_an_instance_dies_and_call_backs_are_placed_once(instances, clock, sessions, redis_url):
    twilio, balancer, started = instances
    clock.set("2026-11-24T10:00", "Europe/London")
    # both United Kingdom agents are on other calls: callers queue, and can book call backs
    redis = Redis.from_url(redis_url)
    for key in ("olivia", "tom"):
        redis.set(f"ivr:queue:support-gb:agent:{key}", "busy:elsewhere", ex=600)

    # Both up: a caller books a call back; the requests of the call alternate between the instances.
    booked = twilio.call(GB, "+447400900601", list(BOOK_FROM_THE_QUEUE))
    assert {which for _, which in balancer.log} == {0, 1}
    assert not booked.heard_stock_error and booked.heard("call you back")

    # A second caller books too. The instance whose worker runs RQ's scheduler (the harder loss: the
    # call backs wait on it) dies, web server and worker (SIGKILL), after the call's third request;
    # the rest of the call is answered by the other instance alone.
    holder = _scheduler_pid(redis)
    doomed = next(n for n, i in enumerate(started) if os.getpgid(holder) == i.process.pid)
    start = len(balancer.log)
    balancer.then = lambda n: started[doomed].kill() if n == start + 3 else None
    survivor = twilio.call(GB, "+447400900602", list(BOOK_FROM_THE_QUEUE))
    balancer.then = None
    assert started[doomed].process.returncode == -signal.SIGKILL
    during = [which for _, which in balancer.log[start:]]
    assert during[:3] in ([0, 1, 0], [1, 0, 1]) and set(during[3:]) == {1 - doomed}, during
    assert all(status in (200, 204) for _, _, status in survivor.requests), survivor.requests
    assert not survivor.heard_stock_error and survivor.heard("call you back")

    # A third call, after the loss, on the survivor alone.
    after = twilio.call(GB, "+447400900603", [Silence(), Press("1"), Press("5")])
    assert not after.heard_stock_error and after.recording_sid

    # Every call's record is whole and closed, and each has its own ticket number.
    with sessions() as db:
        calls = {c.call_sid: c for c in db.scalars(select(Call))}
        tickets = db.scalars(select(Ticket.reference)).all()
    for call in (booked, survivor, after):
        assert calls[call.sid].status == "completed", (call.sid, calls[call.sid].status)
    assert len(tickets) == 3 and len(set(tickets)) == 3

    # The call backs fall due. The dead scheduler's lease (61 s on the system clock) must run out
    # before the survivor's takes over: the test ends it rather than wait a minute. The survivor's
    # worker then takes the scheduler within STANDBY_SECONDS and places each call back exactly once.
    assert _end_dead_schedulers_leases(redis) == len(jobs.QUEUES)
    for key in ("olivia", "tom"):
        redis.delete(f"ivr:queue:support-gb:agent:{key}")
    for number in ("+447400900601", "+447400900602"):
        twilio.person(number, Agent(presses=()))
    twilio.person(OLIVIA, Agent())
    with sessions() as db:
        due = max(r.due_at for r in db.scalars(select(CallbackRequest)))
    clock.set_moment(due if due.tzinfo else due.replace(tzinfo=UTC))

    def placed():
        with sessions() as db:
            return len(db.scalars(select(CallbackAttempt).where(CallbackAttempt.call_sid.is_not(None))).all()) == 2

    assert wait_for(placed, timeout=worker.STANDBY_SECONDS + 20, every=0.2)
    assert _alive(_scheduler_pid(redis)) and os.getpgid(_scheduler_pid(redis)) == started[1 - doomed].process.pid
    twilio.wait_outbound()
    for number in ("+447400900601", "+447400900602"):
        outbound = [c for c in twilio.ledger.calls.values() if c.to == number and c.direction == "outbound-api"]
        assert len(outbound) == 1, (number, outbound)


def _scheduler_pid(redis: Redis) -> int:
    """The process of the scheduler that holds the lock of the call backs' queue."""
    owner = redis.get("rq:scheduler-lock:callbacks")
    assert owner, "no scheduler holds the call backs' queue"
    return int(redis.hget(f"rq:scheduler:{owner.decode()}", "pid"))


def _end_dead_schedulers_leases(redis: Redis) -> int:
    """Delete the scheduler locks held by a scheduler whose process is gone; how many were."""
    ended = 0
    for key in redis.scan_iter("rq:scheduler-lock:*"):
        owner = redis.get(key)
        pid = owner and redis.hget(f"rq:scheduler:{owner.decode()}", "pid")
        if pid and not _alive(int(pid)):
            ended += redis.delete(key)
    return ended


def _alive(pid: int) -> bool:
    """Running: not gone and not a zombie (a killed scheduler whose parent died too stays one
    until PID 1 reaps it, which a container's may never do)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
