"""Opening one call for a signed-in person: the call row if their role and regions let them see
it; otherwise the refusal, written in the audit log, is raised."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ivr.db.models import Call
from ivr.errors import AccessRefused, UnknownCall
from ivr.qa import audit, reviewers
from ivr.qa.audit import Actor
from ivr.qa.reviewers import Reviewer
from ivr.runtime import Runtime


def call_for(rt: Runtime, db: Session, reviewer: Reviewer, call_id: int, actor: Actor, *,
             admin: bool = False) -> Call:
    """The call `call_id` as `reviewer` may see it (`admin`: only an admin may). UnknownCall when
    there is no such call, AccessRefused when they may not; both are audited."""
    call = db.get(Call, call_id)
    if call is None:
        audit.write(rt, "refused", actor, f"call:{call_id}", reason="no such call")
        raise UnknownCall(f"no call {call_id}")
    try:
        if admin:
            reviewers.check_admin(reviewer, f"call:{call_id}")
        reviewers.check_call_row(reviewer, call)
    except AccessRefused as refused:
        audit.write(rt, "refused", actor, refused.target, reason=refused.reason)
        raise
    return call
