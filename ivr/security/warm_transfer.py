"""The security fast path's work outside the engine: who to ring (the rota), the whisper the agent
hears, and what a transfer attempt's result means."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from ivr.calls import twiml
from ivr.core.actions import Say
from ivr.calls.store import agent_did, mark_agent
from ivr.flows.loader import Flow
from ivr.flows.rota import Person, Team
from ivr.security.rota_store import read_rota
from ivr.calls.records import find_call, note
from ivr.core.state import CallState, TransferEnded

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "zh": "Mandarin", "yue": "Cantonese", "ko": "Korean"}
ISSUE_WORDS = {"account_takeover": "Account takeover or stolen funds"}
DIAL_OUTCOMES = {"busy": "busy", "no-answer": "no-answer", "failed": "failed", "canceled": "no-answer"}


def chain_for(db: Session, flow: Flow, state: CallState, now: datetime) -> tuple[Team | None, list[Person]]:
    """The on-call chain for this call: fixed at the first attempt (kept in the call's variables),
    read from the rota in the database."""
    rota = read_rota(db)
    team = (rota.teams.get(state.vars.get("team", "")) or rota.team_for(flow.region)) if rota else None
    if team is None:
        return None, []
    if state.vars.get("chain"):
        return team, [team.people[key] for key in state.vars["chain"].split(",") if key in team.people]
    return team, team.chain(now)


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
        note_after(rt, parent_sid, "transfer_accepted", attempt=attempt + 1, agent_call=agent_sid)
        return twiml.speak(_agent_words(rt, flow, language, ["agent_connecting"]))
    note_after(rt, parent_sid, "transfer_declined", attempt=attempt + 1, agent_call=agent_sid, key=digits or None)
    return twiml.speak(_agent_words(rt, flow, language, ["agent_not_accepted"]), hang_up=True)


def transfer_result(rt, call_sid: str, attempt: int, dial_status: str) -> str | None:
    """The caller's <Dial> to attempt `attempt` is over. Returns TwiML to go on with, or None when
    the report is stale (a repeat, or the call has moved on)."""
    from ivr.calls.lifecycle import advance

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


def note_after(rt, call_sid: str, kind: str, **detail) -> None:
    try:
        with rt.sessions.begin() as db:
            call = find_call(db, call_sid)
            if call is not None:
                note(db, call, kind, rt.clock(), **detail)
    except Exception:  # the caller must still be answered
        log.exception("could not note %s on call %s", kind, call_sid)
