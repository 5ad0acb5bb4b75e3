"""The warm transfer to the on-call security agent: who to ring (the rota), ringing them at once
through the REST API while the caller waits in a security queue of their own, the whisper the agent
hears before accepting (1 takes the caller from that queue), and what each attempt's result means
for the caller."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioRestException

from ivr.calls import twiml
from ivr.calls.lifecycle import advance, note_on_call
from ivr.calls.store import CallStore
from ivr.core.actions import HoldForAgent, Say
from ivr.core.events import TransferEnded
from ivr.core.flow import Flow
from ivr.core.state import CallState
from ivr.flows.rota import Person, Team
from ivr.redaction.secrets import redact_text
from ivr.runtime import Runtime
from ivr.security.rota_store import read_rota

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "zh": "Mandarin", "yue": "Cantonese", "ko": "Korean"}
ISSUE_WORDS = {"account_takeover": "Account takeover or stolen funds"}
DIAL_OUTCOMES = {"busy": "busy", "no-answer": "no-answer", "failed": "failed", "canceled": "no-answer"}
AGENT_KEY = "ivr:agent:{sid}:{attempt}"
AGENT_CALL_KEY = "ivr:agent-call:{sid}:{attempt}"
FINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")


def queue_name(call_sid: str) -> str:
    """The caller's own Twilio queue while the agent is rung (Twilio allows 64 characters)."""
    return f"security-{call_sid}"


def chain_for(db: Session, flow: Flow, state: CallState, now: datetime) -> tuple[Team | None, list[Person]]:
    """The on-call chain for this call: fixed at the first attempt (kept in the call's state),
    read from the rota in the database."""
    rota = read_rota(db)
    team = (rota.teams.get(state.transfer.team or "") or rota.team_for(flow.region)) if rota else None
    if team is None:
        return None, []
    if state.transfer.chain:
        return team, [team.people[key] for key in state.transfer.chain if key in team.people]
    return team, team.chain(now)


def mark_agent(rt: Runtime, call_sid: str, attempt: int, how: str) -> None:
    """What the agent of transfer `attempt` did: "answered" (the whisper was fetched) or "accepted"
    (they pressed 1). Twilio's DialCallStatus alone cannot tell a refusal from no answer."""
    rt.redis.set(AGENT_KEY.format(sid=call_sid, attempt=attempt), how, ex=rt.settings.call_state_ttl)


def agent_did(rt: Runtime, call_sid: str, attempt: int) -> str | None:
    return rt.redis.get(AGENT_KEY.format(sid=call_sid, attempt=attempt))


CALL_NOT_IN_PROGRESS = 21220  # Twilio's error for redirecting a call that has ended


# -- ringing the agent, the caller waiting ----------------------------------------------------------

def ring(rt: Runtime, call_sid: str, number: str, caller_id: str | None, attempt: int, ring_seconds: int,
         accept_seconds: int) -> str:
    """Call the agent through the REST API now; their phone rings while the caller hears the
    prompts. They get the whisper on answering; the call's end reports back for the next attempt."""
    query = f"attempt={attempt}&parent={call_sid}"
    agent = rt.twilio.calls.create(to=number, from_=caller_id, method="POST", timeout=ring_seconds,
                                   url=rt.url_for(f"/voice/whisper?{query}&accept={accept_seconds}"),
                                   status_callback=rt.url_for(f"/voice/security/agent?{query}"),
                                   status_callback_method="POST", status_callback_event=["completed"])
    rt.redis.set(AGENT_CALL_KEY.format(sid=call_sid, attempt=attempt), agent.sid, ex=rt.settings.call_state_ttl)
    return agent.sid


def agent_call_ended(rt: Runtime, parent_sid: str, attempt: int, status: str) -> None:
    """The agent's call of `attempt` is over. Unless they accepted (then the caller's queue reports
    the conversation's end), the caller is moved out of their queue to hear what comes next."""
    if status not in FINAL_STATUSES:
        return
    state = rt.service(CallStore).load(parent_sid)
    if state is None or state.ended or state.transfer.attempt != attempt or \
            agent_did(rt, parent_sid, attempt) == "accepted":
        return
    try:
        rt.twilio.calls(parent_sid).update(url=rt.url_for(f"/voice/transfer?attempt={attempt}&status={status}"),
                                           method="POST")
    except TwilioRestException as exc:
        if exc.code != CALL_NOT_IN_PROGRESS:
            raise
        # the caller hung up meanwhile: their call's end reports the rest
        log.info("agent call of attempt %s ended after its caller %s left", attempt, parent_sid)


def hang_up_agents(rt: Runtime, state: CallState) -> None:
    """The caller is gone: stop ringing (or hang up) the agent of the transfer still out."""
    if state.transfer.attempt is None:
        return
    attempt = state.transfer.attempt
    agent_sid = rt.redis.get(AGENT_CALL_KEY.format(sid=state.call_sid, attempt=attempt))
    if not agent_sid or agent_did(rt, state.call_sid, attempt) == "accepted":
        return
    for status in ("canceled", "completed"):  # still ringing: canceled; answered: completed (hung up)
        try:
            rt.twilio.calls(agent_sid).update(status=status)
            return
        except Exception:  # the agent's call may be over already; the whisper tells them anyway
            log.info("could not set agent call %s of call %s to %s", agent_sid, state.call_sid, status)


def keep_waiting(rt: Runtime, call_sid: str) -> str:
    """TwiML for a caller who should still be waiting for the agent being rung (a stale report or
    a queue that let them go by mistake): back into their queue; otherwise nothing to do."""
    state = rt.service(CallStore).load(call_sid)
    if state is None or state.ended or not state.waiting or state.transfer.attempt is None or \
            getattr(rt.flows.flows[state.region].steps.get(state.step), "kind", None) != "transfer":
        return twiml.speak([])
    return twiml.render([HoldForAgent(queue_name(call_sid), state.transfer.attempt)], rt.url_for)


def wait_music(rt: Runtime, call_sid: str) -> str:
    """The caller's security queue: quiet, then "please stay on the line", again and again."""
    state = rt.service(CallStore).load(call_sid)
    says = []
    if state is not None and state.region in rt.flows.flows:
        flow = rt.flows.flows[state.region]
        step = flow.steps.get(state.step)
        keys = getattr(step, "hold", None) or ["transfer_hold"]
        says = _agent_words(rt, flow, state.language, keys) if state.language in flow.language_codes else []
    return twiml.hold_for_agent(says)


def left_queue(rt: Runtime, call_sid: str, attempt: int, result: str) -> str:
    """The caller's security queue let them go: bridged to the agent and now over, hung up, or
    (rarely) an error, after which they wait again."""
    if result == "bridged":
        body = transfer_result(rt, call_sid, attempt, "completed")
        return body if body is not None else twiml.speak([])
    if result in ("hangup", "redirected", "redirected-from-bridged", "bridging-in-process"):
        return twiml.speak([])
    log.warning("security queue of call %s: left with %s; back in it", call_sid, result)
    return keep_waiting(rt, call_sid)


# -- the agent's side -----------------------------------------------------------------------------

def whisper(rt: Runtime, parent_sid: str, attempt: int, accept_seconds: int) -> str:
    """TwiML for the agent who answered: the brief, "press 1 to accept", else goodbye."""
    state = rt.service(CallStore).load(parent_sid)
    if state is None or state.ended:
        return twiml.speak(_agent_words(rt, None, None, ["agent_not_accepted"]), hang_up=True)
    mark_agent(rt, parent_sid, attempt, "answered")
    flow = rt.flows.flows[state.region]
    team = rt.flows.rota.teams.get(state.transfer.team or "") if rt.flows.rota else None
    language = team.language if team else "en"
    transcript = redact_text(state.transcript, state.language, [state.vars.get("ticket", "")])
    values = {"region_name": flow.name, "language_name": LANGUAGE_NAMES.get(state.language, state.language),
              "issue_words": ISSUE_WORDS.get("account_takeover"),
              "ticket_digits": ", ".join(state.vars.get("ticket", "")),
              "caller_words": f"The caller said: {' '.join(transcript.split()[:12])}." if transcript else ""}
    brief = _agent_words(rt, flow, language, ["agent_brief", "agent_accept"], values)
    not_accepted = _agent_words(rt, flow, language, ["agent_not_accepted"])
    action = rt.url_for(f"/voice/whisper/answer?attempt={attempt}&parent={parent_sid}")
    return twiml.whisper(brief, accept_seconds, action, not_accepted)


def whisper_answer(rt: Runtime, parent_sid: str, attempt: int, digits: str, agent_sid: str) -> str:
    """The agent pressed a key (or none): 1 accepts and the calls are bridged; anything else hangs up."""
    state = rt.service(CallStore).load(parent_sid)
    live = state is not None and not state.ended
    flow = rt.flows.flows.get(state.region) if state else None
    language = (rt.flows.rota.teams[state.transfer.team].language
                if live and rt.flows.rota and state.transfer.team in rt.flows.rota.teams else "en")
    if live and digits == "1" and state.transfer.attempt == attempt:
        mark_agent(rt, parent_sid, attempt, "accepted")
        note_on_call(rt, parent_sid, "transfer_accepted", attempt=attempt + 1, agent_call=agent_sid)
        return twiml.take_from_queue(_agent_words(rt, flow, language, ["agent_connecting"]), queue_name(parent_sid))
    note_on_call(rt, parent_sid, "transfer_declined", attempt=attempt + 1, agent_call=agent_sid, key=digits or None)
    return twiml.speak(_agent_words(rt, flow, language, ["agent_not_accepted"]), hang_up=True)


def transfer_result(rt: Runtime, call_sid: str, attempt: int, dial_status: str) -> str | None:
    """The caller's <Dial> to attempt `attempt` is over. Returns TwiML to go on with, or None when
    the report is stale (a repeat, or the call has moved on)."""
    state = rt.service(CallStore).load(call_sid)
    if state is None or state.ended or state.transfer.attempt != attempt:
        return None
    did = agent_did(rt, call_sid, attempt)
    if did == "accepted":
        outcome = "accepted"
    elif did == "answered" or dial_status == "completed":
        outcome = "not-accepted"
    else:
        outcome = DIAL_OUTCOMES.get(dial_status, "failed")
    keys = state.transfer.chain
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

