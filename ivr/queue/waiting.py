"""A caller's time in the agents' queue, webhook by webhook: the hold music (their place, the wait,
the call back offer, or <Leave> when an agent has been claimed for them), a key pressed while
holding, leaving Twilio's queue, the agent's call and its end. Works for callers in the flow (the
engine decides what follows) and for call backs we placed (they only wait and talk)."""
from __future__ import annotations

import logging

from twilio.twiml.voice_response import VoiceResponse

from ivr.calls import lifecycle
from ivr.calls.ledger import ended_by_records
from ivr.calls.lifecycle import note_on_call
from ivr.calls.records import find_call
from ivr.calls.store import CallStore
from ivr.core.actions import QueueSettings
from ivr.core.events import Digits, QueueLeft
from ivr.queue import desk_queue, hold
from ivr.queue.desk_queue import Member
from ivr.runtime import Runtime

log = logging.getLogger(__name__)
GOODBYE = "goodbye"


def wait(rt: Runtime, desk_name: str, call_sid: str, queue_time: int) -> str:
    """The hold music, asked for again each time it runs out: leave for an agent if it is this
    caller's turn and one is free; otherwise their place and the estimated wait."""
    desk, now = rt.desks.get(desk_name), rt.clock()
    if desk_queue.gone(rt.redis, desk_name, call_sid) or _ended(rt, call_sid):
        log.info("queue %s: hold music asked for call %s, which has left; nothing to do", desk_name, call_sid)
        return str(VoiceResponse())  # never back in the queue, never an agent claimed for it
    member = desk_queue.member(rt.redis, desk_name, call_sid) or _rebuild(rt, desk_name, call_sid)
    flow = rt.flows.flows[member.region]
    turn = desk_queue.claim(rt.redis, desk, call_sid, now)
    _promote(rt, turn.promoted)
    if turn.agent is not None:
        note_on_call(rt, call_sid, "queue_agent_free", desk=desk_name, agent=turn.agent.name, waited=queue_time)
        return hold.leave_for_agent(hold.words(flow, member.language, ["queue_connecting"]))
    wait_seconds = desk_queue.estimate_seconds(rt.redis, desk, turn.position)
    says = hold.announcement(flow, member, turn.position, wait_seconds, queue_time)
    return hold.hold_music(says, member.settings, rt.url_for(f"/voice/queue/key?desk={desk_name}"))


def key_pressed(rt: Runtime, desk_name: str, call_sid: str, digits: str) -> str:
    """A key pressed while holding: the flow decides (the offer key, the urgent key); a call back
    waiting for an agent just goes on waiting."""
    member = desk_queue.member(rt.redis, desk_name, call_sid)
    if member is not None and member.kind == "callback":
        return hold.enqueue(desk_name, rt.url_for)
    desk_queue.step_out(rt.redis, desk_name, call_sid, rt.clock())
    return lifecycle.advance(rt, call_sid, Digits(digits))


def left(rt: Runtime, desk_name: str, call_sid: str, result: str) -> str:
    """Twilio's queue let the caller go: to the agent claimed for them (`leave`), or they hung up."""
    desk = rt.desks.get(desk_name)
    detail = desk_queue.detail(rt.redis, desk_name, call_sid)
    if result == "leave" and detail.get("agent") and desk.agent(detail["agent"]):
        agent = desk.agent(detail["agent"])
        query = f"desk={desk_name}&agent={agent.key}"
        return hold.dial_agent(agent.phone, None, rt.url_for(f"/voice/queue/agent?{query}"),
                               rt.url_for(f"/voice/queue/whisper?{query}"))
    if result == "hangup":
        desk_queue.leave(rt.redis, desk_name, call_sid)
        note_on_call(rt, call_sid, "queue_hangup", desk=desk_name)
        return str(VoiceResponse())
    if result == "queue-full" and detail.get("kind") == "caller":
        return lifecycle.advance(rt, call_sid, QueueLeft("full"))
    if result in ("error", "system-error", "leave", "queue-full"):  # back to holding, same place
        log.warning("queue %s: call %s left with %s; back in the queue", desk_name, call_sid, result)
        return hold.enqueue(desk_name, rt.url_for)
    return str(VoiceResponse())  # redirected, bridged: the call is already elsewhere


def agent_done(rt: Runtime, desk_name: str, call_sid: str, agent_key: str, dial_status: str, seconds: int,
               bridged: bool) -> str:
    """The caller's <Dial> to the agent is over: a conversation (its length feeds the estimates),
    or a missed agent (the caller goes back to their place, the agent rests a moment)."""
    now = rt.clock()
    member = desk_queue.member(rt.redis, desk_name, call_sid)
    desk = rt.desks.get(desk_name)
    agent = desk.agent(agent_key) if desk else None
    talked = dial_status == "completed" and bridged
    desk_queue.release(rt.redis, desk_name, agent_key, now, handled_seconds=seconds if talked else None,
                        missed=not talked)
    note_on_call(rt, call_sid, "agent_conversation" if talked else "agent_missed", desk=desk_name,
          agent=agent.name if agent else agent_key, status=dial_status, seconds=seconds)
    callback = member is not None and member.kind == "callback"
    if talked:
        desk_queue.leave(rt.redis, desk_name, call_sid)
        if callback:
            flow = rt.flows.flows[member.region]
            return hold.goodbye(hold.words(flow, member.language, [GOODBYE]))
        return lifecycle.advance(rt, call_sid, QueueLeft("connected", agent=agent_key))
    if callback:
        desk_queue.join(rt.redis, desk_name, member, now, max_size=10_000)
        return hold.enqueue(desk_name, rt.url_for)
    return lifecycle.advance(rt, call_sid, QueueLeft("rejoin", agent=agent_key))


def whisper(rt: Runtime, desk_name: str, call_sid: str) -> str:
    """What the agent hears before the caller is put through: where the call is from, the ticket."""
    member = desk_queue.member(rt.redis, desk_name, call_sid)
    if member is None:
        return str(VoiceResponse())
    flow = rt.flows.flows[member.region]
    key = "agent_callback_brief" if member.kind == "callback" else "agent_queue_brief"
    says = hold.words(flow, flow.language_codes[0], [key], ticket_digits=", ".join(member.ticket))
    response = VoiceResponse()
    for say in says:
        response.say(say.text, language=say.language, voice=say.voice)
    return str(response)


def _ended(rt: Runtime, call_sid: str) -> bool:
    """Our records say the call is over (Twilio's final status came)."""
    known = ended_by_records(rt, call_sid)  # Redis's copy: SQL's may not be written yet
    if known is not None:
        return known
    with rt.sessions() as db:
        call = find_call(db, call_sid)
        return call is not None and call.ended_at is not None


def _rebuild(rt: Runtime, desk_name: str, call_sid: str) -> Member:
    """A caller Twilio holds but Redis forgot (restarted without its data): back in the queue, at the end."""
    state = rt.service(CallStore).load(call_sid)
    region = state.region if state else next(iter(rt.desks.get(desk_name).regions))
    member = Member(call_sid, "caller", "normal", region, state.language if state else "en",
                    ticket=state.vars.get("ticket", "") if state else "", settings=QueueSettings())
    desk_queue.join(rt.redis, desk_name, member, rt.clock(), max_size=10_000)
    log.warning("queue %s: call %s was not in the queue; put back at the end", desk_name, call_sid)
    return member


def _promote(rt: Runtime, keys) -> None:
    """Call backs whose place came to the front while an agent is free: place them now (the
    call backs capability does; the reconciler finds any it could not)."""
    for key in keys:
        rt.registry.callback_due_now(rt, key)
