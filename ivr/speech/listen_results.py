"""What the caller said at a listen step, however it was heard, turned into the engine's Heard event.

A media stream decides in the websocket and moves the call to /voice/listen; a recording is
downloaded by its RecordingSid from Twilio's API host (the platform's safe fetcher: never from the
host a request names, capped in size and time) and transcribed here; Twilio's own speech gather brings
its transcript. A request for a listen that is already over gets the call's last TwiML again.
"""
from __future__ import annotations

import logging
from dataclasses import replace

from ivr.calls import lifecycle
from ivr.calls.store import CallStore
from ivr.calls.twiml import stream_name
from ivr.core.actions import StopStream
from ivr.core.events import Digits, Heard, Speech
from ivr.core.state import CallState
from ivr.runtime import Runtime
from ivr.speech.hearing import Decision, Hearing, heard_key
from ivr.twilio_rest import fetch_recording_bytes

log = logging.getLogger(__name__)
DOWNLOAD_SECONDS = 8.0  # in all; the webhook must answer within Twilio's 15
DOWNLOAD_MAX_BYTES = 4 * 1024 * 1024  # a caller's answer: two minutes of 8 kHz 16-bit mono is under 2 MB


def from_stream(rt: Runtime, call_sid: str, attempt: int) -> str:
    state = rt.service(CallStore).load(call_sid)
    if not _listening(rt, state, attempt):
        return _stale(rt, call_sid)
    key = heard_key(call_sid, attempt)
    if rt.redis.set(key, "closed", nx=True, ex=rt.settings.call_state_ttl):
        heard = Heard("", None, 0.0, source="stream")  # the pause ran out and nothing was decided
    else:
        raw = rt.redis.get(key)
        decision = Decision.from_json(raw) if raw and raw != "closed" else None
        heard = _heard(decision, "stream") if decision else Heard("", None, 0.0, source="stream")
    return lifecycle.advance(rt, call_sid, heard, prefix=[StopStream(stream_name(attempt))])


def from_recording(rt: Runtime, call_sid: str, attempt: int, recording: str, digits: str | None) -> str:
    """`recording` is the RecordingSid (or the RecordingUrl, of which only the SID is used)."""
    state = rt.service(CallStore).load(call_sid)
    if not _listening(rt, state, attempt):
        return _stale(rt, call_sid)
    text = ""
    if recording and digits != "hangup":
        try:
            wav = fetch_recording_bytes(rt.settings, recording, max_bytes=DOWNLOAD_MAX_BYTES,
                                        deadline_seconds=DOWNLOAD_SECONDS)
            text = rt.service(Hearing).transcribe_wav(state.language, wav)
        except Exception:  # a lost recording is a description not understood: ask again, then the keypad
            log.exception("could not transcribe the recording of call %s", call_sid)
    return lifecycle.advance(rt, call_sid, _heard(rt.service(Hearing).decide(text, state.language, "record"), "record"))


def from_cloud(rt: Runtime, call_sid: str, attempt: int, speech: str, digits: str | None) -> str:
    state = rt.service(CallStore).load(call_sid)
    if not _listening(rt, state, attempt):
        return _stale(rt, call_sid)
    if digits:  # a key instead of words: the urgent key, or the keypad menu
        return lifecycle.advance(rt, call_sid, Digits(digits))
    return lifecycle.advance(rt, call_sid, _heard(rt.service(Hearing).decide(speech, state.language, "cloud"), "cloud"))


def read_words(rt: Runtime, call_sid: str, speech: Speech) -> Speech:
    """Words said at any question (Twilio's speech gather): what they name, so an urgent phrase
    takes the call to the security path wherever the caller says it."""
    state = rt.service(CallStore).load(call_sid)
    if state is None or not speech.text.strip():
        return speech
    found = rt.service(Hearing).classify(speech.text, state.language)
    return replace(speech, intent=found.name, intent_confidence=found.confidence, urgent=found.urgent)


def _heard(decision: Decision, source: str) -> Heard:
    return Heard(decision.text, decision.intent, decision.confidence, decision.urgent, source, decision.issue)


def listening_now(rt: Runtime, call_sid: str, attempt: int) -> bool:
    """Whether the call is waiting at its listen step's `attempt` now (and not confirming)."""
    return _listening(rt, rt.service(CallStore).load(call_sid), attempt)


def _listening(rt: Runtime, state: CallState | None, attempt: int) -> bool:
    if state is None or state.ended or state.region not in rt.flows.flows:
        return False
    step = rt.flows.flows[state.region].steps.get(state.step)
    return (step is not None and step.kind == "listen" and state.waiting and not state.listening.confirming
            and state.listening.attempt == attempt)


def _stale(rt: Runtime, call_sid: str) -> str:
    """A listen already over (a late stream decision, a repeat): say again what the call is waiting on."""
    log.info("stale listen result for call %s: replaying its last answer", call_sid)
    last = rt.service(CallStore).last_reply(call_sid)
    if last is None:
        raise RuntimeError(f"call {call_sid}: a listen result arrived for a call with no live question")
    return last
