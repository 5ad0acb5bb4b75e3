"""The security fast path end to end: the emulated Twilio and agents, the app, a real Redis and RQ
worker processes, and real HTTP endpoints for the pager and the account system."""
from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr import create_app
from ivr.db.models import Call, CallbackRequest, FreezeRequest, Page
from ivr.emulator import Agent, NumberConfig, Press, Silence, Twilio
from ivr.emulator.transport import FlaskTransport
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, run_jobs, service_env
from tests.receiver import Receiver

pytestmark = pytest.mark.time_sensitive  # hours, the rota, paging, call backs or scheduling

IVR = Path(sys.executable).with_name("ivr")
GB, US = "+442079460100", "+14155550100"
PAGER_SECRET, FREEZE_SECRET = "pager-secret-1", "freeze-secret-1"
EMMA, FARID, GRACE, HENRIK = "+447700900211", "+447700900212", "+447700900213", "+447700900219"
ALICE, BRUNO, DANA = "+14155550111", "+14155550112", "+14155550119"


@pytest.fixture
def pager():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def accounts():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def world(settings, clock, sessions, pager, accounts):
    """The app with paging, SMS and freezing configured, emulated Twilio (voice and REST) in front."""
    twilio = Twilio(None, ACCOUNT_SID, AUTH_TOKEN, [])
    with twilio.serve_rest() as rest:
        urgent = settings.with_(pager_url=pager.url, pager_secret=PAGER_SECRET, pager_sms_from=US,
                                twilio_api_url=rest.url, freeze_url=accounts.url, freeze_secret=FREEZE_SECRET,
                                retry_base_seconds=1)
        app = create_app(urgent, clock=clock)
        twilio.transport = FlaskTransport(app)
        for number in (GB, US):
            twilio.numbers[number] = NumberConfig(number, f"{PUBLIC_URL}/voice/incoming",
                                                  f"{PUBLIC_URL}/voice/fallback", f"{PUBLIC_URL}/voice/status")
        yield World(twilio, app, service_env(urgent))


class World:
    def __init__(self, twilio, app, env):
        self.twilio, self.app, self.env = twilio, app, env

    def work(self) -> None:
        """A real RQ worker, with the app's runtime and clock, over what is queued and due."""
        run_jobs(self.app.extensions["ivr"])

    def work_in_a_process(self) -> str:
        """`ivr worker --burst` as its own process: it reads the test's clock from the file the
        settings name (IVR_CLOCK), as a worker on another host reads the system clock."""
        done = subprocess.run([str(IVR), "worker", "--burst"], env=self.env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr


def signed_by(received, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.headers.get("X-IVR-Signature", ""), expected)


def row(sessions, model, **where):
    with sessions() as db:
        return db.scalars(select(model).filter_by(**where)).one()


def timeline(sessions, call_sid) -> list:
    with sessions() as db:
        call = db.scalars(select(Call).where(Call.call_sid == call_sid)).one()
        return [(e.kind, e.detail) for e in call.events]


def nobody_answers(world, clock, caller="+447700900178"):
    clock.set("2026-11-24T10:00", "Europe/London")  # Tuesday morning: Emma, then Farid, then Henrik
    for number in (EMMA, FARID, HENRIK):
        world.twilio.person(number, Agent(answer="no-answer"))
    return world.twilio.call(GB, caller, [Press("9"), Silence(), Silence()])


def test_nobody_answers_so_the_caller_is_first_for_a_callback_and_the_team_is_paged(world, clock, sessions, pager):
    call = nobody_answers(world, clock)
    rung = world.twilio.rung_during(call)
    assert call.heard("You are first in line for a call back") and [c.to for c in rung] == [EMMA, FARID, HENRIK]
    callback = row(sessions, CallbackRequest, number="+447700900178")
    assert (callback.priority, callback.status, callback.reason) == (0, "pending", "urgent_unanswered")
    page = row(sessions, Page, team="security-europe")
    assert page.status == "pending" and page.payload["region"] == "gb"
    world.work_in_a_process()  # on the test's Tuesday morning, whatever day it is where the suite runs
    [sent] = pager.received
    assert signed_by(sent, PAGER_SECRET) and sent.headers["Idempotency-Key"] == f"page-{page.id}-0"
    assert sent.json["ticket"] == page.payload["ticket"] and sent.json["caller"] == "+447700900178"
    assert sent.json["level"] == 0 and not sent.json["escalated"]
    texts = world.twilio.ledger.messages
    assert len(texts) == 2 and all(t["from"] == US and page.payload["ticket"] in t["body"] for t in texts)
    assert {t["to"] for t in texts} == {EMMA, FARID}  # who is on call on Tuesday morning, not now
    assert row(sessions, Page, id=page.id).status == "delivered"


def test_an_unacknowledged_page_escalates_and_an_acknowledged_one_does_not(world, clock, sessions, pager):
    nobody_answers(world, clock)
    world.work()
    clock.advance(seconds=299)
    world.work()
    assert [r.json["level"] for r in pager.received] == [0]  # not yet: IVR_PAGER_ACK_SECONDS is 300
    clock.advance(seconds=1)
    world.work()
    assert [r.json["level"] for r in pager.received] == [0, 1] and pager.received[1].json["escalated"]
    assert world.twilio.ledger.messages[-1]["to"] == HENRIK  # the escalation list is texted
    assert row(sessions, Page, team="security-europe").status == "escalated"

    nobody_answers(world, clock, caller="+447700900179")
    world.work()
    page = row(sessions, Page, status="delivered")
    client = world.app.test_client()
    assert client.post(f"/ops/pages/{page.id}/ack", headers={"Authorization": "Bearer wrong"}).status_code == 403
    answer = client.post(f"/ops/pages/{page.id}/ack", headers={"Authorization": f"Bearer {PAGER_SECRET}"})
    assert answer.status_code == 200 and answer.json["status"] == "acknowledged"
    clock.advance(seconds=300)
    world.work()
    assert [r.json["page_id"] for r in pager.received].count(page.id) == 1  # no escalation after the ack


def test_a_pager_that_is_down_is_retried_until_it_takes_the_page(world, clock, sessions, pager):
    pager.answers = [(503, {}), (503, {})]
    nobody_answers(world, clock)
    world.work()
    assert len(pager.received) == 1
    for _ in range(10):  # retries after 1 s, then 2 s (IVR_RETRY_BASE_SECONDS=1), on the service's clock
        clock.advance(seconds=1)
        world.work()
        if row(sessions, Page, team="security-europe").status == "delivered":
            break
    page = row(sessions, Page, team="security-europe")
    first_level = [r for r in pager.received if r.json["level"] == 0]
    assert page.status in ("delivered", "escalated") and len(first_level) == 3
    attempts = [r.json["attempt"] for r in first_level]
    assert attempts == sorted(set(attempts))  # each a new attempt (an escalation may come in between)
    assert len({r.headers["Idempotency-Key"] for r in first_level}) == 1
    assert len([t for t in world.twilio.ledger.messages if t["to"] in (EMMA, FARID)]) == 2  # texted once, not per retry


def test_the_account_system_confirms_a_freeze_and_the_caller_hears_it(world, clock, sessions, accounts):
    accounts.answers = [(200, {"status": "frozen"})]
    clock.set("2026-11-24T10:00", "America/Los_Angeles")
    world.twilio.person(ALICE, Agent())
    call = world.twilio.call(US, "+14155550180", [Press("9"), Press("1")])
    assert call.heard("Your account is now frozen") and call.bridged_to == [ALICE], call.story()
    [sent] = accounts.received
    assert signed_by(sent, FREEZE_SECRET) and sent.headers["Idempotency-Key"] == f"freeze-{sent.json['ticket']}"
    assert sent.json["caller"] == "+14155550180" and sent.json["region"] == "us"
    assert row(sessions, FreezeRequest, caller_number="+14155550180").status == "frozen"


def test_a_freeze_the_account_system_misses_is_received_then_retried_once_per_ticket(world, clock, sessions,
                                                                                       accounts):
    accounts.answers = [(503, {})]
    clock.set("2026-11-24T10:00", "America/Los_Angeles")
    world.twilio.person(ALICE, Agent())
    call = world.twilio.call(US, "+14155550181", [Press("9"), Press("1")])
    assert call.heard("Your request to freeze your account has been received")
    assert not call.heard("Your account is now frozen")
    assert row(sessions, FreezeRequest, caller_number="+14155550181").status == "requested"
    world.twilio.call(US, "+14155550181", [Press("1")])  # calls again (straight through) and asks again
    with sessions() as db:
        assert len(db.scalars(select(FreezeRequest)).all()) == 1  # one request per ticket
    world.work()
    assert row(sessions, FreezeRequest, caller_number="+14155550181").status == "received"
    assert len({r.headers["Idempotency-Key"] for r in accounts.received}) == 1


def test_a_repeat_caller_on_an_open_security_ticket_goes_straight_through(world, clock, sessions):
    first = nobody_answers(world, clock)
    world.twilio.person(EMMA, Agent())
    clock.set("2026-11-27T10:00", "Europe/London")  # three days later: still the same open ticket
    again = world.twilio.call(GB, "+447700900178", [Silence()])
    assert again.said[0] == "We are connecting you to our security team now." and again.bridged_to == [EMMA]
    with sessions() as db:
        a, b = (db.scalars(select(Call).where(Call.call_sid == c.sid)).one() for c in (first, again))
        assert a.ticket_id == b.ticket_id
    assert ("urgent", {"trigger": "repeat_caller", "from_step": None}) in timeline(sessions, again.sid)


def test_the_brief_and_every_transfer_attempt_are_on_the_timeline(world, clock, sessions):
    clock.set("2026-11-24T10:00", "Europe/London")
    world.twilio.person(EMMA, Agent(answer="no-answer"))
    world.twilio.person(FARID, Agent(presses=()))  # answers, never presses 1
    world.twilio.person(HENRIK, Agent())
    call = world.twilio.call(GB, "+447700900182", [Press("9"), Silence()], StirVerstat="TN-Validation-Passed-A")
    assert call.bridged_to == [HENRIK]
    events = timeline(sessions, call.sid)
    brief = next(detail for kind, detail in events if kind == "security_brief")
    assert brief["region"] == "gb" and brief["language"] == "en" and brief["caller"] == "+447700900182"
    assert brief["caller_country"] == "GB" and brief["caller_verification"] == "TN-Validation-Passed-A"
    assert brief["trigger"] == "keypad"
    assert [d["agent"] for k, d in events if k == "transfer_ringing"] == ["Emma Clarke", "Farid Haddad",
                                                                          "Henrik Larsen (security lead)"]
    assert [d["outcome"] for k, d in events if k == "transfer_attempt"] == ["no-answer", "not-accepted", "accepted"]
    assert [d["attempt"] for k, d in events if k == "transfer_accepted"] == [3]
    heard = " ".join(h.text for h in world.twilio.rung_during(call)[2].transcript if h.kind == "say")
    assert "Urgent security call from United Kingdom, caller speaks English" in heard
    with sessions() as db:
        reference = db.scalars(select(Call).where(Call.call_sid == call.sid)).one().ticket.reference
    assert ", ".join(reference) in heard and "Press 1" in heard
    assert call.heard("Please stay on the line. We are still connecting you")


def test_a_caller_who_hangs_up_while_the_agent_rings_leaves_no_error(world, clock, sessions, caplog):
    """The caller presses 9 and hangs up during the ticket number; the agent's phone, rung at once,
    stops ringing, and its report finds a call Twilio can no longer redirect: that is the end of it,
    not an exception answered with a 500."""
    clock.set("2026-11-24T10:00", "Europe/London")
    call = world.twilio.call(GB, "+447700900179", [Press("9")])  # Emma's phone rings on and on
    assert call.heard("security team") and [c.to for c in world.twilio.rung_during(call)] == [EMMA]
    assert not [r for r in caplog.records if r.levelname == "ERROR"], [r.getMessage() for r in caplog.records]
    assert any(kind == "urgent" for kind, _ in timeline(sessions, call.sid))
