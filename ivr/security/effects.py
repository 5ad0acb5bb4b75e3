"""What the security capability does when the engine asks: ring the next person of the on-call
chain at once while the caller waits (Transfer, WaitForAgent), send the caller's freeze request to
the account system (FreezeRequest), page the on-call team (PageSecurityTeam)."""
from __future__ import annotations

import logging
from dataclasses import replace

from ivr.calls.lifecycle import note_on_call
from ivr.calls.records import caller_number, security_brief
from ivr.calls.turn import Turn
from ivr.core.actions import FreezeRequest, HoldForAgent, PageSecurityTeam, Redirect, Transfer, WaitForAgent
from ivr.core.events import TransferEnded
from ivr.security import freeze, paging, warm_transfer
from ivr.security.warm_transfer import chain_for, queue_name

log = logging.getLogger(__name__)


def ring_on_call_agent(turn: Turn, action: Transfer) -> None:
    """Ring the `attempt`-th person of the chain (fixed at the first attempt), or tell the engine
    nobody is left."""
    team, chain = chain_for(turn.db, turn.flow, turn.state, turn.now)
    if not turn.state.transfer.chain:
        turn.state = turn.state.with_(transfer=replace(turn.state.transfer, team=team.name if team else None,
                                                       chain=tuple(p.key for p in chain)))
    if action.attempt >= len(chain):
        turn.answer(TransferEnded(action.attempt, "none-left"))
        return
    person = chain[action.attempt]
    turn.note("transfer_ringing", attempt=action.attempt + 1, agent=person.name, number=person.phone, team=team.name)
    rt, call_sid, caller_id = turn.rt, turn.call.call_sid, turn.call.to_number

    def ring_now() -> list:
        """After the commit and once the call's state is saved (the agent's whisper reads it)."""
        try:
            warm_transfer.ring(rt, call_sid, person.phone, caller_id, action.attempt, action.ring_seconds,
                               action.accept_seconds)
        except Exception as exc:  # Twilio's API unreachable or refusing: on to the next person
            log.exception("call %s: could not ring %s", call_sid, person.name)
            note_on_call(rt, call_sid, "transfer_ring_failed", attempt=action.attempt + 1, agent=person.name,
                         error=f"{exc.__class__.__name__}: {exc}"[:300])
            return [*action.prompts, Redirect(f"/voice/transfer?attempt={action.attempt}&status=failed")]
        return [HoldForAgent(queue_name(call_sid), action.attempt, action.prompts, action.listen)]

    turn.after_commit(ring_now)


def keep_waiting(turn: Turn, action: WaitForAgent) -> None:
    """The caller pressed a key (or none) while the agent rings: back to waiting for them."""
    if turn.state.ended or turn.state.step != action.step or turn.state.transfer.attempt != action.attempt:
        return
    turn.emit(HoldForAgent(queue_name(turn.call.call_sid), action.attempt))


def request_freeze(turn: Turn, action: FreezeRequest) -> None:
    """One freeze request per ticket; after the commit, the account system is asked while the caller
    waits, and the caller hears "frozen" only when it confirms."""
    request = freeze.record(turn.db, turn.call.ticket, caller_number(turn.call), turn.call.region or "", turn.now)
    turn.note("freeze_requested", request=request.id)
    rt, call_sid, request_id = turn.rt, turn.call.call_sid, request.id

    def ask_account_system() -> list:
        status = freeze.ask_now(rt, request_id)
        note_on_call(rt, call_sid, "freeze_" + status, request=request_id)
        return list(action.confirmed if status == "frozen" else action.received)

    turn.after_commit(ask_account_system)


def page_security_team(turn: Turn, action: PageSecurityTeam) -> None:
    team, _ = chain_for(turn.db, turn.flow, turn.state, turn.now)
    if team is None or turn.call.ticket is None:
        log.error("call %s: no security team to page for region %s", turn.call.call_sid, turn.flow.region)
        return
    page = paging.open_page(turn.db, turn.call.ticket, team, action.reason,
                            security_brief(turn.call, turn.state, turn.now), turn.now)
    turn.note("page_opened", page=page.id, team=team.name)
    rt, page_id = turn.rt, page.id

    def enqueue_page() -> list:
        try:
            paging.schedule(rt, page_id)
        except Exception:  # Redis down: the page row stays pending
            log.exception("could not enqueue page %s", page_id)
        return []

    turn.after_commit(enqueue_page)
