"""Legal holds and deletion on request from the Call page (admins only): the same functions the
`ivr recordings hold|release|delete` commands use (ivr/recordings/retention.py), for the ticket of
the call on the page. Each is audited (`legal_hold`, `deletion`), and so is a refusal."""
from __future__ import annotations

from ivr.errors import IvrError, RecordingRequestError
from ivr.qa import audit
from ivr.qa.access import call_for
from ivr.qa.audit import Actor
from ivr.qa.reviewers import Reviewer
from ivr.recordings import retention
from ivr.recordings.retention import Outcome
from ivr.runtime import Runtime

MAX_REASON = 300


def set_hold(rt: Runtime, reviewer: Reviewer, call_id: int, on: bool, reason: str, actor: Actor) -> str:
    """Place (a reason is required) or release the legal hold on the call's ticket; its number."""
    reference = _admin_ticket(rt, reviewer, call_id, actor)
    reason = _reason(reason, required=on)
    try:
        retention.set_hold(rt, reference, by=reviewer.name, reason=reason, on=on)
    except IvrError as problem:
        raise RecordingRequestError(str(problem)) from None
    audit.write(rt, "legal_hold", actor, f"ticket:{reference}", placed=on, reason=reason, call=call_id)
    return reference


def delete_on_request(rt: Runtime, reviewer: Reviewer, call_id: int, reason: str, confirm: str,
                      actor: Actor) -> Outcome:
    """Delete every recording of the call's ticket (the admin types the ticket number to confirm)."""
    reference = _admin_ticket(rt, reviewer, call_id, actor)
    reason = _reason(reason, required=True)
    if confirm.strip() != reference:
        raise RecordingRequestError(f"type the ticket number ({reference}) to confirm the deletion")
    outcome = retention.delete_on_request(rt, by=reviewer.name, reason=reason, ticket=reference)
    audit.write(rt, "deletion", actor, f"ticket:{reference}", reason=reason, call=call_id,
                removed=outcome.removed, held=outcome.held, problems=outcome.problems)
    return outcome


def _admin_ticket(rt: Runtime, reviewer: Reviewer, call_id: int, actor: Actor) -> str:
    with rt.sessions() as db:
        call = call_for(rt, db, reviewer, call_id, actor, admin=True)
        if call.ticket is None:
            raise RecordingRequestError("this call has no ticket")
        return call.ticket.reference


def _reason(text: str, required: bool) -> str | None:
    text = " ".join((text or "").split())
    if required and not text:
        raise RecordingRequestError("give a reason (it is kept with the hold or the deletion)")
    if len(text) > MAX_REASON:
        raise RecordingRequestError(f"the reason is too long (at most {MAX_REASON} characters)")
    return text or None
