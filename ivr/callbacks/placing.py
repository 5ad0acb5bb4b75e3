"""The calls a call back makes: placing each attempt exactly once, what Twilio reports about it (a
person or an answering machine, the final status), and what each outcome means: join the agents'
queue at the front, try again later within opening hours, or give up after the last attempt.

Exactly once: an attempt is a row whose idempotency key (`<request key>-<n>`) is unique. Whoever
inserts it places the call, under a lease. A worker that finds the row already there (its own
job retried after the work horse was killed, or the reconciler after the lease ran out) first
checks the call records: our own (the call's status callbacks carry the attempt key and record its
CallSid) and Twilio's (calls to that number from our number since the attempt began). Only when
neither knows the call is it placed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ivr.callbacks import booking
from ivr.callbacks.booking import utc
from ivr.calls.callers import caller_from
from ivr.calls.ledger import ended_by_records
from ivr.calls.lifecycle import answer, finish
from ivr.calls.records import FINAL_STATUSES, Arrival, find_call, note
from ivr.core.actions import QueueSettings
from ivr.db.models import Call, CallbackAttempt, CallbackRequest, CallEvent
from ivr.queue import desk_queue, hold
from ivr.queue.desk_queue import Member
from ivr.runtime import Runtime
from ivr.security.warm_transfer import agent_did

log = logging.getLogger(__name__)

LEASE_SECONDS = 60  # longer than a REST call can take (10 s timeout), shorter than the patience of a caller
MACHINE = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax")
CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
MAX_CHAIN = 20  # transfer attempts looked at for an agent who accepted (a rota chain is shorter)


@dataclass(frozen=True)
class Placement:
    outcome: str  # placed, adopted, already-placed, placing-elsewhere, stale, unknown, or the request's status
    call_sid: str | None = None


@dataclass(frozen=True)
class _Order:
    attempt_key: str
    number: str
    caller_id: str
    since: datetime
    known_sids: tuple[str, ...]


def place(rt: Runtime, key: str, attempt_no: int, owner: str) -> Placement:
    """Place attempt `attempt_no` of the call back `key`, unless it is already placed."""
    now = utc(rt.clock())
    with rt.sessions.begin() as db:
        request = booking.by_key(db, key, lock=True)
        if request is None:
            return Placement("unknown")  # e.g. a job from another database (`ivr call` runs on a scratch one)
        if request.status not in booking.ACTIVE:
            return Placement(request.status)
        attempt = _attempt(db, request.id, attempt_no)
        taking_over = attempt is not None
        if attempt is None:
            if request.status == "calling" or attempt_no != request.attempts + 1:
                return Placement("stale")
            attempt = CallbackAttempt(request_id=request.id, attempt=attempt_no, status="placing", owner=owner,
                                      idempotency_key=f"{request.key}-{attempt_no}", created_at=now,
                                      lease_until=now + timedelta(seconds=LEASE_SECONDS))
            try:
                with db.begin_nested():
                    db.add(attempt)
                    db.flush()
            except IntegrityError:
                return Placement("placing-elsewhere")
            request.status, request.attempts, request.updated_at = "calling", attempt_no, now
        else:
            if attempt.call_sid or attempt.status != "placing":
                return Placement("already-placed", attempt.call_sid)
            if attempt.owner != owner and utc(attempt.lease_until) > now:
                return Placement("placing-elsewhere")
            attempt.owner, attempt.lease_until = owner, now + timedelta(seconds=LEASE_SECONDS)
        known = tuple(a.call_sid for a in request.attempts_made if a.call_sid)
        caller_id = request.caller_id or _region_number(rt, request.region)  # rows from before 0003 have none
        order = _Order(attempt.idempotency_key, request.number, caller_id, utc(attempt.created_at), known)
        _timeline(db, request, "callback_attempt", now, attempt=attempt_no, number=request.number,
                  taking_over=taking_over or None)
    if taking_over:
        found = _placed_already(rt, order)
        if found:
            _link(rt, order.attempt_key, found)
            return Placement("adopted", found)
    call = rt.twilio.calls.create(**_create_params(rt, order))
    _link(rt, order.attempt_key, call.sid)
    return Placement("placed", call.sid)


def _create_params(rt: Runtime, order: _Order) -> dict:
    settings = rt.settings
    query = f"?attempt={order.attempt_key}"
    params = dict(to=order.number, from_=order.caller_id, method="POST",
                  url=rt.url_for(f"/voice/callback/answer{query}"),
                  status_callback=rt.url_for(f"/voice/callback/status{query}"), status_callback_method="POST",
                  status_callback_event=CALL_EVENTS, timeout=settings.callback_ring_seconds,
                  machine_detection="Enable")
    if settings.callback_amd == "async":
        params.update(async_amd="true", async_amd_status_callback=rt.url_for(f"/voice/callback/amd{query}"),
                      async_amd_status_callback_method="POST")
    return params


def _placed_already(rt: Runtime, order: _Order) -> str | None:
    """The call an earlier owner of this attempt placed, if our records or Twilio's know it."""
    with rt.sessions() as db:
        attempt = _by_attempt_key(db, order.attempt_key)
        if attempt is not None and attempt.call_sid:
            return attempt.call_sid
    since = order.since - timedelta(minutes=2)  # clocks differ a little
    for call in rt.twilio.calls.list(to=order.number, limit=20):
        created = call.date_created
        if getattr(call, "_from", None) != order.caller_id or call.sid in order.known_sids:
            continue
        if created is None or utc(created) >= since:
            log.warning("call back attempt %s: already placed as %s (found in Twilio's records)",
                        order.attempt_key, call.sid)
            return call.sid
    return None


def _link(rt: Runtime, attempt_key: str, call_sid: str) -> None:
    """Record which call an attempt placed (first writer wins: the placer or the status callback)."""
    with rt.sessions.begin() as db:
        attempt = _by_attempt_key(db, attempt_key)
        if attempt is not None and attempt.call_sid is None:
            attempt.call_sid, attempt.placed_at = call_sid, utc(rt.clock())
            if attempt.status == "placing":
                attempt.status = "placed"


# -- what Twilio reports --------------------------------------------------------------------------

def answered(rt: Runtime, attempt_key: str, call_sid: str, answered_by: str | None) -> str:
    """The call back was answered. A machine: hang up (the final status schedules the next try). A
    person: "This is the support line returning your call about ticket ...", then the front of the
    agents' queue; an urgent security call back goes down the on-call chain instead."""
    now = rt.clock()
    with rt.sessions.begin() as db:
        attempt = _by_attempt_key(db, attempt_key)
        if attempt is None:
            return hold.goodbye([])
        attempt.call_sid = attempt.call_sid or call_sid
        attempt.answered_by = answered_by or attempt.answered_by
        request = attempt.request
        _timeline(db, request, "callback_answered", now, attempt=attempt.attempt, answered_by=answered_by)
        snapshot = _Snapshot.of(db, request)
    flow = rt.flows.flows.get(snapshot.region)
    if answered_by in MACHINE or flow is None:
        return hold.goodbye([])
    snapshot = replace(snapshot, caller_id=snapshot.caller_id or flow.numbers[0])
    intro = hold.words(flow, snapshot.language, ["callback_intro"], ticket_digits=", ".join(snapshot.ticket))
    if snapshot.priority == 0 and flow.urgent is not None:
        return _to_security(rt, snapshot, call_sid, intro)
    return _to_queue(rt, snapshot, call_sid, intro)


def _to_security(rt: Runtime, snapshot: _Snapshot, call_sid: str, intro) -> str:
    """Urgent: the call back is answered like a call from the customer on their open security
    ticket, so it goes straight down the on-call chain (the flow's urgent path)."""
    arrival = Arrival(call_sid=call_sid, to=snapshot.caller_id, caller=caller_from(snapshot.number), callback=True)
    return answer(rt, arrival, prefix=intro)  # its call row says outbound (arrival.callback)


def _to_queue(rt: Runtime, snapshot: _Snapshot, call_sid: str, intro) -> str:
    now = rt.clock()
    with rt.sessions.begin() as db:
        if find_call(db, call_sid) is None:
            ticket = db.get(Call, snapshot.call_id).ticket if snapshot.call_id else None
            call = Call(call_sid=call_sid, ticket=ticket, region=snapshot.region, from_number=snapshot.caller_id,
                        to_number=snapshot.number, direction="outbound", language=snapshot.language,
                        status="in-progress", started_at=now)
            db.add(call)
            note(db, call, "answered", now, callback=snapshot.key, to=snapshot.number)
    member = Member(call_sid, "callback", "urgent_callback" if snapshot.priority == 0 else "callback",
                    snapshot.region, snapshot.language, ticket=snapshot.ticket, request=snapshot.key,
                    settings=QueueSettings(offer_key=None, announce_every=30))
    desk = snapshot.desk or (rt.desks.for_region(snapshot.region).name if rt.desks.for_region(snapshot.region) else "")
    desk_queue.join(rt.redis, desk, member, now, max_size=10_000)  # call backs are never turned away
    return hold.enqueue(desk, rt.url_for, intro)


def machine_detected(rt: Runtime, attempt_key: str, call_sid: str, answered_by: str) -> None:
    """Asynchronous answering machine detection: a machine is hung up on (the retry follows)."""
    with rt.sessions.begin() as db:
        attempt = _by_attempt_key(db, attempt_key)
        if attempt is None:
            return
        attempt.answered_by = answered_by
        _timeline(db, attempt.request, "callback_machine_detection", rt.clock(), attempt=attempt.attempt,
                  answered_by=answered_by)
    if answered_by in MACHINE:
        rt.twilio.calls(call_sid).update(status="completed")


def status(rt: Runtime, attempt_key: str, call_sid: str, call_status: str, answered_by: str | None = None,
           duration: int | None = None) -> CallbackRequest | None:
    """A status callback of an attempt. The final one decides: answered (done), or a machine, no
    answer, busy, failed (try again later within hours, up to the request's last attempt).
    Returns the request when it is pending again (the caller schedules its next attempt)."""
    now = utc(rt.clock())
    with rt.sessions.begin() as db:
        attempt = _by_attempt_key(db, attempt_key)
        if attempt is None:
            return None
        if attempt.call_sid is None:
            attempt.call_sid, attempt.placed_at = call_sid, now
        if call_status not in FINAL_STATUSES:
            if attempt.ended_at is None:  # a late "ringing" or "in-progress" never overwrites the final status
                attempt.status = call_status
            return None
        if attempt.ended_at is not None:
            return None  # a repeated final callback changes nothing
        attempt.status, attempt.ended_at = call_status, now
        attempt.answered_by = answered_by or attempt.answered_by
        attempt.outcome = outcome = outcome_of(call_status, attempt.answered_by)
        request = attempt.request
        request.last_outcome, request.updated_at = outcome, now
        if outcome == "answered" and request.priority == 0 and not _reached_security(rt, db, call_sid):
            attempt.outcome = outcome = "not-connected"  # they answered, but nobody on the rota took the call
        nxt = _after_attempt(rt, db, request, outcome, now)
        _timeline(db, request, "callback_outcome", now, attempt=attempt.attempt, outcome=outcome,
                  answered_by=attempt.answered_by, call_sid=call_sid, seconds=duration,
                  next_due=nxt.isoformat() if nxt else None, request_status=request.status)
        again = request if request.status == "pending" else None
    _leave_queue(rt, request, call_sid, call_status, duration)
    return again


def _reached_security(rt: Runtime, db, call_sid: str) -> bool:
    """An agent accepted the call: their key press is in Redis (the timeline's `transfer_accepted`
    may not be written yet), or, once Redis has forgotten it, on the timeline."""
    if any(agent_did(rt, call_sid, attempt) == "accepted" for attempt in range(MAX_CHAIN)):
        return True
    return db.scalars(select(CallEvent.id).join(Call, CallEvent.call_id == Call.id)
                      .where(Call.call_sid == call_sid, CallEvent.kind == "transfer_accepted")).first() is not None


def _after_attempt(rt: Runtime, db, request: CallbackRequest, outcome: str, now: datetime) -> datetime | None:
    if outcome == "answered":
        request.status, request.finished_at = "completed", now
        return None
    if request.attempts >= request.max_attempts:
        request.status, request.finished_at = "failed", now
        return None
    request.status, request.due_at = "pending", retry_time(rt, db, request, now)
    return request.due_at


def retry_time(rt: Runtime, db, request: CallbackRequest, now: datetime) -> datetime:
    """Back off (the base, then twice as long each time), within the region's opening hours (in
    the line of call backs at the next opening, when it falls after closing); urgent security
    call backs are tried at any hour."""
    candidate = now + timedelta(seconds=rt.settings.callback_retry_seconds * 2 ** max(0, request.attempts - 1))
    flow = rt.flows.flows.get(request.region)
    if request.priority == 0 or flow is None:
        return candidate
    opening = utc(flow.hours.next_opening(candidate) or candidate)
    desk = rt.desks.get(request.desk) if request.desk else None
    if opening == candidate or desk is None:
        return opening
    due = booking.Due(opening, "opening", 0)
    return booking.paced(db, flow.hours, desk.name, due, desk_queue.opening_pace_seconds(rt.redis, desk), now).at


def outcome_of(call_status: str, answered_by: str | None) -> str:
    if answered_by in MACHINE:
        return "machine"
    return "answered" if call_status == "completed" else call_status


def _leave_queue(rt: Runtime, request: CallbackRequest, call_sid: str, call_status: str, duration: int | None) -> None:
    """The call back call is over: out of the queue, the agent held for it (if it never got there)
    free again, and its own Call row (if answered) closed."""
    try:
        if request.desk:
            desk_queue.leave(rt.redis, request.desk, call_sid)
            desk = rt.desks.get(request.desk)
            if desk is not None:
                desk_queue.unhold(rt.redis, desk, request.key)
        answered_call = ended_by_records(rt, call_sid) is not None  # its records in Redis: answered
        if not answered_call:
            with rt.sessions() as db:
                answered_call = find_call(db, call_sid) is not None
        if answered_call:
            finish(rt, call_sid, call_status, duration)
    except Exception:
        log.exception("could not tidy up after call back call %s", call_sid)


# -- small pieces ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Snapshot:
    key: str
    region: str
    desk: str | None
    language: str
    number: str
    caller_id: str
    priority: int
    ticket: str
    call_id: int | None

    @classmethod
    def of(cls, db, request: CallbackRequest) -> _Snapshot:
        call = db.get(Call, request.call_id) if request.call_id else None
        ticket = call.ticket.reference if call is not None and call.ticket is not None else ""
        return cls(request.key, request.region, request.desk, request.language or "en", request.number,
                   request.caller_id, request.priority, ticket, request.call_id)


def _region_number(rt: Runtime, region: str) -> str | None:
    flow = rt.flows.flows.get(region)
    return flow.numbers[0] if flow is not None else None


def _attempt(db, request_id: int, number: int) -> CallbackAttempt | None:
    return db.scalars(select(CallbackAttempt).where(CallbackAttempt.request_id == request_id,
                                                    CallbackAttempt.attempt == number)).first()


def _by_attempt_key(db, key: str) -> CallbackAttempt | None:
    return db.scalars(select(CallbackAttempt).where(CallbackAttempt.idempotency_key == key)).first()


def _timeline(db, request: CallbackRequest, kind: str, now: datetime, **detail) -> None:
    """Every attempt and outcome goes on the timeline of the call that asked for the call back."""
    if request.call_id is None:
        return
    call = db.get(Call, request.call_id)
    if call is not None:
        note(db, call, kind, now, callback=request.id, **{k: v for k, v in detail.items() if v is not None})
