"""Urgency at every question, heard offline: one media stream per call through the IVR's questions.

In a region with `urgency_stream: true`, a caller whose language vosk hears (IVR_SPEECH_PATH
stream) gets one `<Start><Stream name="urgency">` with the first question (a Gather) and keeps it
while the call goes from question to question; it is stopped as soon as a reply asks nothing of
the IVR part (the describe step's own listen stream, a transfer, a queue, the security path, the
end). On the websocket, an UrgencyListener (ivr/speech/urgency_listener.py) decodes only voiced
audio with a phrase-grammar recogniser; an urgent phrase moves the live call (calls(sid).update)
to /voice/urgency, which hands the engine the same Speech event Twilio's speech gather gives a
cloud region: sure, the security path, as 9 there; unsure, "press 9 or say yes". Keys keep
working throughout; a stream refused (every slot taken) only means this call is not listened to.

The stream is bound to its call like a listen step's: its `start` must bring a token only this
service can make (an HMAC, keyed with the auth token, of the CallSid), for a call at a question now.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import xml.etree.ElementTree as ET  # our own TwiML only, never a request's

from ivr.calls import lifecycle
from ivr.calls.store import CallStore
from ivr.calls.turn import Turn
from ivr.core.actions import ListenForUrgency, StopStream
from ivr.core.events import Speech
from ivr.core.state import CallState
from ivr.runtime import Runtime
from ivr.speech.hearing import Decision, Hearing

log = logging.getLogger(__name__)
STREAM_NAME = "urgency"
PURPOSE = b"ivr urgency stream v1"
STREAM_KEY = "ivr:urgency:stream:{sid}"  # set while the call's urgency stream runs
HEARD_KEY = "ivr:urgency:heard:{sid}"  # an urgent decision waiting for /voice/urgency
PATH = "/voice/urgency"


def urgency_token(settings, call_sid: str) -> str:
    """The token of one call's urgency stream: only this service (holding the auth token) can make it."""
    key = hmac.new(settings.twilio_auth_token.encode(), PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, call_sid.encode(), hashlib.sha256).hexdigest()[:40]


def follow_the_call(turn: Turn) -> None:
    """The `reply_ready` hook: start the call's urgency stream with a question of the IVR part, stop
    it with the first reply that leaves that part."""
    if not turn.flow.urgency_stream:
        return
    rt, state = turn.rt, turn.state
    key = STREAM_KEY.format(sid=state.call_sid)
    running = bool(rt.redis.exists(key))
    wanted = turn.asks and state.waiting and _hears_urgency(rt, turn.flow, state)
    if wanted and not running:
        rt.redis.set(key, "1", ex=rt.settings.call_state_ttl)
        turn.lead_with(ListenForUrgency(STREAM_NAME, urgency_token(rt.settings, state.call_sid)))
    elif running and not wanted:
        rt.redis.delete(key)
        turn.lead_with(StopStream(STREAM_NAME))


def forget(rt: Runtime, state: CallState) -> None:
    """The `call_ended` hook: the call's stream ended with it."""
    rt.redis.delete(STREAM_KEY.format(sid=state.call_sid), HEARD_KEY.format(sid=state.call_sid))


def _hears_urgency(rt: Runtime, flow, state: CallState) -> bool:
    """A call of a region that listens for urgency with vosk, at a question where 9 would act."""
    return (flow.urgency_stream and flow.urgent is not None and state.urgent is None and not state.ended
            and state.offer.stage != "keyin"  # a keyed-in number: keys only, and 9 is a digit there
            and rt.service(Hearing).mode(flow, state.language) == "stream")


def at_a_question(rt: Runtime, call_sid: str) -> CallState | None:
    """The call's state if it is at a question of the IVR part where urgency is heard now; else None."""
    state = rt.service(CallStore).load(call_sid)
    if state is None or not state.waiting or state.region not in rt.flows.flows:
        return None
    flow = rt.flows.flows[state.region]
    step = flow.steps.get(state.step)
    if step is None or not _hears_urgency(rt, flow, state):
        return None
    if step.kind == "listen" and not (state.listening.confirming or state.listening.checking_urgent):
        return None  # the describe step hears the caller on its own stream
    return state


def act(rt: Runtime, call_sid: str, decision: Decision) -> bool:
    """An urgent phrase heard on the call's urgency stream: keep it for /voice/urgency and move the
    live call there, if it is still at a question. True when the call was moved."""
    if at_a_question(rt, call_sid) is None:
        return False
    rt.redis.set(HEARD_KEY.format(sid=call_sid), decision.to_json(), ex=rt.settings.call_state_ttl)
    rt.metrics.speech_decisions.labels(f"urgency_{decision.decided_by}").inc()
    try:
        rt.twilio.calls(call_sid).update(url=rt.url_for(PATH), method="POST")
    except Exception:  # the call may have ended meanwhile; keys still work
        log.exception("could not move the call to the security path after an urgent phrase",
                      extra={"call_sid": call_sid})
        return False
    return True


def heard(rt: Runtime, call_sid: str) -> str:
    """/voice/urgency: the urgent phrase kept for this call, as the Speech event a question hears
    (the engine decides: sure, the security path; unsure, "press 9 or say yes")."""
    raw = rt.redis.getdel(HEARD_KEY.format(sid=call_sid))
    if raw is None or at_a_question(rt, call_sid) is None:  # a repeat, or the call moved on meanwhile
        log.info("stale urgency result for call %s: replaying its last answer", call_sid)
        last = rt.service(CallStore).last_reply(call_sid)
        if last is None:
            raise RuntimeError(f"call {call_sid}: an urgency result arrived for a call with no live question")
        return _without_starting_again(last)
    decision = Decision.from_json(raw)
    event = Speech(decision.text[:1000], None, decision.intent, decision.confidence, urgent=True)
    return lifecycle.advance(rt, call_sid, event)


def _without_starting_again(twiml: str) -> str:
    """The last answer said again, minus the start of the urgency stream it may hold (it runs already)."""
    document = ET.fromstring(twiml)
    for start in document.findall("Start"):
        if any(stream.get("name") == STREAM_NAME for stream in start.findall("Stream")):
            document.remove(start)
    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(document, encoding="unicode")
