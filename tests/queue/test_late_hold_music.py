"""Twilio's hold music request (waitUrl) for a caller who has already hung up (issue 13, defect 8),
and the queue's hashes always expiring: a late request never puts the dead call back in the queue
nor claims an agent for it."""
from __future__ import annotations

import pytest
from redis import Redis

from ivr.core.actions import QueueSettings
from ivr.flows.desks import Desk
from ivr.queue import desk_queue
from ivr.queue.desk_queue import MEMBER_TTL, Member
from tests.webhooks import signed_post

pytestmark = pytest.mark.time_sensitive  # the queue's times are the service's clock

DESK = "support-gb"
SID = "CA" + "d8" * 16


@pytest.fixture
def redis(redis_url):
    return Redis.from_url(redis_url, decode_responses=True)


def hold_music(client, sid: str = SID):
    return signed_post(client, f"/voice/queue/wait?desk={DESK}", {"CallSid": sid, "QueueTime": "40",
                                                                 "CallStatus": "in-progress"})


def agents_claimed(redis) -> list[str]:
    return [key for key in redis.keys(f"ivr:queue:{DESK}:agent:*") if redis.get(key).startswith("busy:")]


def test_hold_music_asked_for_after_the_caller_hung_up_changes_nothing(app, redis, clock):
    desk_queue.join(redis, DESK, Member(SID, "caller", "normal", "gb", "en", settings=QueueSettings()),
                    clock(), max_size=100)
    desk_queue.sign_out(redis, DESK, "olivia")
    desk_queue.sign_out(redis, DESK, "tom")  # nobody free yet: the caller holds
    client = app.test_client()
    holding = hold_music(client)
    assert holding.status_code == 200 and b"<Leave" not in holding.data  # nobody free: music and the place
    left = signed_post(client, f"/voice/queue/left?desk={DESK}", {"CallSid": SID, "QueueResult": "hangup"})
    assert left.status_code == 200
    desk_queue.sign_in(redis, DESK, "olivia", clock())  # an agent comes free just as the late request arrives
    late = hold_music(client)
    assert late.status_code == 200 and b"<Leave" not in late.data and b"sorry" not in late.data.lower()
    assert desk_queue.position(redis, DESK, SID) == (0, 0)  # not back in the queue
    assert agents_claimed(redis) == []  # and Olivia was not claimed for a dead call for BUSY_TTL
    assert not redis.exists(f"ivr:queue:{DESK}:member:{SID}")


def test_hold_music_after_the_final_status_changes_nothing(app, redis, clock):
    client = app.test_client()
    signed_post(client, "/voice/incoming", {"CallSid": SID, "From": "+447700900123", "To": "+442079460100"})
    signed_post(client, "/voice/status", {"CallSid": SID, "CallStatus": "completed", "CallDuration": "30"})
    late = hold_music(client)
    assert late.status_code == 200 and b"<Leave" not in late.data
    assert desk_queue.position(redis, DESK, SID) == (0, 0) and agents_claimed(redis) == []


def test_the_queue_never_leaves_a_member_hash_without_a_ttl(redis, clock):
    desk = Desk(DESK, ("gb",), (), 300)
    for touch in (lambda: desk_queue.step_out(redis, DESK, "CA-stepped", clock()),
                  lambda: desk_queue.claim(redis, desk, "CA-claimed", clock())):
        touch()
    for sid in ("CA-stepped", "CA-claimed"):
        assert 0 < redis.ttl(f"ivr:queue:{DESK}:member:{sid}") <= MEMBER_TTL
