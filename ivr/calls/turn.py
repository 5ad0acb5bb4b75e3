"""Carrying out what the engine asks of the world, for one webhook.

`carry_out` runs inside the webhook's database transaction: it resolves a Transfer to the person
to ring (from the rota), a Listen to the way the caller will be heard, and writes the rows for
freeze requests, callbacks and pages. `settle` runs after the commit and does what may only happen
once those rows exist: ask the account system to freeze, enqueue pages.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ivr.queue import desk_queue
from ivr.callbacks import booking
from ivr.core import engine
from ivr.security import freeze
from ivr.security import paging
from ivr.core.actions import (BookCallback, CancelCallbacks, DialAgent, EnterQueue, FreezeRequest, HearVia, JoinQueue,
                         Listen, Note, RequestCallback, Transfer)
from ivr.queue.desk_queue import Member
from ivr.flows.loader import Flow
from ivr.db.models import Call, CallbackRequest
from ivr.calls.records import note, record_outcome, security_brief
from ivr.core.state import CallbackBooked, CallState, Heard, QueueLeft, TransferEnded
from ivr.security.warm_transfer import chain_for, note_after

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _After:
    """Work to do once the webhook's transaction has committed."""

    kind: str  # "freeze", "page", "callback" (schedule it), "keep_place" or "cancelled"
    row_id: int
    call_sid: str
    action: FreezeRequest | None = None
    desk: str | None = None
    key: str | None = None


def carry_out(rt, flow: Flow, db: Session, call: Call, outcome, now: datetime) -> tuple[CallState, list]:
    state, pending, done = outcome.state, list(outcome.actions), []
    while pending:
        action = pending.pop(0)
        match action:
            case Transfer():
                team, chain = chain_for(db, flow, state, now)
                if not state.vars.get("chain"):
                    state = state.with_vars(team=team.name if team else "", chain=",".join(p.key for p in chain))
                if action.attempt >= len(chain):
                    nxt = engine.step(flow, state, TransferEnded(action.attempt, "none-left"), now)
                    record_outcome(db, call, nxt.state, nxt.actions, now)
                    state, pending[:0] = nxt.state, list(nxt.actions)
                    continue
                person = chain[action.attempt]
                note(db, call, "transfer_ringing", now, attempt=action.attempt + 1, agent=person.name,
                     number=person.phone, team=team.name)
                done.append(DialAgent(person.phone, person.name, action.attempt, action.ring_seconds,
                                      action.accept_seconds, caller_id=call.to_number))
            case FreezeRequest():
                request = freeze.record(db, call.ticket, _caller(call), call.region or "", now)
                note(db, call, "freeze_requested", now, request=request.id)
                done.append(_After("freeze", request.id, call.call_sid, action))
            case RequestCallback():
                done.extend(_callback(rt, flow, db, call, state, action, now))
            case Listen():
                mode = rt.hearing.mode(flow, action.language)
                if mode == "none":  # nobody here can hear this language: the engine goes to the keypad
                    nxt = engine.step(flow, state, Heard("", None, 0.0, source="none"), now)
                    record_outcome(db, call, nxt.state, nxt.actions, now)
                    state, pending[:0] = nxt.state, list(nxt.actions)
                    continue
                state = state.with_vars(listen_mode=mode)
                done.append(HearVia(mode, action, flow.language(action.language).speech))
            case JoinQueue():
                desk, verdict = _join(rt, flow, call, state, action, now)
                if verdict in ("full", "closed"):
                    nxt = engine.step(flow, state, QueueLeft(verdict), now)
                    record_outcome(db, call, nxt.state, nxt.actions, now)
                    state, pending[:0] = nxt.state, list(nxt.actions)
                    continue
                note(db, call, f"queue_{verdict}", now, desk=desk.name, band=action.band,
                     position=desk_queue.position(rt.redis, desk.name, call.call_sid)[0])
                state = state.with_vars(queue_desk=desk.name)
                done.append(EnterQueue(desk.name))
            case BookCallback():
                event, after = _book(rt, flow, db, call, state, action, now)
                nxt = engine.step(flow, state, event, now)
                record_outcome(db, call, nxt.state, nxt.actions, now)
                state, pending[:0] = nxt.state, list(nxt.actions)
                done.extend(after)
            case CancelCallbacks():
                cancelled = booking.cancel(db, booking.pending_for(db, _caller(call)), now, "caller_cancelled")
                note(db, call, "callback_cancelled", now, requests=[c.id for c in cancelled])
                done.extend(_After("cancelled", c.id, call.call_sid, desk=c.desk, key=c.key) for c in cancelled)
            case Note(kind="urgent") if state.vars.get("queue_desk"):  # from the queue to the security line
                desk_queue.leave(rt.redis, state.vars["queue_desk"], call.call_sid)
                done.append(action)
            case _:
                done.append(action)
    return state, done


def settle(rt, actions: list) -> list:
    """After the commit: ask the account system to freeze (choosing what the caller hears), and
    enqueue pages. A failure here is logged and the call goes on; the rows are the record."""
    out = []
    for action in actions:
        if not isinstance(action, _After):
            out.append(action)
            continue
        if action.kind == "freeze":
            status = freeze.ask_now(rt, action.row_id)
            note_after(rt, action.call_sid, "freeze_" + status, request=action.row_id)
            out.extend(action.action.confirmed if status == "frozen" else action.action.received)
        elif action.kind == "page":
            try:
                paging.schedule(rt, action.row_id)
            except Exception:  # Redis down: the page row stays pending; `ivr pages resend` picks it up
                log.exception("could not enqueue page %s", action.row_id)
        else:
            _settle_callback(rt, action)
    return out


def _settle_callback(rt, action: _After) -> None:
    """After the commit: keep a booked caller's place, schedule the call back's job, or drop a
    cancelled one's. Redis down: the reconciler puts the jobs back from the database."""
    from ivr.callbacks import scheduling

    try:
        if action.kind == "keep_place" and action.desk:
            desk_queue.to_placeholder(rt.redis, action.desk, action.call_sid, action.key)
        if action.kind in ("callback", "keep_place"):
            scheduling.schedule(rt, action.row_id)
            scheduling.keep_reconciling(rt.jobs, rt.settings.callback_reconcile_seconds)
        if action.kind == "cancelled":
            desk = rt.desks.get(action.desk) if action.desk else None
            if desk is not None:
                desk_queue.drop_placeholder(rt.redis, desk, action.key)
            with rt.sessions() as db:
                request = db.get(CallbackRequest, action.row_id)
                if request is not None:
                    scheduling.cancel_jobs(rt, request)
    except Exception:
        log.exception("call back %s: could not %s; the reconciler will", action.row_id, action.kind)


def _join(rt, flow: Flow, call: Call, state: CallState, action: JoinQueue, now: datetime):
    """Put the caller in their region's desk queue: (desk, joined | rejoined | full | closed)."""
    desk = rt.desks.for_region(flow.region) if rt.desks else None
    if desk is None or not flow.hours.is_open(now):
        return desk, "closed"
    member = Member(call.call_sid, "caller", action.band, flow.region, state.language,
                    ticket=state.vars.get("ticket", ""), issue=state.vars.get("issue", ""), settings=action.settings)
    return desk, desk_queue.join(rt.redis, desk.name, member, now, action.settings.max_size)


def _book(rt, flow: Flow, db: Session, call: Call, state: CallState, action: BookCallback, now: datetime):
    """Book the call back: due when the caller would have reached an agent (their place in the
    queue), as soon as one is free, or at the next opening. Returns the engine's answer and what
    to do after the commit."""
    desk = rt.desks.for_region(flow.region) if rt.desks else None
    place = desk_queue.position(rt.redis, desk.name, call.call_sid)[0] if desk and action.source == "queue" else 0
    if desk is not None and not place:
        place = desk_queue.size(rt.redis, desk.name) + 1  # at the end of the queue as it stands
    wait = desk_queue.estimate_seconds(rt.redis, desk, place) if desk is not None else 0
    due = booking.due_time(flow.hours, now, wait)
    if due.when == "opening" and desk is not None:
        due = booking.paced(db, flow.hours, desk.name, due, desk_queue.opening_pace_seconds(rt.redis, desk), now)
    request = booking.request(db, call, call.ticket, action.number, "normal", f"caller_{action.source}", now,
                                due=due.at, language=state.language, desk=desk.name if desk else None,
                                caller_id=call.to_number, max_attempts=rt.settings.callback_max_attempts)
    keeps_place = action.source == "queue" and bool(state.vars.get("queue_desk")) and due.when == "soon"
    event = CallbackBooked(due.when, due.minutes, due.at.astimezone(flow.hours.zone).isoformat(timespec="minutes"),
                           request.id, keeps_place)
    kind = "keep_place" if keeps_place else "callback"
    return event, [_After(kind, request.id, call.call_sid, desk=state.vars.get("queue_desk") or None, key=request.key)]


def _callback(rt, flow, db, call, state, action: RequestCallback, now) -> list:
    desk = rt.desks.for_region(flow.region) if rt.desks else None
    request = booking.request(db, call, call.ticket, _caller(call), action.priority, action.reason, now,
                                language=state.language, desk=desk.name if desk else None, caller_id=call.to_number,
                                max_attempts=rt.settings.callback_max_attempts)
    note(db, call, "callback_requested", now, priority=action.priority, request=request.id if request else None,
         number=request.number if request else None)
    scheduled = [_After("callback", request.id, call.call_sid)] if request is not None else []
    if not action.page:
        return scheduled
    team, _ = chain_for(db, flow, state, now)
    if team is None or call.ticket is None:
        log.error("call %s: no security team to page for region %s", call.call_sid, flow.region)
        return scheduled
    page = paging.open_page(db, call.ticket, team, action.reason, security_brief(call, state, now), now)
    note(db, call, "page_opened", now, page=page.id, team=team.name)
    return [*scheduled, _After("page", page.id, call.call_sid)]



def _caller(call: Call) -> str | None:
    return None if call.caller_withheld or not (call.from_number or "").startswith("+") else call.from_number
