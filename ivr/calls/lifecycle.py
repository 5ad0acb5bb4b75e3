"""One call's life: answer, advance on each answer, end. Wires the engine to the adapters.

Each function reads: load → engine step → record → save → TwiML. The database writes of one
webhook happen in one transaction, and the live state is saved only after it commits.
"""
from __future__ import annotations

import logging

from ivr.queue import desk_queue
from ivr.callbacks import booking
from ivr.core import engine
from ivr.calls import tickets
from ivr.calls import twiml
from ivr.core.actions import ConsentRecorded, Say
from ivr.errors import CallStateMissing
from ivr.calls.records import Arrival, end_call, find_call, note, record_outcome, start_call
from ivr.runtime import Runtime
from ivr.core.state import CallEnded, CallStarted, Event
from ivr.calls.turn import carry_out, settle

log = logging.getLogger(__name__)

LAST_RESORT = "We are sorry, something went wrong on our side. Please contact us through the help centre. Goodbye."


def answer(rt: Runtime, arrival: Arrival, prefix: list | None = None) -> str:
    """A new inbound call: open or join its ticket and run the region's flow to the first question.
    (An urgent call back we placed is answered the same way, with `prefix` said first.)"""
    now = rt.clock()
    flow = rt.flows.for_number(arrival.to)
    if flow is None:
        return _unsupported(rt, arrival)
    with rt.sessions.begin() as db:
        security = tickets.find_open_security(db, arrival.caller) if flow.urgent else None
        if security is not None:
            ticket, joined = security, True
            ticket.updated_at = now
        else:
            ticket, joined = tickets.open_or_join(db, flow.region, arrival.caller, now,
                                                  rt.settings.ticket_join_hours)
        if arrival.stir_verstat:
            ticket.caller_verification = arrival.stir_verstat
        call = start_call(db, arrival, flow.region, flow.version, ticket, now)
        note(db, call, "ticket_joined" if joined else "ticket_opened", now, reference=ticket.reference)
        pending = booking.pending_for(db, arrival.caller.number)
        state = engine.new_call(flow, arrival.call_sid, ticket=ticket.reference,
                                caller_withheld="yes" if arrival.caller.withheld else "",
                                security_ticket="yes" if security is not None else "",
                                caller=arrival.caller.number or "",
                                callback_pending="yes" if pending and prefix is None else "")
        if security is not None and security.language in flow.language_codes:
            state = state.with_(language=security.language)
        outcome = engine.step(flow, state, CallStarted(), now)
        record_outcome(db, call, outcome.state, outcome.actions, now)
        state, actions = carry_out(rt, flow, db, call, outcome, now)
    actions = settle(rt, actions)
    rt.calls.save(state)
    _keep_reconciling(rt)
    rt.metrics.calls_started.labels(flow.region).inc()
    _count_consent(rt, flow.region, actions)
    return twiml.render([*(prefix or []), *actions], rt.url_for)


def advance(rt: Runtime, call_sid: str, event: Event, prefix: list | None = None) -> str:
    """The caller answered (or did not): feed the event to the engine and say what comes next."""
    now = rt.clock()
    state = rt.calls.load(call_sid)
    if state is None:
        raise CallStateMissing(f"no live state for call {call_sid}")
    flow = rt.flows.flows[state.region]
    outcome = engine.step(flow, state, event, now)
    with rt.sessions.begin() as db:
        call = find_call(db, call_sid)
        record_outcome(db, call, outcome.state, outcome.actions, now)
        state, actions = carry_out(rt, flow, db, call, outcome, now)
    actions = settle(rt, actions)
    rt.calls.save(state)
    _count_consent(rt, flow.region, actions)
    return twiml.render([*(prefix or []), *actions], rt.url_for)


def finish(rt: Runtime, call_sid: str, status: str, duration: int | None) -> bool:
    """Twilio says the call is over: close the call record and drop the live state."""
    now = rt.clock()
    state = rt.calls.load(call_sid)
    with rt.sessions.begin() as db:
        call = find_call(db, call_sid)
        if call is None:
            log.warning("status callback for unknown call %s (%s)", call_sid, status)
            return False
        if call.ended_at is None:
            if state is not None and state.region in rt.flows.flows:
                outcome = engine.step(rt.flows.flows[state.region], state, CallEnded(status), now)
                record_outcome(db, call, outcome.state, outcome.actions, now)
            else:
                note(db, call, "end", now, status=status)
            end_call(db, call, status, duration, now)
            rt.metrics.calls_ended.labels(status).inc()
    if state is not None and state.vars.get("queue_desk"):
        desk_queue.leave(rt.redis, state.vars["queue_desk"], call_sid)
    rt.calls.forget(call_sid)
    return True


def recording_status(rt: Runtime, call_sid: str, status: str, **detail) -> None:
    """Twilio reports on the call recording we started: note it on the timeline."""
    now = rt.clock()
    with rt.sessions.begin() as db:
        call = find_call(db, call_sid)
        if call is None:
            log.warning("recording callback for unknown call %s", call_sid)
            return
        note(db, call, f"recording_{status}", now, **detail)


def apology(rt: Runtime, call_sid: str | None, reason: str, to: str | None = None, **detail) -> str:
    """Safe TwiML for a call whose webhook failed: sorry, where to get help, goodbye. Never raises."""
    try:
        says = _apology_words(rt, call_sid, to)
    except Exception:  # Redis or the flow itself may be what broke
        log.exception("could not build the apology for call %s", call_sid)
        says = [Say(LAST_RESORT, "en-US")]
    if call_sid:
        _note_quietly(rt, call_sid, reason, detail)
    return twiml.apology(says)


def _apology_words(rt: Runtime, call_sid: str | None, to: str | None) -> list[Say]:
    """In the caller's language when we know it, else the region's first language, else English."""
    state = rt.calls.load(call_sid) if call_sid else None
    flow = rt.flows.flows.get(state.region) if state else rt.flows.for_number(to or "")
    if flow is None:
        book = rt.flows.book.get("en", {})
        return [Say(book.get("apology", LAST_RESORT), "en-US")] + [
            Say(book[k], "en-US") for k in ("unsupported_region", "goodbye") if k in book]
    if state is not None:
        rt.calls.save(state.with_(ended=True))  # anything Twilio sends later for this call is ignored
    else:
        state = engine.new_call(flow, call_sid or "")
    have = flow.prompts[flow.language(state.language).code]
    return engine.say_prompts(flow, state, [k for k in ("apology", "pointers", "goodbye") if k in have])


def _unsupported(rt: Runtime, arrival: Arrival) -> str:
    now = rt.clock()
    with rt.sessions.begin() as db:
        call = start_call(db, arrival, None, None, None, now)
        note(db, call, "unsupported_number", now, to=arrival.to)
    book = rt.flows.book.get("en", {})
    texts = [book.get("unsupported_region", LAST_RESORT)] + ([book["goodbye"]] if "goodbye" in book else [])
    return twiml.apology([Say(text, "en-US") for text in texts])


def _note_quietly(rt: Runtime, call_sid: str, kind: str, detail: dict) -> None:
    try:
        with rt.sessions.begin() as db:
            call = find_call(db, call_sid)
            if call is not None:
                note(db, call, kind, rt.clock(), **detail)
    except Exception:  # the apology must go out even when the database is what failed
        log.exception("could not note %s on call %s", kind, call_sid)


def _keep_reconciling(rt: Runtime) -> None:
    """Every call makes sure the call back reconciler is scheduled (cheap when it is): after Redis
    lost its data, the next call brings it back."""
    from ivr.callbacks.scheduling import keep_reconciling

    try:
        keep_reconciling(rt.jobs, rt.settings.callback_reconcile_seconds)
    except Exception:  # Redis down: the caller must still be answered
        log.exception("could not schedule the call back reconciler")


def _count_consent(rt: Runtime, region: str, actions) -> None:
    for action in actions:
        if isinstance(action, ConsentRecorded):
            rt.metrics.consents.labels(region, action.outcome).inc()
