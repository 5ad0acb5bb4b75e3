"""For scenarios run in process: the region's queue as a call finds it (agents on other calls,
callers already waiting, recent conversation lengths), and the call backs a call booked, placed
as they fall due with the service's clock moved forward, through the emulator's REST API."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, timedelta

from sqlalchemy import select

from ivr.callbacks import placing
from ivr.callbacks.booking import utc
from ivr.db.models import Call, CallbackRequest
from ivr.emulator.scenarios import DeskPreset
from ivr.queue import desk_queue
from ivr.queue.desk_queue import Member
from ivr.twilio_rest import twilio_client

MAX_ATTEMPTS_PLAYED = 10


@dataclass
class Preset:
    """What a scenario put in a desk's queue, to take out again afterwards."""

    desk: str | None = None
    agents: list[str] = field(default_factory=list)
    callers: list[str] = field(default_factory=list)


def apply(rt, region: str, preset: DeskPreset | None, now) -> Preset:
    desk = rt.desks.for_region(region) if rt.desks and preset else None
    if desk is None:
        return Preset()
    done = Preset(desk.name)
    for agent in desk.agents:
        if preset.busy == "all" or agent.phone in preset.busy:
            rt.redis.set(f"ivr:queue:{desk.name}:agent:{agent.key}", "busy:scenario", ex=3600)
            done.agents.append(agent.key)
    for n in range(preset.waiting):
        sid = "CA" + uuid.uuid4().hex
        joined = now - timedelta(minutes=preset.waiting - n)  # they came earlier, in this order
        desk_queue.join(rt.redis, desk.name, Member(sid, "caller", "normal", region, "en"), joined, max_size=10_000)
        rt.redis.hset(f"ivr:queue:{desk.name}:member:{sid}", "seen", str(now.timestamp()))
        done.callers.append(sid)
    if preset.handle_seconds:
        rt.redis.delete(f"ivr:queue:{desk.name}:handled")
        rt.redis.rpush(f"ivr:queue:{desk.name}:handled", *preset.handle_seconds)
    return done


def clear(rt, preset: Preset) -> None:
    """Time has passed: the agents who were busy are free, the callers who were waiting are gone."""
    if preset.desk is None:
        return
    for key in preset.agents:
        rt.redis.delete(f"ivr:queue:{preset.desk}:agent:{key}")
    for sid in preset.callers:
        desk_queue.leave(rt.redis, preset.desk, sid)
    rt.redis.delete(f"ivr:queue:{preset.desk}:handled")
    preset.agents.clear()
    preset.callers.clear()


def newest_request(sessions, number: str) -> CallbackRequest | None:
    with sessions() as db:
        return db.scalars(select(CallbackRequest).where(CallbackRequest.number == number)
                          .order_by(CallbackRequest.id.desc())).first()


def newest_for_call(sessions, call_sid: str) -> CallbackRequest | None:
    with sessions() as db:
        return db.scalars(select(CallbackRequest).join(Call, CallbackRequest.call_id == Call.id)
                          .where(Call.call_sid == call_sid).order_by(CallbackRequest.id.desc())).first()


def play_callbacks(rt, twilio, clock, call_sid: str, preset: Preset) -> list:
    """Place the call backs booked on the call, attempt after attempt, each at its due time (the
    service's clock is moved there); returns the emulated calls, in order."""
    placed = []
    for _ in range(MAX_ATTEMPTS_PLAYED):
        request = newest_for_call(rt.sessions, call_sid)
        if request is None or request.status != "pending":
            break
        clock.set_moment(utc(request.due_at).astimezone(UTC))
        clear(rt, preset)
        before = len(twilio.outbound)
        placing.place(rt, request.key, request.attempts + 1, owner="scenario")
        twilio.wait_outbound()
        placed.extend(twilio.outbound[before:])
    return placed


def point_rest_at(rt, twilio) -> None:
    """The service's REST client must reach the emulator to place call backs; point it there."""
    if rt.settings.twilio_api_url:
        return
    server = twilio.serve_rest().__enter__()  # lives as long as the emulator (daemon thread)
    rt.__dict__["twilio"] = twilio_client(rt.settings.with_(twilio_api_url=server.url))
