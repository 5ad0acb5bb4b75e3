"""Twilio Voice webhooks. Every route is signed; each reads: validate, hand to ivr.calls, answer TwiML."""
from __future__ import annotations

import logging

from flask import Blueprint, request

from ivr.calls import lifecycle, twiml
from ivr.calls.callers import caller_from
from ivr.calls.records import FINAL_STATUSES, Arrival
from ivr.core.events import Digits, NoInput, Speech
from ivr.security import warm_transfer
from ivr.speech import listen_results
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
    return lifecycle.advance(runtime(), form["CallSid"], _answer_event(form))


def _answer_event(form):
    if form.get("Digits"):
        return Digits(form["Digits"])
    if form.get("SpeechResult"):
        confidence = form.get("Confidence")
        return Speech(form["SpeechResult"], float(confidence) if confidence else None)
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


# -- the security fast path's transfer: the caller's <Dial> and the agent's whisper -----------------

@bp.post("/transfer")
@twilio_signed
@answers_twiml
def transfer():
    """The caller's <Dial> to one on-call agent ended: bridged and over, or not answered/accepted."""
    form = request.form
    attempt = request.args.get("attempt", type=int, default=0)
    body = warm_transfer.transfer_result(runtime(), form["CallSid"], attempt, form.get("DialCallStatus", "failed"))
    return body if body is not None else str(twiml.speak([]))


@bp.post("/whisper")
@twilio_signed
@agent_safe
def whisper():
    form = request.form
    return warm_transfer.whisper(runtime(), form["ParentCallSid"], request.args.get("attempt", type=int, default=0),
                          request.args.get("accept", type=int, default=10))


@bp.post("/whisper/answer")
@twilio_signed
@agent_safe
def whisper_answer():
    form = request.form
    attempt = request.args.get("attempt", type=int, default=0)
    return warm_transfer.whisper_answer(runtime(), form["ParentCallSid"], attempt, form.get("Digits", ""),
                                        form.get("CallSid", ""))


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


@bp.post("/listen/cloud")
@twilio_signed
@answers_twiml
def listen_cloud():
    form = request.form
    return listen_results.from_cloud(runtime(), form["CallSid"], request.args.get("attempt", type=int, default=0),
                                  form.get("SpeechResult", ""), form.get("Digits"))
