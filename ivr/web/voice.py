"""Twilio Voice webhooks. Every route is signed; each reads: validate, hand to ivr.calls, answer TwiML."""
from __future__ import annotations

import logging

from flask import Blueprint, request

from ivr.calls import lifecycle
from ivr.calls.callers import caller_from
from ivr.calls.records import FINAL_STATUSES, Arrival
from ivr.core.events import Digits, NoInput, Speech
from ivr.security import warm_transfer
from ivr.speech import listen_results, urgency
from ivr.web import runtime
from ivr.web.replies import TWIML, agent_safe, answers_twiml, kept, whole_seconds
from ivr.web.signature import twilio_signed

bp = Blueprint("voice", __name__, url_prefix="/voice")
log = logging.getLogger(__name__)


@bp.post("/incoming")
@twilio_signed
@answers_twiml
def incoming():
    form = request.form
    arrival = Arrival(call_sid=form["CallSid"], to=form.get("To", ""), caller=caller_from(form.get("From")),
                      stir_verstat=form.get("StirVerstat") or None)
    return lifecycle.answer_once(runtime(), arrival)


@bp.post("/gather")
@twilio_signed
@answers_twiml
def gather():
    form = request.form
    event = _answer_event(form)
    if isinstance(event, Speech):
        event = listen_results.read_words(runtime(), form["CallSid"], event)
    return lifecycle.advance(runtime(), form["CallSid"], event)


def _answer_event(form):
    if form.get("Digits"):
        return Digits(form["Digits"])
    if form.get("SpeechResult"):
        confidence = form.get("Confidence")
        return Speech(form["SpeechResult"][:1000], float(confidence) if confidence else None)
    return NoInput()


@bp.post("/fallback")
@twilio_signed
def fallback():
    """Twilio could not use our answer (error, timeout, bad TwiML): apologise and send the caller on."""
    form = request.form
    log.error("Twilio fell back: ErrorCode %r at %r", form.get("ErrorCode", "")[:20], form.get("ErrorUrl", "")[:200],
              extra={"call_sid": form.get("CallSid")})
    runtime().metrics.webhook_errors.labels("fallback").inc()
    body = lifecycle.apology(runtime(), form.get("CallSid"), "twilio_fallback", to=form.get("To"),
                         error_code=form.get("ErrorCode"),
                         error_url=form.get("ErrorUrl"))
    return body, 200, TWIML


@bp.post("/status")
@twilio_signed
def status():
    """Call status callback: the call's final status closes its record. Earlier statuses are ignored."""
    form = request.form
    if form.get("CallStatus") in FINAL_STATUSES and form.get("CallSid"):
        return kept("status", lifecycle.finish, form["CallSid"], form["CallStatus"],
                    whole_seconds(form.get("CallDuration")))
    return "", 204


@bp.post("/recording")
@twilio_signed
def recording():
    """Recording status callback for the call recording started after consent: noted, and a
    completed one queued for ingest; answered at once."""
    form = request.form
    if not form.get("CallSid"):
        return "", 204  # nothing to note it on
    return kept("recording", lifecycle.recording_status, form["CallSid"], form.get("RecordingStatus", "unknown"),
                recording_sid=form.get("RecordingSid"), url=form.get("RecordingUrl"),
                duration=form.get("RecordingDuration"), source=form.get("RecordingSource"),
                channels=form.get("RecordingChannels"))


# -- the security fast path: the agent rung through the REST API, the caller in their own queue ----
# The query's `parent` (the caller's CallSid) and `attempt` are ours, covered by Twilio's signature.

@bp.post("/transfer")
@twilio_signed
@answers_twiml
def transfer():
    """One attempt is over for the caller (moved here from their queue): not answered, busy, not
    accepted, or the agent could not be rung; the flow says what follows."""
    form = request.form
    attempt = request.args.get("attempt", type=int, default=0)
    status = request.args.get("status") or form.get("DialCallStatus", "failed")
    body = warm_transfer.transfer_result(runtime(), form["CallSid"], attempt, status[:20])
    return body if body is not None else warm_transfer.keep_waiting(runtime(), form["CallSid"])


@bp.post("/security/wait")
@twilio_signed
@answers_twiml
def security_wait():
    """The caller's security queue asks what to play while they wait."""
    return warm_transfer.wait_music(runtime(), request.form["CallSid"])


@bp.post("/security/left")
@twilio_signed
@answers_twiml
def security_left():
    """The caller left their security queue (<Enqueue action>)."""
    form = request.form
    return warm_transfer.left_queue(runtime(), form["CallSid"], request.args.get("attempt", type=int, default=0),
                                    form.get("QueueResult", "")[:40])


@bp.post("/security/agent")
@twilio_signed
def security_agent():
    """Status callback of the agent's call: its end moves the caller on unless they accepted."""
    form = request.form
    parent = _call_sid(request.args.get("parent", ""))
    if parent:
        warm_transfer.agent_call_ended(runtime(), parent, request.args.get("attempt", type=int, default=0),
                                       form.get("CallStatus", ""))
    return "", 204


@bp.post("/whisper")
@twilio_signed
@agent_safe
def whisper():
    form = request.form
    parent = _call_sid(request.args.get("parent") or form.get("ParentCallSid", ""))
    return warm_transfer.whisper(runtime(), parent, request.args.get("attempt", type=int, default=0),
                                 request.args.get("accept", type=int, default=10))


@bp.post("/whisper/answer")
@twilio_signed
@agent_safe
def whisper_answer():
    form = request.form
    parent = _call_sid(request.args.get("parent") or form.get("ParentCallSid", ""))
    attempt = request.args.get("attempt", type=int, default=0)
    return warm_transfer.whisper_answer(runtime(), parent, attempt, form.get("Digits", ""), form.get("CallSid", ""))


def _call_sid(value: str) -> str:
    """A CallSid as Twilio writes them (CA and 32 hex digits), or ''."""
    return value if len(value) == 34 and value.startswith("CA") and all(c in "0123456789abcdefABCDEF"
                                                                        for c in value[2:]) else ""


# -- listen steps: what the caller said, heard by a media stream, a recording or Twilio ----------

@bp.post("/listen")
@twilio_signed
@answers_twiml
def listen():
    """The media stream has decided (it moved the call here), or the listening pause ran out."""
    form = request.form
    return listen_results.from_stream(runtime(), form["CallSid"], request.args.get("attempt", type=int, default=0))


@bp.post("/listen/recorded")
@twilio_signed
@answers_twiml
def listen_recorded():
    form = request.form
    return listen_results.from_recording(runtime(), form["CallSid"], request.args.get("attempt", type=int, default=0),
                                      form.get("RecordingSid") or form.get("RecordingUrl", ""), form.get("Digits"))


@bp.post("/urgency")
@twilio_signed
@answers_twiml
def urgency_heard():
    """An urgent phrase on the call's urgency stream: the live call was moved here from its question."""
    return urgency.heard(runtime(), request.form["CallSid"])


@bp.post("/listen/cloud")
@twilio_signed
@answers_twiml
def listen_cloud():
    form = request.form
    return listen_results.from_cloud(runtime(), form["CallSid"], request.args.get("attempt", type=int, default=0),
                                  form.get("SpeechResult", ""), form.get("Digits"))
