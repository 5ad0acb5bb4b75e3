"""The agents' queue's webhooks: the hold music (Twilio's waitUrl), keys pressed while holding,
leaving Twilio's queue (the <Enqueue> action), the agent's whisper and the end of the agent's call.
Every route is signed; each hands over to ivr.queue.waiting."""
from __future__ import annotations

from flask import Blueprint, request

from ivr.queue import waiting
from ivr.web import runtime
from ivr.web.replies import agent_safe, answers_twiml
from ivr.web.signature import twilio_signed

bp = Blueprint("queue", __name__, url_prefix="/voice/queue")


def _desk() -> str:
    name = request.args.get("desk", "")
    if runtime().desks is None or runtime().desks.get(name) is None:
        raise LookupError(f"no desk {name!r}")
    return name


@bp.post("/wait")
@twilio_signed
@answers_twiml
def wait():
    form = request.form
    return waiting.wait(runtime(), _desk(), form["CallSid"], int(form.get("QueueTime") or 0))


@bp.post("/key")
@twilio_signed
@answers_twiml
def key():
    form = request.form
    return waiting.key_pressed(runtime(), _desk(), form["CallSid"], form.get("Digits", ""))


@bp.post("/left")
@twilio_signed
@answers_twiml
def left():
    form = request.form
    return waiting.left(runtime(), _desk(), form["CallSid"], form.get("QueueResult", ""))


@bp.post("/agent")
@twilio_signed
@answers_twiml
def agent():
    """The caller's <Dial> to the agent ended (the conversation, or an agent who did not answer)."""
    form = request.form
    return waiting.agent_done(runtime(), _desk(), form["CallSid"], request.args.get("agent", ""),
                               form.get("DialCallStatus", "failed"), int(form.get("DialCallDuration") or 0),
                               form.get("DialBridged", "true") == "true")


@bp.post("/whisper")
@twilio_signed
@agent_safe
def whisper():
    form = request.form
    return waiting.whisper(runtime(), _desk(), form.get("ParentCallSid") or form["CallSid"])
