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

from ivr import callbacks, engine, freeze, paging
from ivr.actions import DialAgent, FreezeRequest, HearVia, Listen, RequestCallback, Transfer
from ivr.flows import Flow
from ivr.models import Call
from ivr.records import note, record_outcome, security_brief
from ivr.state import CallState, Heard, TransferEnded
from ivr.urgent import chain_for, note_after

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _After:
    """Work to do once the webhook's transaction has committed."""

    kind: str  # "freeze" or "page"
    row_id: int
    call_sid: str
    action: FreezeRequest | None = None


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
    return out


def _callback(rt, flow, db, call, state, action: RequestCallback, now) -> list:
    request = callbacks.request(db, call, call.ticket, _caller(call), action.priority, action.reason, now)
    note(db, call, "callback_requested", now, priority=action.priority, request=request.id if request else None,
         number=request.number if request else None)
    if not action.page:
        return []
    team, _ = chain_for(db, flow, state, now)
    if team is None or call.ticket is None:
        log.error("call %s: no security team to page for region %s", call.call_sid, flow.region)
        return []
    page = paging.open_page(db, call.ticket, team, action.reason, security_brief(call, state, now), now)
    note(db, call, "page_opened", now, page=page.id, team=team.name)
    return [_After("page", page.id, call.call_sid)]



def _caller(call: Call) -> str | None:
    return None if call.caller_withheld or not (call.from_number or "").startswith("+") else call.from_number
