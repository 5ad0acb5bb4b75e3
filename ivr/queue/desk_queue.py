"""The agents' queue of each desk, as we order it in Redis. Twilio's queues are first in, first out;
ours is not, so Twilio only holds the callers and plays our hold music, and we decide who goes next.

Order: a sorted set per desk, scored `band * 10**13 + the moment the caller first joined (ms)`.
Bands: 0 urgent security call backs we placed, 1 other call backs we placed (they come back at the
front), 2 security and VIP callers, 5 everyone else, each band first come, first served. A caller
keeps their score when they step out of Twilio's queue (to book a call back, or when an agent
missed the call) and come back; a booked call back leaves a placeholder, `cb:<request key>`, in
the caller's place.

Dispatch: Twilio asks for the hold music of every waiting caller each time it runs out. When the
caller asking is at the front (counting those ahead who are still holding or stepping out) and an
agent is free, we claim the agent for them and the music is a <Leave>: Twilio then requests the
<Enqueue> action, which dials the agent. A placeholder that comes to the front while an agent is
free is due: its call back is placed now (the caller reaches an agent when they would have), and
that agent is held for it while it rings, so the callers behind do not take them first.

Agents: every agent in the desk file takes calls in opening hours unless signed out (`ivr desks
sign-out`, or the desk API); an agent who misses a call rests for AWAY_SECONDS.

Keys (desk d): ivr:queue:d:order (sorted set), ivr:queue:d:member:<CallSid> (hash),
ivr:queue:d:agent:<key> ("busy:<CallSid>", "held:<request key>" or "away", with a TTL),
ivr:queue:d:gone:<CallSid> (a call that left for good: its late hold music requests change nothing),
ivr:queue:d:out (agents signed out), ivr:queue:d:idle (agent -> when last freed),
ivr:queue:d:handled (the last conversations' lengths in seconds).
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime

from redis import Redis

from ivr.core.actions import QueueSettings
from ivr.flows.desks import Agent, Desk

log = logging.getLogger(__name__)

BANDS = {"urgent_callback": 0, "callback": 1, "first": 2, "normal": 5}
BAND_WIDTH = 10 ** 13
PLACEHOLDER = "cb:"
MEMBER_TTL = 4 * 3600
BUSY_TTL = 2 * 3600  # an agent whose conversation we never heard end is free again after this
AWAY_SECONDS = 120  # an agent who did not answer is not rung again for this long
HELD_SECONDS = 180  # an agent held for a call back being placed (ringing, machine detection, the intro)
HANDLED_KEPT = 20  # conversations the estimate averages over
STALE_SECONDS = 300  # a caller not heard from for this long has gone
SCAN = 200  # entries looked at from the front


def _key(desk: str, *parts: str) -> str:
    return ":".join(("ivr:queue", desk, *parts))


@dataclass(frozen=True)
class Member:
    """Someone in a desk's queue: a caller in the flow, or a call back we placed."""

    call_sid: str
    kind: str  # "caller" or "callback"
    band: str
    region: str
    language: str
    ticket: str = ""
    issue: str = ""
    request: str = ""  # the callback request's key, for kind "callback"
    settings: QueueSettings = field(default_factory=QueueSettings)

    def to_hash(self) -> dict[str, str]:
        data = {k: v for k, v in asdict(self).items() if k != "settings"}
        data["settings"] = json.dumps(asdict(self.settings))
        return data

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> Member:
        values = {k: data.get(k, "") for k in ("call_sid", "kind", "band", "region", "language", "ticket", "issue",
                                               "request")}
        return cls(**values, settings=QueueSettings(**json.loads(data.get("settings") or "{}")))


@dataclass(frozen=True)
class Claim:
    """The result of a waiting caller asking whether it is their turn."""

    agent: Agent | None  # claimed for them: send them to this agent now
    position: int  # 1-based, counting everyone ahead (callers, call backs, placeholders)
    size: int
    promoted: tuple[str, ...] = ()  # call backs (request keys) whose turn has come


def join(redis: Redis, desk: str, member: Member, now: datetime, max_size: int) -> str:
    """Put a caller in the queue: "joined", "rejoined" (their old place), or "full"."""
    mkey = _key(desk, "member", member.call_sid)
    redis.delete(_key(desk, "gone", member.call_sid))  # back in line (a call back we placed, a caller rejoining)
    held = redis.hget(mkey, "score")
    if held is not None:
        redis.zadd(_key(desk, "order"), {member.call_sid: float(held)})
        _touch(redis, mkey, {"where": "queue", "agent": "", "seen": str(now.timestamp())})
        return "rejoined"
    if redis.zcard(_key(desk, "order")) >= max_size:
        return "full"
    score = BANDS[member.band] * BAND_WIDTH + int(now.timestamp() * 1000)
    pipe = redis.pipeline()
    pipe.hset(mkey, mapping={**member.to_hash(), "score": str(score), "where": "queue", "agent": "",
                             "joined": str(now.timestamp()), "seen": str(now.timestamp())})
    pipe.expire(mkey, MEMBER_TTL)
    pipe.zadd(_key(desk, "order"), {member.call_sid: score})
    pipe.execute()
    return "joined"


def member(redis: Redis, desk: str, call_sid: str) -> Member | None:
    data = redis.hgetall(_key(desk, "member", call_sid))
    return Member.from_hash(data) if data else None


def detail(redis: Redis, desk: str, call_sid: str) -> dict[str, str]:
    """Where a member is (queue, flow, agent), the agent claimed for them, when they joined."""
    return redis.hgetall(_key(desk, "member", call_sid))


def position(redis: Redis, desk: str, entry: str) -> tuple[int, int]:
    """(1-based position, size) of a call or a placeholder ("cb:<key>"); position 0: not queued."""
    rank = redis.zrank(_key(desk, "order"), entry)
    return (0 if rank is None else rank + 1), redis.zcard(_key(desk, "order"))


def size(redis: Redis, desk: str) -> int:
    return redis.zcard(_key(desk, "order"))


def step_out(redis: Redis, desk: str, call_sid: str, now: datetime) -> None:
    """The caller left Twilio's queue for a moment (a key pressed): they keep their place."""
    _touch(redis, _key(desk, "member", call_sid), {"where": "flow", "seen": str(now.timestamp())})


def _touch(redis: Redis, key: str, fields: dict[str, str]) -> None:
    """Set fields of a member's hash and (re)start its TTL, so no hash outlives its call (a field set
    on a hash that had expired would otherwise make one that never does)."""
    pipe = redis.pipeline()
    pipe.hset(key, mapping=fields)
    pipe.expire(key, MEMBER_TTL)
    pipe.execute()


def gone(redis: Redis, desk: str, call_sid: str) -> bool:
    """The call left the queue for good (hung up, or its conversation is over)."""
    return bool(redis.exists(_key(desk, "gone", call_sid)))


_DELETE_IF = """if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"""


def _delete_if(redis: Redis, key: str, value: str) -> bool:
    return bool(redis.eval(_DELETE_IF, 1, key, value))


def leave(redis: Redis, desk: str, call_sid: str) -> None:
    """The caller is gone (hung up, or their conversation is over); frees an agent claimed for them."""
    data = redis.hgetall(_key(desk, "member", call_sid))
    if data.get("agent"):
        _delete_if(redis, _key(desk, "agent", data["agent"]), f"busy:{call_sid}")
    redis.zrem(_key(desk, "order"), call_sid)
    redis.delete(_key(desk, "member", call_sid))
    redis.set(_key(desk, "gone", call_sid), "1", ex=MEMBER_TTL)


def to_placeholder(redis: Redis, desk: str, call_sid: str, request_key: str) -> bool:
    """A caller booked a call back: keep their place for it. False if they held no place."""
    score = redis.zscore(_key(desk, "order"), call_sid)
    if score is None:
        held = redis.hget(_key(desk, "member", call_sid), "score")
        score = float(held) if held is not None else None
    redis.zrem(_key(desk, "order"), call_sid)
    if score is None:
        return False
    redis.zadd(_key(desk, "order"), {PLACEHOLDER + request_key: score})
    _touch(redis, _key(desk, "member", call_sid), {"where": "callback", "score": str(score)})
    return True


def drop_placeholder(redis: Redis, desk: Desk, request_key: str) -> None:
    """A call back was cancelled: its kept place goes, and an agent held for it is free again."""
    redis.zrem(_key(desk.name, "order"), PLACEHOLDER + request_key)
    unhold(redis, desk, request_key)


def claim(redis: Redis, desk: Desk, call_sid: str, now: datetime) -> Claim:
    """Is it `call_sid`'s turn? Claims a free agent for them if so (or the agent held for their call
    back); promotes due call backs, holding an agent for each."""
    if gone(redis, desk.name, call_sid):
        return Claim(None, 0, redis.zcard(_key(desk.name, "order")))  # a call that left: no agent for it
    with redis.lock(_key(desk.name, "lock"), timeout=5, blocking_timeout=3):
        _touch(redis, _key(desk.name, "member", call_sid), {"seen": str(now.timestamp())})
        free = free_agents(redis, desk)
        ahead, promoted = 0, []
        for entry, _score in redis.zrange(_key(desk.name, "order"), 0, SCAN - 1, withscores=True):
            if entry.startswith(PLACEHOLDER):
                request_key = entry[len(PLACEHOLDER):]
                if ahead < len(free) and _hold(redis, desk.name, free[ahead], request_key):
                    free.pop(ahead)  # an agent is free for them now: their call back is due, and the agent theirs
                    redis.zrem(_key(desk.name, "order"), entry)
                    promoted.append(request_key)
                else:
                    ahead += 1
                continue
            if entry == call_sid:
                agent = _held_for(redis, desk, call_sid)
                if agent is None and ahead < len(free):
                    agent = _take(redis, desk, call_sid, free[ahead:])
                if agent is not None:
                    redis.zrem(_key(desk.name, "order"), call_sid)
                    _touch(redis, _key(desk.name, "member", call_sid), {"where": "agent", "agent": agent.key})
                    return Claim(agent, 1, redis.zcard(_key(desk.name, "order")) + 1, tuple(promoted))
                break
            if _gone(redis, desk.name, entry, now):
                log.info("queue %s: %s has not been heard from; dropped", desk.name, entry)
                redis.zrem(_key(desk.name, "order"), entry)
                continue
            ahead += 1
        place, size = position(redis, desk.name, call_sid)
        return Claim(None, place, size, tuple(promoted))


def _take(redis: Redis, desk: Desk, call_sid: str, candidates: list[Agent]) -> Agent | None:
    for agent in candidates:
        if redis.set(_key(desk.name, "agent", agent.key), f"busy:{call_sid}", nx=True, ex=BUSY_TTL):
            return agent
    return None


def _hold(redis: Redis, desk: str, agent: Agent, request_key: str) -> bool:
    return bool(redis.set(_key(desk, "agent", agent.key), f"held:{request_key}", nx=True, ex=HELD_SECONDS))


def _held_for(redis: Redis, desk: Desk, call_sid: str) -> Agent | None:
    """The agent held for this call back call (its request's key), now claimed for it."""
    request_key = redis.hget(_key(desk.name, "member", call_sid), "request")
    if not request_key:
        return None
    states = redis.mget([_key(desk.name, "agent", a.key) for a in desk.agents])
    for agent, state in zip(desk.agents, states):
        if state == f"held:{request_key}":
            redis.set(_key(desk.name, "agent", agent.key), f"busy:{call_sid}", ex=BUSY_TTL)
            return agent
    return None


def unhold(redis: Redis, desk: Desk, request_key: str) -> None:
    """The call back call ended without reaching the queue (a machine, no answer): its agent is free."""
    for agent in desk.agents:
        _delete_if(redis, _key(desk.name, "agent", agent.key), f"held:{request_key}")


def _gone(redis: Redis, desk: str, call_sid: str, now: datetime) -> bool:
    seen = redis.hget(_key(desk, "member", call_sid), "seen")
    return seen is None or now.timestamp() - float(seen) > STALE_SECONDS


def free_agents(redis: Redis, desk: Desk) -> list[Agent]:
    """Agents signed in and neither in a conversation, held for a call back, nor away; longest idle first."""
    pipe = redis.pipeline(transaction=False)  # one round trip: this runs on every hold music request
    pipe.mget([_key(desk.name, "agent", a.key) for a in desk.agents])
    pipe.zrange(_key(desk.name, "idle"), 0, -1, withscores=True)
    pipe.smembers(_key(desk.name, "out"))
    states, idle_scores, out = pipe.execute()
    idle = dict(idle_scores)
    free = [a for a, state in zip(desk.agents, states) if not state and a.key not in out]
    return sorted(free, key=lambda a: idle.get(a.key, 0.0))


def sign_in(redis: Redis, desk: str, agent_key: str, now: datetime) -> bool:
    """The agent takes calls again. False if they already did."""
    if redis.srem(_key(desk, "out"), agent_key):
        redis.zadd(_key(desk, "idle"), {agent_key: now.timestamp()})  # the longest idle are rung first: not them
        return True
    return False


def sign_out(redis: Redis, desk: str, agent_key: str) -> bool:
    """The agent takes no more calls (a conversation they are in goes on). False if already out."""
    return bool(redis.sadd(_key(desk, "out"), agent_key))


def signed_out(redis: Redis, desk: str) -> set[str]:
    return set(redis.smembers(_key(desk, "out")))


def release(redis: Redis, desk: str, agent_key: str, now: datetime, handled_seconds: int | None = None,
            missed: bool = False) -> None:
    """The agent's call with a caller ended: free again (or away for a while, when they missed it)."""
    if missed:
        redis.set(_key(desk, "agent", agent_key), "away", ex=AWAY_SECONDS)
    else:
        redis.delete(_key(desk, "agent", agent_key))
    redis.zadd(_key(desk, "idle"), {agent_key: now.timestamp()})
    if handled_seconds:
        pipe = redis.pipeline()
        pipe.lpush(_key(desk, "handled"), handled_seconds)
        pipe.ltrim(_key(desk, "handled"), 0, HANDLED_KEPT - 1)
        pipe.execute()


def estimate_seconds(redis: Redis, desk: Desk, place: int) -> int:
    """Estimated wait at `place`: one of n agents comes free every (average handle time / n)."""
    return int(round(max(place, 1) * pace_seconds(redis, desk)))


def pace_seconds(redis: Redis, desk: Desk) -> float:
    """How often an agent of the desk comes free now: the average of its recent conversations (the
    desk file's handle_seconds until it has some) over the agents on duty (signed in, not away)."""
    pipe = redis.pipeline(transaction=False)  # one round trip: this runs on every hold music request
    pipe.mget([_key(desk.name, "agent", a.key) for a in desk.agents])
    pipe.smembers(_key(desk.name, "out"))
    pipe.lrange(_key(desk.name, "handled"), 0, HANDLED_KEPT - 1)
    states, out, handled = pipe.execute()
    on_duty = max(1, sum(1 for a, state in zip(desk.agents, states) if state != "away" and a.key not in out))
    return _average(handled, desk) / on_duty


def opening_pace_seconds(redis: Redis, desk: Desk) -> float:
    """How often an agent comes free once the line opens: every agent of the desk file at work
    (whoever signed out at the end of the last shift, or is resting now, does not count against it)."""
    handled = redis.lrange(_key(desk.name, "handled"), 0, HANDLED_KEPT - 1)
    return _average(handled, desk) / max(1, len(desk.agents))


def _average(handled: list[str], desk: Desk) -> float:
    """The average of the desk's recent conversations, or its file's handle_seconds until it has some."""
    seconds = [int(x) for x in handled]
    return sum(seconds) / len(seconds) if seconds else desk.handle_seconds


_BAND_NAMES = {v: k for k, v in BANDS.items()}


def snapshot(redis: Redis, desk: Desk, now: datetime) -> dict:
    """The desk as it stands, for operators: each agent's state, who is waiting in order, how often
    an agent comes free and the wait a caller joining now would be told."""
    states = redis.mget([_key(desk.name, "agent", a.key) for a in desk.agents])
    ttls = [redis.ttl(_key(desk.name, "agent", a.key)) for a in desk.agents]
    out = signed_out(redis, desk.name)
    agents = []
    for agent, state, ttl in zip(desk.agents, states, ttls):
        kind, _, about = (state or "").partition(":")
        status = ("signed out" if agent.key in out and kind != "busy" else
                  {"busy": "talking", "held": "held for a call back", "away": "away"}.get(kind, "free"))
        agents.append({"key": agent.key, "name": agent.name, "phone": agent.phone, "state": status,
                       "call": about if kind == "busy" else None, "callback": about if kind == "held" else None,
                       "signed_in": agent.key not in out, "away_seconds": ttl if kind == "away" and ttl > 0 else None})
    waiting = []
    for place, (entry, score) in enumerate(redis.zrange(_key(desk.name, "order"), 0, -1, withscores=True), 1):
        joined = (score % BAND_WIDTH) / 1000
        band = _BAND_NAMES.get(int(score // BAND_WIDTH), str(int(score // BAND_WIDTH)))
        if entry.startswith(PLACEHOLDER):
            waiting.append({"place": place, "kind": "kept place", "callback": entry[len(PLACEHOLDER):], "band": band,
                            "waited_seconds": int(now.timestamp() - joined)})
            continue
        data = redis.hgetall(_key(desk.name, "member", entry))
        waiting.append({"place": place, "kind": data.get("kind", "caller"), "call": entry, "band": band,
                        "region": data.get("region"), "language": data.get("language"),
                        "ticket": data.get("ticket") or None, "where": data.get("where"),
                        "waited_seconds": int(now.timestamp() - joined)})
    free = sum(1 for agent in agents if agent["state"] == "free")
    ahead = len(waiting) + 1 - free  # a caller joining now: those before them not matched by a free agent
    return {"desk": desk.name, "regions": list(desk.regions), "agents": agents, "waiting": waiting,
            "pace_seconds": round(pace_seconds(redis, desk), 1),
            "wait_for_next_seconds": estimate_seconds(redis, desk, ahead) if ahead > 0 else 0,
            "handled": [int(x) for x in redis.lrange(_key(desk.name, "handled"), 0, -1)]}
