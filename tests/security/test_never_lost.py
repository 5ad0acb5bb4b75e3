"""Pages and freeze requests are never lost (issue 13, defects 2 and 12): a job Redis lost (an
enqueue that failed, a restart without its data) is put back by the security reconciler; a page
or freeze that exhausts its retries is marked failed, logged at ERROR and counted, and `ivr pages
resend` sends it again; SMS pages are sent at least once, and a retry texts only who was missed."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from redis import Redis
from rq import Queue
from rq.registry import StartedJobRegistry
from sqlalchemy import select

from ivr import create_app, jobs
from ivr.cli.main import main as ivr_cli
from ivr.db.models import FreezeRequest, Page
from ivr.emulator import Agent, NumberConfig, Press, Silence, Twilio
from ivr.emulator.rest import RestServer
from ivr.emulator.transport import FlaskTransport
from ivr.security import reconciler
from tests.callback_world import wait_for
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, run_jobs, service_env
from tests.receiver import Receiver

# Paging, retries and the reconciler run on the service's clock: the faketime runs take these tests
# (not the two SIGKILL ones below, slow for their real heartbeat wait, whose timing the others cover).
TIME_SENSITIVE = pytest.mark.time_sensitive

GB, US = "+442079460100", "+14155550100"
EMMA, FARID, HENRIK = "+447700900211", "+447700900212", "+447700900219"
ALICE = "+14155550111"
BACKOFF_SECONDS = (1, 2, 6, 12, 24, 60, 120, 180)  # jobs.BACKOFF with IVR_RETRY_BASE_SECONDS=1


class World:
    """The app with paging (webhook and SMS) and freezing configured; the emulated REST API on a
    port it can be stopped and started on again."""

    def __init__(self, settings, clock, pager, accounts):
        self.clock, self.pager, self.accounts = clock, pager, accounts
        self.twilio = Twilio(None, ACCOUNT_SID, AUTH_TOKEN, [])
        self.rest = self.twilio.serve_rest().__enter__()
        self.port = self.rest.server.server_port
        self.settings = settings.with_(pager_url=pager.url, pager_secret="pager-secret-1", pager_sms_from=US,
                                       twilio_api_url=self.rest.url, freeze_url=accounts.url,
                                       freeze_secret="freeze-secret-1", retry_base_seconds=1)
        self.app = create_app(self.settings, clock=clock)
        self.rt = self.app.extensions["ivr"]
        self.twilio.transport = FlaskTransport(self.app)
        for number in (GB, US):
            self.twilio.numbers[number] = NumberConfig(number, f"{PUBLIC_URL}/voice/incoming",
                                                       f"{PUBLIC_URL}/voice/fallback", f"{PUBLIC_URL}/voice/status")

    def rest_down(self) -> None:
        self.rest.__exit__(None, None, None)
        self.rest = None

    def rest_up(self) -> None:
        self.rest = RestServer(self.twilio.rest_app(), port=self.port).__enter__()

    def work(self) -> None:
        run_jobs(self.rt)

    def lose_redis_data(self) -> None:
        """Redis restarted without its data (or never took the jobs): only the database remembers."""
        Redis.from_url(self.settings.redis_url).flushdb()

    def close(self) -> None:
        if self.rest is not None:
            self.rest.__exit__(None, None, None)


@pytest.fixture
def world(settings, clock, sessions):
    with Receiver() as pager, Receiver() as accounts:
        world = World(settings, clock, pager, accounts)
        yield world
        world.close()


def unanswered_urgent_call(world, caller="+447700900178"):
    world.clock.set("2026-11-24T10:00", "Europe/London")  # Tuesday morning: Emma, then Farid, then Henrik
    for number in (EMMA, FARID, HENRIK):
        world.twilio.person(number, Agent(answer="no-answer"))
    return world.twilio.call(GB, caller, [Press("9"), Silence(), Silence()])


def page_row(sessions) -> Page:
    with sessions() as db:
        return db.scalars(select(Page)).one()


def texts_to(world, *numbers) -> list[str]:
    return [m["to"] for m in world.twilio.ledger.messages if m["to"] in numbers]


@TIME_SENSITIVE
def test_a_page_whose_job_redis_lost_is_put_back_by_the_reconciler_and_delivered_once(world, sessions):
    unanswered_urgent_call(world)
    world.lose_redis_data()  # the page's row is committed; its job and escalation check are gone
    assert page_row(sessions).status == "pending"
    world.work()  # a worker starting schedules the reconciler (it kept nothing to do otherwise)
    assert world.pager.received == []
    world.clock.advance(seconds=60)  # IVR_CALLBACK_RECONCILE_SECONDS: the reconciler's period
    world.work()
    page = page_row(sessions)
    assert page.status == "delivered" and [r.json["page_id"] for r in world.pager.received] == [page.id]
    assert sorted(texts_to(world, EMMA, FARID)) == [EMMA, FARID]
    world.clock.advance(seconds=300)  # the escalation check was put back too, at its time
    world.work()
    assert [r.json["level"] for r in world.pager.received] == [0, 1]
    assert page_row(sessions).status == "escalated"
    assert reconciler.reconcile(world.rt)["put_back"] == 0  # nothing left to put back: settled
    assert len(texts_to(world, EMMA, FARID)) == 2


@TIME_SENSITIVE
def test_a_freeze_request_redis_lost_while_the_account_system_was_down_is_sent_later(world, sessions):
    world.accounts.answers = [(503, {})]
    world.clock.set("2026-11-24T10:00", "America/Los_Angeles")
    world.twilio.person(ALICE, Agent())
    call = world.twilio.call(US, "+14155550181", [Press("9"), Press("1")])
    assert call.heard("Your request to freeze your account has been received")
    world.lose_redis_data()
    world.work()
    world.clock.advance(seconds=60)
    world.work()
    with sessions() as db:
        request = db.scalars(select(FreezeRequest)).one()
    assert request.status == "received" and len(world.accounts.received) == 2
    assert len({r.headers["Idempotency-Key"] for r in world.accounts.received}) == 1


@TIME_SENSITIVE
def test_a_page_that_exhausts_its_retries_is_alerted_and_resent_by_hand(world, sessions, caplog):
    world.pager.answers = [(503, {})] * 30
    unanswered_urgent_call(world)
    world.work()
    with caplog.at_level(logging.ERROR, logger="ivr.security.paging"):
        for seconds in BACKOFF_SECONDS:
            world.clock.advance(seconds=seconds)
            world.work()
    page = page_row(sessions)
    assert page.status == "failed"
    assert any("NOT DELIVERED" in r.getMessage() and f"ivr pages resend {page.id}" in r.getMessage()
               for r in caplog.records if r.levelno == logging.ERROR)
    assert b"ivr_deliveries_given_up_total{kind=\"page\"}" in world.rt.metrics.exposition()
    world.pager.answers = []  # the pager is back
    runner = CliRunner()
    result = runner.invoke(ivr_cli, ["pages", "resend", str(page.id)], env=service_env(world.settings))
    assert result.exit_code == 0, result.output
    assert f"page {page.id} queued" in result.output
    world.work()
    assert page_row(sessions).status in ("delivered", "escalated")
    assert world.pager.received[-1].json["page_id"] == page.id


@TIME_SENSITIVE
def test_sms_pages_go_at_least_once_and_a_retry_texts_only_who_was_missed(world, sessions):
    unanswered_urgent_call(world)
    world.rest_down()  # Twilio's API unreachable: the texts fail, the pager webhook works
    world.work()
    page = page_row(sessions)
    assert page.status == "pending" and texts_to(world, EMMA, FARID) == []  # not "delivered" without the texts
    world.rest_up()
    for _ in range(4):  # RQ retries on the service's clock
        world.clock.advance(seconds=6)
        world.work()
        if page_row(sessions).status == "delivered":
            break
    assert page_row(sessions).status == "delivered"
    assert sorted(texts_to(world, EMMA, FARID)) == [EMMA, FARID]  # each texted once
    assert len({r.headers["Idempotency-Key"] for r in world.pager.received}) == 1


# -- a worker SIGKILLed in the middle of a page or a freeze request, and another taking over ------

IVR = Path(sys.executable).with_name("ivr")


def killed_mid_job(world, receiver) -> None:
    """`ivr worker --burst` in its own process, SIGKILLed when its request reaches `receiver` (the
    other system has it; the worker never hears back). Its job is left "started"; once the
    worker's heartbeat lapses (the job's timeout, 2 s here, and the grace, on the system clock),
    the reconciler has RQ retry it."""
    worker = subprocess.Popen([str(IVR), "worker", "--burst"], env=service_env(world.settings),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = []

    def kill(_received) -> None:
        if not killed:
            os.kill(worker.pid, signal.SIGKILL)
            killed.append(worker.pid)

    receiver.on_receive = kill
    worker.communicate(timeout=120)
    receiver.on_receive = None
    assert killed and worker.returncode == -signal.SIGKILL
    started = StartedJobRegistry(queue=Queue("urgent", connection=world.rt.jobs))
    assert wait_for(lambda: started.get_expired_job_ids(time.time()), timeout=2 + jobs.ABANDONED_GRACE + 5)
    reconciler.reconcile(world.rt)
    world.clock.advance(seconds=1)  # RQ's retry, 1 s later on the service's clock
    world.work()


@pytest.fixture
def short_jobs(settings):
    return settings.with_(job_timeout=2)


def test_a_worker_killed_while_paging_pages_again_with_the_same_key_and_texts_nobody_twice(short_jobs, clock,
                                                                                          sessions):
    with Receiver() as pager, Receiver() as accounts:
        world = World(short_jobs, clock, pager, accounts)
        try:
            unanswered_urgent_call(world)
            killed_mid_job(world, pager)
            page = page_row(sessions)
            assert page.status == "delivered"
            assert len(pager.received) == 2 and {r.headers["Idempotency-Key"] for r in pager.received} == \
                {f"page-{page.id}-0"}  # at least once; the pager drops the repeat by its key
            assert sorted(texts_to(world, EMMA, FARID)) == [EMMA, FARID]  # texted before the kill, not again
        finally:
            world.twilio.wait_outbound()
            world.close()


def test_a_worker_killed_while_sending_a_freeze_request_sends_it_again_with_the_same_key(short_jobs, clock,
                                                                                         sessions):
    with Receiver() as pager, Receiver() as accounts:
        world = World(short_jobs, clock, pager, accounts)
        try:
            accounts.answers = [(503, {})]
            world.clock.set("2026-11-24T10:00", "America/Los_Angeles")
            world.twilio.person(ALICE, Agent())
            world.twilio.call(US, "+14155550182", [Press("9"), Press("1")])
            killed_mid_job(world, accounts)
            with sessions() as db:
                [request] = db.scalars(select(FreezeRequest)).all()
            assert request.status == "received" and len(accounts.received) == 3
            assert {r.headers["Idempotency-Key"] for r in accounts.received} == {request.idempotency_key}
        finally:
            world.close()


def test_ivr_pages_resend_and_reconcile_by_hand(world, sessions):
    unanswered_urgent_call(world)
    env = service_env(world.settings)
    runner = CliRunner()
    assert runner.invoke(ivr_cli, ["pages", "resend"], env=env).exit_code == 2  # names nothing: a usage error
    missing = runner.invoke(ivr_cli, ["pages", "resend", "99999"], env=env)
    assert missing.exit_code == 1 and "no page 99999" in missing.output
    missing = runner.invoke(ivr_cli, ["pages", "resend", "--freeze", "99999"], env=env)
    assert missing.exit_code == 1 and "no freeze request 99999" in missing.output
    world.lose_redis_data()
    world.clock.advance(seconds=60)
    reconciled = runner.invoke(ivr_cli, ["pages", "reconcile"], env=env)
    assert reconciled.exit_code == 0 and "put_back 2" in reconciled.output  # the delivery and the check
    again = runner.invoke(ivr_cli, ["pages", "resend", "--undelivered"], env=env)
    page = page_row(sessions)
    assert again.exit_code == 0 and f"page {page.id} queued for delivery (level 0)" in again.output
    world.work()
    assert page_row(sessions).status == "delivered" and len(world.pager.received) == 1
