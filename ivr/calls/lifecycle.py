"""One call's life: answer, advance on each answer, end. Wires the engine to the adapters.

Each function reads: load → engine step → record → commit → TwiML. The records of one webhook
(call, ticket, timeline, consent) go to the writer in one entry with the live state, atomically
(ivr/calls/ledger.py): the webhook answers from Redis and the records reach SQL behind it.
"""
from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from ivr.calls import ticket_cache, twiml
from ivr.calls.ledger import CallLedger, open_call
from ivr.calls.records import VERSTAT_CHARS, Arrival, clip, end_call, find_call, note, record_outcome, start_call
from ivr.calls.store import ANSWERING, CallStore
from ivr.calls.turn import Turn, settle
from ivr.core import engine
from ivr.core.actions import ConsentRecorded, Say
from ivr.core.events import CallEnded, CallStarted, Event
from ivr.core.prompts import say_prompts
from ivr.errors import CallStateMissing
from ivr.runtime import Runtime

log = logging.getLogger(__name__)

# The `call_answered` hooks make sure the reconcilers' and upkeep's jobs are scheduled (after Redis
# lost its data): once a minute is enough, and on every call it cost about an eighth of a new
# call's CPU. The key goes with Redis's data, so the first call after a loss runs them.
ANSWERED_HOOKS_KEY = "ivr:call-answered-hooks"
ANSWERED_HOOKS_EVERY = 60  # seconds
ANSWER_WAIT = 8.0  # seconds a retry waits for the first attempt's answer (Twilio waits 15 s in all)
LAST_RESORT = "We are sorry, something went wrong on our side. Please contact us through the help centre. Goodbye."


def answer(rt: Runtime, arrival: Arrival, prefix: list | None = None) -> str:
    """A new inbound call: open or join its ticket and run the region's flow to the first question.
    (An urgent call back we placed is answered the same way, with `prefix` said first.)"""
    now = rt.clock()
    flow = rt.flows.for_number(arrival.to)
    if flow is None:
        return _unsupported(rt, arrival)
    hours = rt.settings.ticket_join_hours
    # Twilio's retry of an attempt that failed after its commit finds that attempt's records in Redis
    ledger = open_call(rt, arrival.call_sid, from_sql=False)
    earlier = ledger.call if ledger is not None else None
    if earlier is not None and earlier.ended_at is not None:
        return twiml.speak([], hang_up=True)  # that call is over: nothing to say, nothing to reopen
    ledger = ledger or CallLedger(rt)
    try:
        known = ticket_cache.callers_tickets(rt, arrival.caller, now, hours)
        security = ticket_cache.find_open_security(known) if flow.urgent else None
        if security is not None:
            ticket, joined = security, True
            ticket.updated_at = now
        elif earlier is not None and earlier.ticket is not None:
            ticket, joined = earlier.ticket, True
        else:
            ticket, joined = ticket_cache.open_or_join(rt, known, flow.region, arrival.caller, now, hours)
        if arrival.stir_verstat:
            ticket.caller_verification = clip(arrival.stir_verstat, VERSTAT_CHARS)
        if earlier is None:
            call = start_call(ledger, arrival, flow.region, flow.version, ticket, now)
            note(ledger, call, "ticket_joined" if joined else "ticket_opened", now, reference=ticket.reference)
        else:
            call = earlier
            ledger.set_ticket(ticket)
            call.ended_at, call.status = None, "in-progress"
            note(ledger, call, "answer_retried", now, reference=ticket.reference)
        with rt.sessions() as db:
            facts = {name: value for found in rt.registry.call_facts(db, arrival) for name, value in found.items()}
        state = engine.new_call(flow, arrival.call_sid, ticket=ticket.reference,
                                caller_withheld="yes" if arrival.caller.withheld else "",
                                security_ticket="yes" if security is not None else "",
                                caller=arrival.caller.number or "", **facts)
        if security is not None and security.language in flow.language_codes:
            state = state.with_(language=security.language)
        outcome = engine.step(flow, state, CallStarted(), now)
        record_outcome(ledger, call, outcome.state, outcome.actions, now)
        state, reply = Turn(rt, flow, ledger, call, outcome, now).carry_out()
        ledger.commit(state)  # with the live state, before the work after it: an agent rung there reads it
    except BaseException:
        ledger.close()
        raise
    reply = settle(reply)
    if rt.redis.set(ANSWERED_HOOKS_KEY, "1", nx=True, ex=ANSWERED_HOOKS_EVERY):
        rt.registry.call_answered(rt)
    rt.metrics.calls_started.labels(flow.region).inc()
    _count_consent(rt, flow.region, reply)
    return twiml.render([*(prefix or []), *reply], rt.url_for)


def answer_once(rt: Runtime, arrival: Arrival) -> str:
    """`answer`, once per CallSid however often Twilio asks (it retries /voice/incoming on a timeout
    or a dropped connection, possibly while the first attempt is still running).

    The first request claims the call in Redis and keeps its TwiML there; a retry arriving
    meanwhile waits (up to ANSWER_WAIT seconds) for that answer and gives the same one, or, if it
    is still not ready, asks Twilio to come back (a pause and a <Redirect> here). A first attempt
    that failed drops its claim, so the retry answers the call itself, on the call row the first
    one may already have written.
    """
    store = rt.service(CallStore)
    sid = arrival.call_sid
    if not store.claim_answer(sid):
        earlier = _wait_for_first_answer(store, sid)
        if earlier is not None:
            log.info("call %s: a repeated /voice/incoming gets the first answer again", sid)
            return earlier
        if not store.claim_answer(sid):  # the first attempt is still running
            log.warning("call %s: the first answer is still being prepared; asking Twilio to come back", sid)
            return twiml.come_back(rt.url_for("/voice/incoming"))
    try:
        reply = answer(rt, arrival)
    except BaseException:
        store.drop_answer_claim(sid)
        raise
    store.keep_answer(sid, reply)
    return reply


def _wait_for_first_answer(store: CallStore, call_sid: str) -> str | None:
    """The first attempt's TwiML once it has one; None if it dropped its claim or is still busy.
    (Real elapsed time, not service time: this waits on another request, not on the calendar.)"""
    give_up = time.monotonic() + ANSWER_WAIT
    while True:
        found = store.first_answer(call_sid)
        if found is None:
            return None  # the first attempt failed and let go
        if found != ANSWERING:
            return found
        if time.monotonic() >= give_up:
            return None
        time.sleep(0.05)


def advance(rt: Runtime, call_sid: str, event: Event, prefix: list | None = None) -> str:
    """The caller answered (or did not): feed the event to the engine and say what comes next."""
    now = rt.clock()
    store = rt.service(CallStore)
    state = store.load(call_sid)
    if state is None:
        raise CallStateMissing(f"no live state for call {call_sid}")
    flow = rt.flows.flows[state.region]
    outcome = engine.step(flow, state, event, now)
    ledger = open_call(rt, call_sid)
    if ledger is None:
        raise CallStateMissing(f"no record of call {call_sid}")
    try:
        record_outcome(ledger, ledger.call, outcome.state, outcome.actions, now)
        state, reply = Turn(rt, flow, ledger, ledger.call, outcome, now).carry_out()
        ledger.commit(state)  # with the live state, before the work after it: an agent rung there reads it
    except BaseException:
        ledger.close()
        raise
    reply = settle(reply)
    _count_consent(rt, flow.region, reply)
    return twiml.render([*(prefix or []), *reply], rt.url_for)


def finish(rt: Runtime, call_sid: str, status: str, duration: int | None) -> bool:
    """Twilio says the call is over: close the call record and drop the live state."""
    now = rt.clock()
    store = rt.service(CallStore)
    try:
        state = store.load(call_sid)
        ledger = open_call(rt, call_sid)
    except RedisError:  # Redis down: the record is closed all the same (the live state expires on its own)
        log.warning("call %s ended (%s) while Redis is unreachable; closing its record without its live state",
                    call_sid, status)
        return _finish_in_sql(rt, call_sid, status, duration)
    if ledger is None:
        log.warning("status callback for unknown call %s (%s)", call_sid, status)
        return False
    call = ledger.call
    if call.ended_at is None:
        try:
            if state is not None and state.region in rt.flows.flows:
                outcome = engine.step(rt.flows.flows[state.region], state, CallEnded(status), now)
                record_outcome(ledger, call, outcome.state, outcome.actions, now)
            else:
                note(ledger, call, "end", now, status=status)
            end_call(ledger, call, status, duration, now)
            ledger.commit()
        except BaseException:
            ledger.close()
            raise
        rt.metrics.calls_ended.labels(status).inc()
    if state is not None:
        rt.registry.call_ended(rt, state)
    store.forget(call_sid)
    return True


def _finish_in_sql(rt: Runtime, call_sid: str, status: str, duration: int | None) -> bool:
    now = rt.clock()
    with rt.sessions.begin() as db:
        call = find_call(db, call_sid)
        if call is None:
            log.warning("status callback for unknown call %s (%s)", call_sid, status)
            return False
        if call.ended_at is None:
            note(db, call, "end", now, status=status)
            end_call(db, call, status, duration, now)
            call.rev = (call.rev or 0) + 1_000_000  # newer than any copy still waiting in the stream
            rt.metrics.calls_ended.labels(status).inc()
    return True


def recording_status(rt: Runtime, call_sid: str, status: str, **detail) -> None:
    """Twilio reports on the call recording we started: note it on the timeline; a completed one
    goes to whoever keeps recordings (the `recording_completed` hook queues its ingest, which
    reads the call's row: so that one is written now, not behind)."""
    now = rt.clock()
    ledger = open_call(rt, call_sid)
    if ledger is None:
        log.warning("recording callback for unknown call %s", call_sid)
        return
    try:
        note(ledger, ledger.call, f"recording_{status}", now, **detail)
        if status == "completed":
            ledger.sql()
        ledger.commit()
    except BaseException:
        ledger.close()
        raise
    if status == "completed":
        rt.registry.recording_completed(rt, call_sid, detail)


def apology(rt: Runtime, call_sid: str | None, reason: str, to: str | None = None, **detail) -> str:
    """Safe TwiML for a call whose webhook failed: sorry, where to get help, goodbye. Never raises."""
    try:
        says = _apology_words(rt, call_sid, to)
    except Exception:  # Redis or the flow itself may be what broke
        log.exception("could not build the apology for call %s", call_sid)
        says = [Say(LAST_RESORT, "en-US")]
    if call_sid:
        note_on_call(rt, call_sid, reason, **detail)
    return twiml.apology(says)


def _apology_words(rt: Runtime, call_sid: str | None, to: str | None) -> list[Say]:
    """In the caller's language when we know it, else the region's first language, else English."""
    store = rt.service(CallStore)
    state = store.load(call_sid) if call_sid else None
    flow = rt.flows.flows.get(state.region) if state else rt.flows.for_number(to or "")
    if flow is None:
        book = rt.flows.book.get("en", {})
        return [Say(book.get("apology", LAST_RESORT), "en-US")] + [
            Say(book[k], "en-US") for k in ("unsupported_region", "goodbye") if k in book]
    if state is not None:
        store.save(state.with_(ended=True))  # anything Twilio sends later for this call is ignored
    else:
        state = engine.new_call(flow, call_sid or "")
    have = flow.prompts[flow.language(state.language).code]
    return say_prompts(flow, state, [k for k in ("apology", "pointers", "goodbye") if k in have])


def _unsupported(rt: Runtime, arrival: Arrival) -> str:
    now = rt.clock()
    if open_call(rt, arrival.call_sid, from_sql=False) is None:  # not already noted by an earlier attempt
        ledger = CallLedger(rt)
        call = start_call(ledger, arrival, None, None, None, now)
        note(ledger, call, "unsupported_number", now, to=arrival.to)
        ledger.commit()
    book = rt.flows.book.get("en", {})
    texts = [book.get("unsupported_region", LAST_RESORT)] + ([book["goodbye"]] if "goodbye" in book else [])
    return twiml.apology([Say(text, "en-US") for text in texts])


def note_on_call(rt: Runtime, call_sid: str, kind: str, **detail) -> None:
    """Note `kind` on the call's timeline (written behind), if the call is known. Never raises:
    the caller must still be answered when Redis or the database is what failed."""
    try:
        ledger = open_call(rt, call_sid)
        if ledger is not None:
            note(ledger, ledger.call, kind, rt.clock(), **detail)
            ledger.commit()
    except Exception:
        log.exception("could not note %s on call %s", kind, call_sid)


def _count_consent(rt: Runtime, region: str, actions) -> None:
    for action in actions:
        if isinstance(action, ConsentRecorded):
            rt.metrics.consents.labels(region, action.outcome).inc()
