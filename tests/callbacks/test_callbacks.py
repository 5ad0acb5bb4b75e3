"""Call backs: which numbers may be called, when a call back is due, the offer in the flow engine,
one active request per number and ticket, answering machines (synchronous and asynchronous
detection), retries within opening hours, urgent security call backs, and `ivr callbacks`."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from rq import Queue
from rq.registry import ScheduledJobRegistry

from ivr.callbacks import booking, placing, scheduling
from ivr.cli.callbacks import callbacks as callbacks_cli
from ivr.core import engine
from ivr.core.actions import BookCallback, Gather
from ivr.core.callback_numbers import check
from ivr.core.events import CallbackBooked, CallStarted, Digits, QueueLeft
from ivr.core.state import CallbackOffer
from ivr.emulator import Agent, Press
from ivr.queue import desk_queue, waiting
from ivr.queue.desk_queue import Member
from tests.callback_world import BOOK_WHEN_CLOSED, GB, OLIVIA, make_world, shipped_flows
from tests.flowkit import at

pytestmark = pytest.mark.time_sensitive  # hours, the rota, paging, call backs or scheduling

EMMA = "+447700900211"  # on call for security-europe on a Tuesday morning


@pytest.mark.parametrize("number, home, expected", [
    ("+447400123456", "GB", ("+447400123456", None)),
    ("07400 123456", "GB", ("+447400123456", None)),  # keyed in the national way
    ("00447400123456", "GB", ("+447400123456", None)),  # or after the international prefix
    ("09098790000", "GB", ("+449098790000", "premium")),
    ("0033612345678", "GB", ("+33612345678", "foreign")),
    ("01133612345678", "US", ("+33612345678", "foreign")),
    ("9005551234", "US", ("+19005551234", "premium")),
    ("123", "GB", (None, "invalid")),
    ("+447700900123", "GB", (None, "invalid")),  # Ofcom's drama range is no one's phone
])
def test_only_real_numbers_in_the_regions_country_that_are_not_premium_rate_are_called_back(number, home, expected):
    result = check(number, home)
    assert (result.number, result.problem) == expected


def test_a_call_back_is_due_when_an_agent_would_be_free_within_hours_or_at_the_next_opening():
    hours = shipped_flows().flows["gb"].hours
    soon = booking.due_time(hours, at("2026-11-24T10:00", "Europe/London"), 450)
    assert (soon.when, soon.minutes) == ("soon", 8)
    late = booking.due_time(hours, at("2026-11-24T19:55", "Europe/London"), 600)  # the line closes at 20:00
    assert late.when == "opening" and late.at == at("2026-11-25T08:00", "Europe/London")
    christmas = booking.due_time(hours, at("2026-12-24T21:00", "Europe/London"), 0)
    assert christmas.at == at("2026-12-29T08:00", "Europe/London")  # bank holidays and the weekend skipped


def test_call_backs_booked_overnight_are_due_one_after_another_from_the_opening(world, clock):
    """The United Kingdom desk (two agents, 300 s conversations) frees an agent every 150 s: three
    callers who book at night are due at 08:00, 08:02:30 and 08:05, in the order they asked, and
    each hears their own time. An agent who signed out at the end of the day still counts."""
    clock.set("2026-11-24T21:00", "Europe/London")
    desk_queue.sign_out(world.rt.redis, "support-gb", "olivia")
    numbers = ["+447400123491", "+447400123492", "+447400123493"]
    calls = [world.twilio.call(GB, number, list(BOOK_WHEN_CLOSED)) for number in numbers]
    opening = at("2026-11-25T08:00", "Europe/London")
    assert [booking.utc(world.request(n).due_at) for n in numbers] == [
        opening, opening + timedelta(seconds=150), opening + timedelta(seconds=300)]
    assert [c.heard(f"after we open, on Wednesday at about {t}") for c, t in zip(calls, ("08:00", "08:02", "08:05"))] \
        == [True, True, True]


def test_the_agent_free_when_a_kept_place_reaches_the_front_waits_for_its_call_back(world, clock):
    """A caller kept their place and hung up; Tom is busy. When Olivia comes free, the caller behind
    (whose hold music asks) is not put through: the call back is placed, and Olivia is held for it
    until the customer answers and reaches the queue."""
    clock.set("2026-11-24T10:00", "Europe/London")
    customer = "+447400123495"
    world.twilio.person(customer, Agent(presses=()))
    world.twilio.person(OLIVIA, Agent())
    world.book(customer)  # both agents busy while they book; their place is kept
    world.rt.redis.set("ivr:queue:support-gb:agent:tom", "busy:elsewhere", ex=600)
    behind = Member("CA" + "7" * 32, "caller", "normal", "gb", "en")
    desk_queue.join(world.rt.redis, "support-gb", behind, world.rt.clock() + timedelta(minutes=1), 25)
    request = world.request(customer)
    assert desk_queue.position(world.rt.redis, "support-gb", f"cb:{request.key}")[0] == 1

    first = waiting.wait(world.rt, "support-gb", behind.call_sid, 45)  # the behind caller's hold music
    again = waiting.wait(world.rt, "support-gb", behind.call_sid, 90)  # and again, while the call back rings
    assert "<Leave" not in first and "<Leave" not in again
    assert world.rt.redis.get("ivr:queue:support-gb:agent:olivia") == f"held:{request.key}"
    assert Queue("callbacks", connection=world.rt.jobs).fetch_job(scheduling.job_id(request.id, 1)) is not None

    world.work()  # the call back is placed now, a real worker
    world.twilio.wait_outbound()
    assert len(world.calls_to(customer)) == 1
    [call_back] = world.twilio.outbound
    assert call_back.heard("returning your call about ticket") and call_back.bridged_to == [OLIVIA]
    assert world.request(customer).status == "completed"


def test_a_line_longer_than_the_day_runs_on_into_the_next_opening(sessions):
    hours = shipped_flows().flows["gb"].hours  # 08:00-20:00 on weekdays
    opening = at("2026-11-25T08:00", "Europe/London")
    first = booking.Due(opening, "opening", 0)
    now = at("2026-11-24T21:00", "Europe/London")
    with sessions.begin() as db:
        booking.request(db, None, None, "+447400123494", "normal", "caller_closed", now, due=opening,
                          desk="support-gb")
        late = booking.paced(db, hours, "support-gb", first, 13 * 3600, now)  # one agent free every 13 h
        other_desk = booking.paced(db, hours, "support-us", first, 13 * 3600, now)
    assert late.at == at("2026-11-26T08:00", "Europe/London")  # 21:00 is after closing: the next opening
    assert other_desk.at == opening  # another desk's line is its own


def _in_the_queue(flow, caller: str):
    """A United Kingdom caller past the greeting (0), declining recording (2), asking about a withdrawal (6)."""
    now = at("2026-11-24T10:00", "Europe/London")
    out = engine.step(flow, engine.new_call(flow, "CA" + "5" * 32, ticket="4821037", caller=caller), CallStarted(), now)
    for event in (Digits("0"), Digits("2"), Digits("6")):
        out = engine.step(flow, out.state, event, now)
    return out, now


def test_the_offer_confirms_the_calling_number_then_books_and_says_when():
    flow = shipped_flows().flows["gb"]
    queued, now = _in_the_queue(flow, "+447400123456")
    assert queued.state.step == "agent_queue"
    offer = engine.step(flow, queued.state, Digits("1"), now)
    [gather] = [a for a in offer.actions if isinstance(a, Gather)]
    assert "ending in 4, 5, 6" in gather.prompts[0].text
    confirmed = engine.step(flow, offer.state, Digits("1"), now)
    assert confirmed.actions == (BookCallback("+447400123456", "queue"),)
    booked = engine.step(flow, confirmed.state, CallbackBooked("soon", 8, "2026-11-24T10:08", 7, True), now)
    said = " ".join(a.text for a in booked.actions if hasattr(a, "text"))
    assert "in about 8 minutes" in said and "You keep your place" in said and booked.state.ended


def test_a_keyed_in_number_starting_with_9_is_a_number_not_the_urgent_key():
    flow = shipped_flows().flows["sg"]
    state = engine.new_call(flow, "CA" + "6" * 32, ticket="4821037", caller="").with_(
        step="queue_callback", waiting=True, offer=CallbackOffer(stage="keyin", source="queue"))
    keyed = engine.step(flow, state, Digits("91234567"), at("2026-11-24T10:00", "Asia/Singapore"))
    assert keyed.actions == (BookCallback("+6591234567", "queue"),)


def test_a_full_queue_or_a_closed_desk_sends_the_caller_to_the_overflow_offer():
    flow = shipped_flows().flows["gb"]
    queued, now = _in_the_queue(flow, "+447400123456")
    full = engine.step(flow, queued.state, QueueLeft("full"), now)
    assert full.state.step == "queue_full" and any("queue is full" in p.text for a in full.actions
                                                   if isinstance(a, Gather) for p in a.prompts)


def test_asking_again_updates_the_one_active_request_for_that_number_and_ticket(sessions):
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    with sessions.begin() as db:
        first = booking.request(db, None, None, "+447400123481", "normal", "caller_queue", now,
                                  due=now + timedelta(minutes=10))
        again = booking.request(db, None, None, "+447400123481", "urgent", "urgent_unanswered", now,
                                  due=now + timedelta(minutes=3))
        other = booking.request(db, None, None, "+447400123482", "normal", "caller_queue", now)
        assert again.id == first.id != other.id
        assert (again.priority, again.reason, booking.utc(again.due_at)) == (0, "urgent_unanswered",
                                                                               now + timedelta(minutes=3))


def test_a_machine_is_hung_up_on_and_the_retry_waits_for_the_next_opening(world, clock):
    """Synchronous machine detection: the call's own URL request says a machine answered."""
    clock.set("2026-11-24T19:59:59", "Europe/London")  # a second before closing
    world.twilio.person("+447400123483", Agent(answer="machine", presses=()))
    world.book("+447400123483", BOOK_WHEN_CLOSED[:1] + [Press("2"), Press("6"), Press("1"), Press("1")])
    request = world.request("+447400123483")
    placed = placing.place(world.rt, request.key, 1, owner="test")
    world.twilio.wait_outbound()
    [call] = world.twilio.outbound
    assert placed.outcome == "placed" and call.ended_by == "ivr-hangup" and not call.said
    request = world.request("+447400123483")
    assert (request.status, request.last_outcome) == ("pending", "machine")
    # the retry (base 1 s here) lands after closing time: it waits for 08:00 the next morning
    assert booking.utc(request.due_at) == at("2026-11-25T08:00", "Europe/London")
    assert Queue("callbacks", connection=world.rt.jobs).fetch_job(scheduling.job_id(request.id, 2)) is not None


def test_asynchronous_machine_detection_hangs_up_through_the_rest_api(settings, clock, sessions):
    made, rest = make_world(settings, clock, sessions, callback_amd="async")
    try:
        clock.set("2026-11-24T10:00", "Europe/London")
        made.twilio.person("+447400123484", Agent(answer="machine", presses=()))
        made.book("+447400123484")
        request = made.request("+447400123484")
        placing.place(made.rt, request.key, 1, owner="test")
        made.twilio.wait_outbound()
        [attempt] = made.attempts("+447400123484")
        assert (attempt.answered_by, attempt.outcome) == ("machine_start", "machine")
        assert any(h.kind == "redirect" and "status" in h.text for h in made.twilio.outbound[0].transcript)
    finally:
        rest.__exit__(None, None, None)


def test_an_urgent_call_back_goes_straight_to_the_security_team(world, clock, sessions):
    """An urgent security call back, answered, runs the urgent path: the on-call chain, not the queue."""
    from tests.security.test_urgent import nobody_answers

    nobody_answers(world, clock, caller="+447400123485")
    request = world.request("+447400123485")
    assert request.priority == 0 and request.status == "pending"
    world.twilio.person("+447400123485", Agent(presses=()))
    world.twilio.person(EMMA, Agent())
    placing.place(world.rt, request.key, 1, owner="test")
    world.twilio.wait_outbound()
    [call] = [placed for placed in world.twilio.outbound if placed.to == "+447400123485"]
    assert call.said[0].startswith("This is the United Kingdom support line returning your call about ticket")
    assert "We are connecting you to our security team now." in call.said
    assert [agent.to for agent in world.twilio.rung_during(call)] == [EMMA] and call.bridged_to == [EMMA]
    assert world.request("+447400123485").status == "completed"


def test_ivr_callbacks_lists_shows_cancels_and_retries(world, clock):
    clock.set("2026-11-24T23:00", "Europe/London")
    world.book("+447400123486", BOOK_WHEN_CLOSED, busy=False)
    request = world.request("+447400123486")
    env = {k: v for k, v in world.env.items() if k.startswith(("IVR_", "TWILIO_"))}
    run = CliRunner().invoke
    listed = run(callbacks_cli, ["list", "--status", "pending"], env=env)
    assert listed.exit_code == 0 and "+447400123486" in listed.output and "pending" in listed.output
    cancelled = run(callbacks_cli, ["cancel", str(request.id)], env=env)
    assert cancelled.exit_code == 0 and world.request("+447400123486").status == "cancelled"
    scheduled = ScheduledJobRegistry(queue=Queue("callbacks", connection=world.rt.jobs)).get_job_ids()
    assert scheduling.job_id(request.id, 1) not in scheduled
    assert "only a pending one" in run(callbacks_cli, ["cancel", request.key], env=env).output
    retried = run(callbacks_cli, ["retry", request.key], env=env)
    assert retried.exit_code == 0 and world.request("+447400123486").status == "pending"
    shown = run(callbacks_cli, ["show", str(request.id)], env=env)
    assert f"call back {request.id}" in shown.output and "pending" in shown.output


@pytest.mark.parametrize("route", ["/voice/queue/wait?desk=support-gb", "/voice/queue/key?desk=support-gb",
                                   "/voice/queue/left?desk=support-gb", "/voice/queue/agent?desk=support-gb&agent=tom",
                                   "/voice/queue/whisper?desk=support-gb", "/voice/callback/answer?attempt=x-1",
                                   "/voice/callback/amd?attempt=x-1", "/voice/callback/status?attempt=x-1"])
def test_queue_and_call_back_webhooks_refuse_a_bad_signature_and_write_nothing(route, client, sessions, redis_url):
    from redis import Redis

    from tests.webhooks import signed_post

    params = {"CallSid": "CA" + "b" * 32, "From": "+447400123491", "To": GB, "CallStatus": "completed",
              "QueueResult": "leave", "Digits": "1", "AnsweredBy": "human"}
    assert signed_post(client, route, params, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    with sessions() as db:
        from sqlalchemy import func, select

        from ivr.db.models import CallbackAttempt, CallEvent

        assert db.scalar(select(func.count()).select_from(CallEvent)) == 0
        assert db.scalar(select(func.count()).select_from(CallbackAttempt)) == 0
    assert Redis.from_url(redis_url).dbsize() == 0
