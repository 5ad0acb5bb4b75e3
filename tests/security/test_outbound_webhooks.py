"""Issue 13, defects 4 and 9: what we post to the pager and the account system follows no redirect
(only a 2xx from the configured URL is success, and the signed body goes nowhere else), and takes a
bounded time in all, however slowly the other side answers."""
# ruff: noqa: F811 -- the fixtures of tests/security/test_urgent.py, imported to be used here
from __future__ import annotations

import time

import pytest

from ivr.db.models import FreezeRequest, Page
from ivr.emulator import Agent, Press
from ivr.outbound import OutboundFailed, post
from tests.receiver import Receiver
from tests.security.test_urgent import ALICE, US, World, accounts, nobody_answers, pager, row, world  # noqa: F401

pytestmark = pytest.mark.time_sensitive
REDIRECTS = [302, 303, 307, 308]


@pytest.fixture
def elsewhere():
    """Where a redirect points: a login page, or another host that would love the signed body."""
    with Receiver() as receiver:
        yield receiver


@pytest.mark.parametrize("status", REDIRECTS)
def test_a_redirected_freeze_request_is_not_taken_and_goes_nowhere_else(status, world, clock, sessions, accounts,
                                                                          elsewhere):
    accounts.answers = [(status, {}, {"Location": elsewhere.url})]
    clock.set("2026-11-24T10:00", "America/Los_Angeles")
    world.twilio.person(ALICE, Agent())
    call = world.twilio.call(US, "+14155550182", [Press("9"), Press("1")])
    assert call.heard("Your request to freeze your account has been received")
    assert row(sessions, FreezeRequest, caller_number="+14155550182").status == "requested"  # retrying, not done
    assert elsewhere.received == [] and len(accounts.received) == 1


@pytest.mark.parametrize("status", REDIRECTS)
def test_a_redirected_page_is_not_delivered_and_goes_nowhere_else(status, world, clock, sessions, pager, elsewhere):
    pager.answers = [(status, {}, {"Location": elsewhere.url})]
    nobody_answers(world, clock)
    world.work()
    assert row(sessions, Page, team="security-europe").status == "pending"  # RQ retries it
    assert elsewhere.received == [] and len(pager.received) == 1


def test_a_trickling_account_system_keeps_the_caller_no_more_than_its_deadline(world, clock, sessions, accounts):
    accounts.trickle_seconds = 0.2  # a whole answer in ~20 s, each byte well within a per-read timeout
    accounts.answers = [(200, {"status": "frozen"})]
    clock.set("2026-11-24T10:00", "America/Los_Angeles")
    world.twilio.person(ALICE, Agent())
    started = time.monotonic()
    call = world.twilio.call(US, "+14155550183", [Press("9"), Press("1")])
    assert call.heard("Your request to freeze your account has been received")
    assert not call.heard("Your account is now frozen")
    assert row(sessions, FreezeRequest, caller_number="+14155550183").status == "requested"
    assert time.monotonic() - started < 10  # the whole call; the account system alone would take ~20 s


def test_an_answer_over_its_size_cap_is_refused():
    with Receiver(answers=[(200, {"padding": "x" * 100_000})]) as big:
        with pytest.raises(OutboundFailed, match="cap"):
            post(big.url, b"{}", {"Content-Type": "application/json"}, deadline_seconds=5)


def test_a_redirect_is_an_answer_not_success():
    with Receiver(answers=[(307, {}, {"Location": "http://127.0.0.1:9/elsewhere"})]) as moved:
        reply = post(moved.url, b"{}", {}, deadline_seconds=5)
    assert reply.status == 307 and not reply.ok


def test_an_unreachable_system_fails_within_the_deadline():
    with pytest.raises(OutboundFailed, match="unreachable"):
        post("http://127.0.0.1:9/hook", b"{}", {}, deadline_seconds=2)


def test_a_garbled_length_is_no_crash_and_the_cap_still_holds():
    with Receiver(answers=[(200, {"status": "frozen"}, {"Content-Length": "lots"}),
                           (200, {"padding": "x" * 100_000}, {"Content-Length": "-1"})]) as odd:
        assert post(odd.url, b"{}", {}, deadline_seconds=5).json() == {"status": "frozen"}
        with pytest.raises(OutboundFailed, match="cap"):
            post(odd.url, b"{}", {}, deadline_seconds=5)
