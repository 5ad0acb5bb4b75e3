"""How webhooks answer: always with TwiML Twilio can use, never a 5xx and never Twilio's stock
error message; the same reply again for a retried request."""
from __future__ import annotations

import functools
import logging

from flask import request

from ivr import jobs
from ivr.calls import lifecycle, twiml
from ivr.calls.store import CallStore
from ivr.core.actions import Say
from ivr.web import runtime

log = logging.getLogger(__name__)
TWIML = {"Content-Type": "text/xml; charset=utf-8"}


def answers_twiml(view):
    """Answer with the view's TwiML; on any failure answer with the apology instead, never a 5xx.

    A retried request (same I-Twilio-Idempotency-Token) gets the reply we already gave.
    """
    @functools.wraps(view)
    def safe(*args, **kwargs):
        rt = runtime()
        token = request.headers.get("I-Twilio-Idempotency-Token")
        call_sid = request.form.get("CallSid")
        try:
            if token and (earlier := rt.service(CallStore).remembered_reply(token)):
                return earlier, 200, TWIML
            body = view(*args, **kwargs)
        except Exception as exc:
            log.exception("webhook %s failed", request.path, extra={"call_sid": call_sid})
            rt.metrics.webhook_errors.labels(request.endpoint or "?").inc()
            return lifecycle.apology(rt, call_sid, "webhook_error", to=request.form.get("To"), route=request.path,
                                 error=f"{exc.__class__.__name__}: {exc}"[:500]), 200, TWIML
        _remember_quietly(rt, token, call_sid, body)
        return body, 200, TWIML
    return safe


def _remember_quietly(rt, token: str | None, call_sid: str | None, body: str) -> None:
    try:
        store = rt.service(CallStore)
        if token:
            store.remember_reply(token, body)
        if call_sid:
            store.remember_last(call_sid, body)
    except Exception:  # a lost replay cache must not cost the caller their answer
        log.exception("could not remember the reply (token %s)", token, extra={"call_sid": call_sid})


def agent_safe(view):
    """The agent's leg: on any failure, tell them the call could not be connected and hang up, so
    the caller's <Dial> ends and the next agent is rung."""
    @functools.wraps(view)
    def safe(*args, **kwargs):
        try:
            return view(*args, **kwargs), 200, TWIML
        except Exception:
            log.exception("agent webhook %s failed", request.path,
                          extra={"call_sid": request.form.get("ParentCallSid") or request.form.get("CallSid")})
            runtime().metrics.webhook_errors.labels(request.endpoint or "?").inc()
            return twiml.speak([Say("Sorry, this call could not be connected. Goodbye.", "en-US")], hang_up=True), \
                200, TWIML
    return safe


def kept(name: str, func, *args, **kwargs):
    """Carry out a status callback (`func(rt, *args, **kwargs)`, idempotent) and answer 204; if it
    fails (the database or Redis down), keep it as a retrying job (202), and only if even that
    fails answer 503, so Twilio may send it again. A status is never simply dropped."""
    rt = runtime()
    try:
        func(rt, *args, **kwargs)
        return "", 204
    except Exception:
        log.exception("status callback %s failed for CallSid %s; retrying it from a job", request.path,
                      request.form.get("CallSid"))
        rt.metrics.webhook_errors.labels(name).inc()
    try:
        jobs.enqueue(rt, func, *args, kwargs=kwargs, queue_name="default",
                     retry=jobs.retry_policy(rt.settings.retry_base_seconds), timeout=rt.settings.job_timeout)
    except Exception:
        log.exception("status callback %s for CallSid %s could not be kept either; answering 503", request.path,
                      request.form.get("CallSid"))
        return "", 503
    return "", 202


def whole_seconds(value: str | None) -> int | None:
    """Twilio's CallDuration and the like: a whole number of seconds, or None (and a warning) for
    anything else, which must not cost us the status it came with."""
    if not value:
        return None
    try:
        seconds = int(value)
    except ValueError:
        log.warning("ignoring a duration that is not a whole number of seconds: %r", value[:40])
        return None
    return seconds if 0 <= seconds < 10**9 else None
