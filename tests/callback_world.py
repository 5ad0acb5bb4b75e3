"""The world call back tests run in: the app in process behind emulated Twilio (voice and REST API),
a real Redis and database, real `ivr worker` processes, and helpers to book call backs as callers do."""
from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC
from functools import lru_cache
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr import create_app
from ivr.db.models import CallbackAttempt, CallbackRequest
from ivr.emulator import Agent, NumberConfig, Press, Silence, Twilio
from ivr.emulator.transport import FlaskTransport
from ivr.flows.loader import load_flows
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, FLOWS_DIR, PUBLIC_URL, run_jobs, service_env

IVR = Path(sys.executable).with_name("ivr")
GB = "+442079460100"
OLIVIA, TOM = "+447400900301", "+447400900302"  # the United Kingdom desk's agents
BOOK_FROM_THE_QUEUE = [Silence(), Press("2"), Press("6"), Press("1"), Press("1")]  # withdrawal, queue, 1, confirm
BOOK_WHEN_CLOSED = [Silence(), Press("2"), Press("1"), Press("1")]  # closed: 1 for a call back, confirm


@lru_cache(maxsize=1)
def shipped_flows():
    return load_flows(FLOWS_DIR)


class World:
    """The app with its REST client on the emulator's REST API, and the environment a worker needs."""

    def __init__(self, twilio: Twilio, app, env: dict, sessions):
        self.twilio, self.app, self.env, self.sessions = twilio, app, env, sessions
        self.rt = app.extensions["ivr"]

    def work(self) -> None:
        """A real RQ worker, with the app's runtime and clock, over what is queued and due."""
        run_jobs(self.rt)

    def until_due(self, number: str) -> None:
        """Time passes (on the service's clock) until the newest call back to `number` is due."""
        due = self.request(number).due_at
        self.rt.clock.set_moment(due if due.tzinfo else due.replace(tzinfo=UTC))

    def start_worker(self) -> subprocess.Popen:
        """`ivr worker --burst` in a process of its own (one a test can kill), on the test's clock."""
        return subprocess.Popen([str(IVR), "worker", "--burst"], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def book(self, caller: str, script=BOOK_FROM_THE_QUEUE, busy: bool = True):
        """A caller in the United Kingdom queue (both agents busy) books a call back to their number."""
        if busy:
            for key in ("olivia", "tom"):
                self.rt.redis.set(f"ivr:queue:support-gb:agent:{key}", "busy:elsewhere", ex=600)
        call = self.twilio.call(GB, caller, list(script))
        self.free_agents()
        return call

    def free_agents(self) -> None:
        for key in ("olivia", "tom"):
            self.rt.redis.delete(f"ivr:queue:support-gb:agent:{key}")

    def request(self, number: str) -> CallbackRequest:
        with self.sessions() as db:
            return db.scalars(select(CallbackRequest).where(CallbackRequest.number == number)
                              .order_by(CallbackRequest.id.desc())).first()

    def attempts(self, number: str) -> list[CallbackAttempt]:
        with self.sessions() as db:
            return list(db.scalars(select(CallbackAttempt).join(CallbackRequest)
                                   .where(CallbackRequest.number == number).order_by(CallbackAttempt.attempt)))

    def calls_to(self, number: str) -> list:
        return [c for c in self.twilio.ledger.calls.values() if c.to == number and c.direction == "outbound-api"]


def make_world(settings, clock, sessions, **overrides):
    twilio = Twilio(None, ACCOUNT_SID, AUTH_TOKEN, [])
    rest = twilio.serve_rest().__enter__()
    configured = settings.with_(twilio_api_url=rest.url, callback_retry_seconds=1, **overrides)
    app = create_app(configured, clock=clock, flows=shipped_flows())
    twilio.transport = FlaskTransport(app)
    for flow in shipped_flows():
        for number in flow.numbers:
            twilio.numbers[number] = NumberConfig(number, f"{PUBLIC_URL}/voice/incoming",
                                                  f"{PUBLIC_URL}/voice/fallback", f"{PUBLIC_URL}/voice/status")
    return World(twilio, app, service_env(configured), sessions), rest


@pytest.fixture
def world(settings, clock, sessions):
    made, rest = make_world(settings, clock, sessions)
    yield made
    made.twilio.wait_outbound()
    rest.__exit__(None, None, None)


def wait_for(predicate, timeout: float = 20.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return predicate()


__all__ = ["Agent", "World", "world", "make_world", "wait_for", "GB", "OLIVIA", "TOM",
           "BOOK_FROM_THE_QUEUE", "BOOK_WHEN_CLOSED"]
