"""Webhooks of the calls we place to call callers back: the call's URL (answered, with Twilio's
answering machine detection), the asynchronous machine detection result, and call status. Every
route is signed and names the attempt (`?attempt=<idempotency key>`); each hands over to
ivr.callbacks.placing."""
from __future__ import annotations

import logging

from flask import Blueprint, request

from ivr.callbacks import placing, scheduling
from ivr.web import runtime
from ivr.web.replies import answers_twiml, kept, whole_seconds
from ivr.web.signature import twilio_signed

bp = Blueprint("callbacks", __name__, url_prefix="/voice/callback")
log = logging.getLogger(__name__)


@bp.post("/answer")
@twilio_signed
@answers_twiml
def answer():
    form = request.form
    return placing.answered(runtime(), request.args.get("attempt", ""), form["CallSid"],
                                   form.get("AnsweredBy") or None)


@bp.post("/amd")
@twilio_signed
def amd():
    form = request.form
    return kept("callback_amd", placing.machine_detected, request.args.get("attempt", ""), form.get("CallSid", ""),
                form.get("AnsweredBy", "unknown"))


@bp.post("/status")
@twilio_signed
def status():
    """Every status of an attempt: the first records its CallSid (our call record, checked before
    any attempt is placed again); the final one decides what happens next."""
    form = request.form
    return kept("callback_status", scheduling.after_status, request.args.get("attempt", ""), form.get("CallSid", ""),
                form.get("CallStatus", ""), form.get("AnsweredBy") or None, whole_seconds(form.get("CallDuration")))
