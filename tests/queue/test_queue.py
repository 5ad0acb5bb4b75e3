"""The agents' queue: our order over Twilio's first-in-first-out queues, whose turn it is, the
estimated wait from recent conversations, a full queue, missed agents, and the desks files."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from redis import Redis

from ivr.cli.desks import desks as desks_cli
from ivr.core.actions import QueueSettings
from ivr.emulator import Agent, Press, Silence
from ivr.flows.desks import Agent as DeskAgent
from ivr.flows.desks import Desk, load_desks
from ivr.queue import desk_queue
from ivr.queue.desk_queue import Member
from tests.callback_world import GB, OLIVIA, TOM, make_world

pytestmark = pytest.mark.time_sensitive  # hours, the rota, paging, call backs or scheduling

DESK = Desk("support-test", ("gb",),
            (DeskAgent("ann", "Ann", "+447400900401"), DeskAgent("bob", "Bob", "+447400900402")), 300)
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def redis(redis_url):
    return Redis.from_url(redis_url, decode_responses=True)


def join(redis, sid: str, band: str = "normal", minute: int = 0, kind: str = "caller") -> None:
    member = Member(sid, kind, band, "gb", "en", settings=QueueSettings())
    assert desk_queue.join(redis, DESK.name, member, T0 + timedelta(minutes=minute), 25) == "joined"


def test_security_callers_and_call_backs_go_ahead_and_each_band_is_first_come_first_served(redis):
    join(redis, "CA-routine-1", minute=0)
    join(redis, "CA-routine-2", minute=1)
    join(redis, "CA-security", band="first", minute=2)
    join(redis, "CA-callback", band="callback", minute=3, kind="callback")
    join(redis, "CA-urgent-callback", band="urgent_callback", minute=4, kind="callback")
    order = [desk_queue.position(redis, DESK.name, sid)[0] for sid in
             ("CA-urgent-callback", "CA-callback", "CA-security", "CA-routine-1", "CA-routine-2")]
    assert order == [1, 2, 3, 4, 5]


def test_only_the_caller_whose_turn_it_is_takes_a_free_agent(redis):
    join(redis, "CA-first", minute=0)
    join(redis, "CA-second", minute=1)
    join(redis, "CA-third", minute=2)
    redis.set(f"ivr:queue:{DESK.name}:agent:bob", "busy:CA-elsewhere")
    assert desk_queue.claim(redis, DESK, "CA-second", T0).agent is None  # the first caller is owed the free agent
    assert desk_queue.claim(redis, DESK, "CA-first", T0).agent.key == "ann"
    redis.delete(f"ivr:queue:{DESK.name}:agent:bob")
    turn = desk_queue.claim(redis, DESK, "CA-second", T0)
    assert turn.agent.key == "bob" and desk_queue.position(redis, DESK.name, "CA-third") == (1, 1)


def test_a_kept_place_that_reaches_the_front_while_an_agent_is_free_makes_its_call_back_due(redis):
    join(redis, "CA-booked", minute=0)
    join(redis, "CA-next", minute=1)
    assert desk_queue.to_placeholder(redis, DESK.name, "CA-booked", "key123")
    assert desk_queue.position(redis, DESK.name, "cb:key123") == (1, 2)  # the place is kept
    turn = desk_queue.claim(redis, DESK, "CA-next", T0)
    assert turn.promoted == ("key123",) and turn.agent is not None


def _a_kept_place_then_a_caller_and_only_ann_free(redis) -> None:
    join(redis, "CA-booked", minute=0)
    join(redis, "CA-next", minute=1)
    desk_queue.to_placeholder(redis, DESK.name, "CA-booked", "key123")
    redis.set(f"ivr:queue:{DESK.name}:agent:bob", "busy:CA-elsewhere")


def test_the_agent_free_for_a_kept_place_is_held_for_its_call_back_not_taken_by_the_callers_behind(redis):
    _a_kept_place_then_a_caller_and_only_ann_free(redis)
    turn = desk_queue.claim(redis, DESK, "CA-next", T0)
    assert turn.promoted == ("key123",) and turn.agent is None  # Ann is the call back's
    assert desk_queue.claim(redis, DESK, "CA-next", T0 + timedelta(seconds=45)).agent is None
    callback = Member("CA-callback", "callback", "callback", "gb", "en", request="key123")
    assert desk_queue.join(redis, DESK.name, callback, T0 + timedelta(minutes=1), 25) == "joined"
    assert desk_queue.claim(redis, DESK, "CA-callback", T0 + timedelta(minutes=1)).agent.key == "ann"
    assert redis.get(f"ivr:queue:{DESK.name}:agent:ann") == "busy:CA-callback"


def test_a_call_back_that_never_reaches_the_queue_frees_the_agent_held_for_it(redis):
    _a_kept_place_then_a_caller_and_only_ann_free(redis)
    assert desk_queue.claim(redis, DESK, "CA-next", T0).promoted == ("key123",)
    desk_queue.unhold(redis, DESK, "other-key")  # someone else's call back: Ann stays held
    assert desk_queue.claim(redis, DESK, "CA-next", T0).agent is None
    desk_queue.unhold(redis, DESK, "key123")  # an answering machine: the call back will be tried later
    assert desk_queue.claim(redis, DESK, "CA-next", T0).agent.key == "ann"


def test_a_cancelled_call_back_gives_up_its_place_and_the_agent_held_for_it(redis):
    _a_kept_place_then_a_caller_and_only_ann_free(redis)
    assert desk_queue.claim(redis, DESK, "CA-next", T0).promoted == ("key123",)
    desk_queue.drop_placeholder(redis, DESK, "key123")  # the caller called again and cancelled
    assert desk_queue.claim(redis, DESK, "CA-next", T0).agent.key == "ann"


def test_two_kept_places_and_one_free_agent_make_one_call_back_due(redis):
    for n, sid in enumerate(("CA-a", "CA-b", "CA-c")):
        join(redis, sid, minute=n)
    desk_queue.to_placeholder(redis, DESK.name, "CA-a", "key-a")
    desk_queue.to_placeholder(redis, DESK.name, "CA-b", "key-b")
    redis.set(f"ivr:queue:{DESK.name}:agent:bob", "busy:CA-elsewhere")
    turn = desk_queue.claim(redis, DESK, "CA-c", T0)
    assert turn.promoted == ("key-a",) and turn.agent is None
    assert desk_queue.position(redis, DESK.name, "cb:key-b") == (1, 2)  # next when another agent comes free


def test_an_agent_signed_out_takes_no_calls_and_the_wait_counts_the_agents_signed_in(redis):
    assert desk_queue.sign_out(redis, DESK.name, "ann") and not desk_queue.sign_out(redis, DESK.name, "ann")
    assert [a.key for a in desk_queue.free_agents(redis, DESK)] == ["bob"]
    assert desk_queue.estimate_seconds(redis, DESK, 3) == 900  # 3 x 300 s / 1 agent
    join(redis, "CA-first")
    assert desk_queue.claim(redis, DESK, "CA-first", T0).agent.key == "bob"
    view = desk_queue.snapshot(redis, DESK, T0 + timedelta(minutes=2))
    assert [(a["key"], a["state"], a["call"]) for a in view["agents"]] == [("ann", "signed out", None),
                                                                          ("bob", "talking", "CA-first")]
    assert desk_queue.sign_in(redis, DESK.name, "ann", T0)
    assert [a.key for a in desk_queue.free_agents(redis, DESK)] == ["ann"]


def test_the_wait_is_estimated_from_recent_conversations_and_the_agents_on_duty(redis):
    assert desk_queue.estimate_seconds(redis, DESK, 3) == 450  # no history yet: the desk's 300 s, 2 agents
    for seconds in (120, 180, 240):
        desk_queue.release(redis, DESK.name, "ann", T0, handled_seconds=seconds)
    assert desk_queue.estimate_seconds(redis, DESK, 3) == 270  # 3 x 180 s / 2
    desk_queue.release(redis, DESK.name, "bob", T0, missed=True)  # away for a while
    assert desk_queue.estimate_seconds(redis, DESK, 3) == 540


def test_a_caller_who_hangs_up_leaves_the_queue_and_frees_the_agent_claimed_for_them(redis):
    join(redis, "CA-gone")
    assert desk_queue.claim(redis, DESK, "CA-gone", T0).agent.key == "ann"
    desk_queue.leave(redis, DESK.name, "CA-gone")
    assert [a.key for a in desk_queue.free_agents(redis, DESK)] == ["ann", "bob"]
    assert desk_queue.size(redis, DESK.name) == 0


def test_a_full_queue_offers_a_call_back_as_soon_as_an_agent_is_free(world, clock):
    clock.set("2026-11-24T10:00", "Europe/London")
    for n in range(25):
        desk_queue.join(world.rt.redis, "support-gb", Member(f"CA{n:032x}", "caller", "normal", "gb", "en"),
                         world.rt.clock() - timedelta(minutes=30 - n), 1000)
    call = world.twilio.call(GB, "+447400123471", [Silence(), Press("2"), Press("6"), Press("1"), Press("1")])
    assert call.heard("the queue is full") and call.heard("We will call you back in about")
    assert not call.heard("You keep your place")
    request = world.request("+447400123471")
    assert request.reason == "caller_overflow" and request.status == "pending"


def test_an_agent_who_does_not_answer_rests_and_the_caller_keeps_their_place(world, clock):
    clock.set("2026-11-24T10:00", "Europe/London")
    world.twilio.person(OLIVIA, Agent(answer="no-answer"))
    world.twilio.person(TOM, Agent())
    call = world.twilio.call(GB, "+447400123472", [Silence(), Press("2"), Press("6")])
    assert [leg.to for leg in call.legs] == [OLIVIA, TOM] and call.bridged_to == [TOM]
    assert world.rt.redis.get("ivr:queue:support-gb:agent:olivia") == "away"
    from tests.security.test_urgent import timeline

    kinds = [k for k, _ in timeline(world.sessions, call.sid)]
    assert kinds.count("queue_joined") == 1 and "queue_rejoined" in kinds and "agent_missed" in kinds
    assert "agent_conversation" in kinds and world.rt.redis.lrange("ivr:queue:support-gb:handled", 0, -1) == ["60"]


def test_operators_see_the_desk_and_sign_an_agent_out_and_in_with_ivr_desks(world, clock):
    clock.set("2026-11-24T10:00", "Europe/London")
    world.twilio.person(TOM, Agent())
    signed = CliRunner().invoke(desks_cli, ["sign-out", "support-gb", "olivia"], env=world.env)
    assert signed.exit_code == 0 and "Olivia Brown (support-gb) signed out" in signed.output
    call = world.twilio.call(GB, "+447400123473", [Silence(), Press("2"), Press("6")])
    assert [leg.to for leg in call.legs] == [TOM]  # Olivia is not rung
    shown = CliRunner().invoke(desks_cli, ["show", "support-gb"], env=world.env)
    assert shown.exit_code == 0, shown.output
    assert "support-gb (gb): 1 of 2 agents free" in shown.output and "signed out" in shown.output
    assert CliRunner().invoke(desks_cli, ["sign-in", "support-gb", "olivia"], env=world.env).exit_code == 0
    as_json = json.loads(CliRunner().invoke(desks_cli, ["show", "--json"], env=world.env).output)
    assert {d["desk"] for d in as_json} >= {"support-gb", "support-us"}
    assert all(a["signed_in"] for d in as_json for a in d["agents"])
    unknown = CliRunner().invoke(desks_cli, ["sign-out", "support-gb", "nobody"], env=world.env)
    assert unknown.exit_code != 0 and "no agent 'nobody' at support-gb; agents: olivia, tom" in unknown.output


def test_the_desk_api_needs_its_token_and_signs_agents_in_and_out(settings, clock, sessions):
    made, rest = make_world(settings, clock, sessions, ops_token="desk-token")
    try:
        client, auth = made.app.test_client(), {"Authorization": "Bearer desk-token"}
        assert client.get("/ops/desks").status_code == 403
        assert client.get("/ops/desks", headers={"Authorization": "Bearer guess"}).status_code == 403
        out = client.post("/ops/desks/support-gb/agents/tom", data={"status": "out"}, headers=auth)
        assert out.status_code == 200 and out.get_json() == {"desk": "support-gb", "agent": "tom",
                                                             "signed_in": False, "changed": True}
        view = client.get("/ops/desks/support-gb", headers=auth).get_json()
        assert [(a["key"], a["state"]) for a in view["agents"]] == [("olivia", "free"), ("tom", "signed out")]
        assert client.post("/ops/desks/support-gb/agents/tom", json={"status": "in"}, headers=auth).status_code == 200
        assert client.post("/ops/desks/support-gb/agents/tom", json={"status": "away"},
                           headers=auth).status_code == 400
        assert client.post("/ops/desks/support-gb/agents/nobody", json={"status": "in"},
                           headers=auth).status_code == 404
        assert client.get("/ops/desks/support-xx", headers=auth).status_code == 404
    finally:
        rest.__exit__(None, None, None)
    off, rest = make_world(settings, clock, sessions)
    try:
        refused = off.app.test_client().get("/ops/desks", headers={"Authorization": "Bearer "})
        assert refused.status_code == 403 and "IVR_OPS_TOKEN" in refused.get_json()["error"]
    finally:
        rest.__exit__(None, None, None)


def test_the_urgent_key_still_works_while_holding(world, clock):
    clock.set("2026-11-24T10:00", "Europe/London")
    for key in ("olivia", "tom"):
        world.rt.redis.set(f"ivr:queue:support-gb:agent:{key}", "busy:elsewhere", ex=600)
    call = world.twilio.call(GB, "+447400123473", [Silence(), Press("2"), Press("6"), Press("9"), Silence()])
    assert call.heard("We are connecting you to our security team now")
    assert desk_queue.size(world.rt.redis, "support-gb") == 0  # out of the queue


@pytest.mark.parametrize("files, problem", [
    ({}, "region 'gb' queues callers but no desk serves it"),
    ({"support-gb.yaml": "regions: [gb]\nagents: {a: {name: A, phone: '+44 7400 900301'}}\n"}, "is not in E.164 form"),
    ({"desk-a.yaml": "regions: [gb]\nagents: {a: {name: A, phone: '+447400900301'}}\n",
      "desk-b.yaml": "regions: [gb]\nagents: {a: {name: A, phone: '+447400900302'}}\n"},
     "is also served by desk 'desk-a'"),
    ({"Support GB.yaml": "regions: [gb]\nagents: {a: {name: A, phone: '+447400900301'}}\n"}, "the file name is"),
])
def test_a_bad_desks_file_is_refused_naming_the_file(tmp_path, files, problem):
    (tmp_path / "desks").mkdir()
    for name, text in files.items():
        (tmp_path / "desks" / name).write_text(text)
    _, problems = load_desks(tmp_path, {"gb"})
    assert any(problem in p for p in problems), problems
