"""The security fast path's work outside the engine: who to ring (the rota), the whisper the agent
hears, the transfer's result, and the effects that leave the building (freeze requests, pages).

`carry_out` runs inside the webhook's database transaction and turns the engine's Transfer,
FreezeRequest and RequestCallback actions into TwiML-ready actions and rows; `settle` runs after
the commit and does what must only happen once the rows exist (ask the account system, enqueue pages).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ivr import callbacks, engine, freeze, paging, twiml
from ivr.actions import DialAgent, FreezeRequest, RequestCallback, Say, Transfer
from ivr.callstore import agent_did, mark_agent
from ivr.flows import Flow
from ivr.models import Call
from ivr.oncall import Person, Team
from ivr.oncall_store import read_rota
from ivr.records import find_call, note, record_outcome, security_brief
from ivr.state import CallState, TransferEnded

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "zh": "Mandarin", "yue": "Cantonese", "ko": "Korean"}
ISSUE_WORDS = {"account_takeover": "Account takeover or stolen funds"}
DIAL_OUTCOMES = {"busy": "busy", "no-answer": "no-answer", "failed": "failed", "canceled": "no-answer"}


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
                team, chain = _chain(db, flow, state, now)
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
            _note_after(rt, action.call_sid, "freeze_" + status, request=action.row_id)
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
    team, _ = _chain(db, flow, state, now)
    if team is None or call.ticket is None:
        log.error("call %s: no security team to page for region %s", call.call_sid, flow.region)
        return []
    page = paging.open_page(db, call.ticket, team, action.reason, security_brief(call, state, now), now)
    note(db, call, "page_opened", now, page=page.id, team=team.name)
    return [_After("page", page.id, call.call_sid)]


def _chain(db: Session, flow: Flow, state: CallState, now: datetime) -> tuple[Team | None, list[Person]]:
    """The on-call chain for this call: fixed at the first attempt (kept in the call's variables),
    read from the rota in the database."""
    rota = read_rota(db)
    team = (rota.teams.get(state.vars.get("team", "")) or rota.team_for(flow.region)) if rota else None
    if team is None:
        return None, []
    if state.vars.get("chain"):
        return team, [team.people[key] for key in state.vars["chain"].split(",") if key in team.people]
    return team, team.chain(now)


def _caller(call: Call) -> str | None:
    return None if call.caller_withheld or not (call.from_number or "").startswith("+") else call.from_number


# -- the agent's side -----------------------------------------------------------------------------

def whisper(rt, parent_sid: str, attempt: int, accept_seconds: int) -> str:
    """TwiML for the agent who answered: the brief, "press 1 to accept", else goodbye."""
    state = rt.calls.load(parent_sid)
    if state is None or state.ended:
        return twiml.speak(_agent_words(rt, None, None, ["agent_not_accepted"]), hang_up=True)
    mark_agent(rt.calls, parent_sid, attempt, "answered")
    flow = rt.flows.flows[state.region]
    team = rt.flows.rota.teams.get(state.vars.get("team", "")) if rt.flows.rota else None
    language = team.language if team else "en"
    transcript = state.vars.get("transcript", "")
    values = {"region_name": flow.name, "language_name": LANGUAGE_NAMES.get(state.language, state.language),
              "issue_words": ISSUE_WORDS.get("account_takeover"), "ticket_digits": ", ".join(state.vars.get("ticket", "")),
              "caller_words": f"The caller said: {' '.join(transcript.split()[:12])}." if transcript else ""}
    brief = _agent_words(rt, flow, language, ["agent_brief", "agent_accept"], values)
    not_accepted = _agent_words(rt, flow, language, ["agent_not_accepted"])
    action = rt.url_for(f"/voice/whisper/answer?attempt={attempt}")
    return twiml.whisper(brief, accept_seconds, action, not_accepted)


def whisper_answer(rt, parent_sid: str, attempt: int, digits: str, agent_sid: str) -> str:
    """The agent pressed a key (or none): 1 accepts and the calls are bridged; anything else hangs up."""
    state = rt.calls.load(parent_sid)
    live = state is not None and not state.ended
    flow = rt.flows.flows.get(state.region) if state else None
    language = (rt.flows.rota.teams.get(state.vars.get("team", "")).language
                if live and rt.flows.rota and state.vars.get("team") in rt.flows.rota.teams else "en")
    if live and digits == "1":
        mark_agent(rt.calls, parent_sid, attempt, "accepted")
        _note_after(rt, parent_sid, "transfer_accepted", attempt=attempt + 1, agent_call=agent_sid)
        return twiml.speak(_agent_words(rt, flow, language, ["agent_connecting"]))
    _note_after(rt, parent_sid, "transfer_declined", attempt=attempt + 1, agent_call=agent_sid, key=digits or None)
    return twiml.speak(_agent_words(rt, flow, language, ["agent_not_accepted"]), hang_up=True)


def transfer_result(rt, call_sid: str, attempt: int, dial_status: str) -> str | None:
    """The caller's <Dial> to attempt `attempt` is over. Returns TwiML to go on with, or None when
    the report is stale (a repeat, or the call has moved on)."""
    from ivr.calls import advance

    state = rt.calls.load(call_sid)
    if state is None or state.ended or state.vars.get("transfer_attempt") != str(attempt):
        return None
    did = agent_did(rt.calls, call_sid, attempt)
    if did == "accepted":
        outcome = "accepted"
    elif did == "answered" or dial_status == "completed":
        outcome = "not-accepted"
    else:
        outcome = DIAL_OUTCOMES.get(dial_status, "failed")
    keys = state.vars.get("chain", "").split(",")
    agent = keys[attempt] if attempt < len(keys) else None
    return advance(rt, call_sid, TransferEnded(attempt, outcome, agent))


def _agent_words(rt, flow: Flow | None, language: str | None, keys: list[str], values: dict | None = None) -> list[Say]:
    book = rt.flows.book.get(language or "en") or rt.flows.book.get("en", {})
    say_language = flow.language(language).say if flow and language in flow.language_codes else "en-US"
    words = []
    for key in keys:
        text = book.get(key) or rt.flows.book.get("en", {}).get(key, "")
        words.append(Say(text.format_map(_Blank(values or {})), say_language))
    return words


class _Blank(dict):
    def __missing__(self, key):
        return ""


def _note_after(rt, call_sid: str, kind: str, **detail) -> None:
    try:
        with rt.sessions.begin() as db:
            call = find_call(db, call_sid)
            if call is not None:
                note(db, call, kind, rt.clock(), **detail)
    except Exception:  # the caller must still be answered
        log.exception("could not note %s on call %s", kind, call_sid)
