"""A caller's request to freeze their account, sent to the exchange's account system.

One request per ticket (asking twice changes nothing). The webhook is tried at once with a short
deadline (2 s in all, however slowly the other side answers) so the caller can hear "frozen" when
the account system confirms; otherwise the caller
hears it was received, and an RQ job retries until the account system takes it.
Body: JSON {ticket, caller, region, requested_at, idempotency_key}; headers X-IVR-Signature
(sha256 HMAC with IVR_FREEZE_SECRET) and Idempotency-Key. A 2xx answer is "received"; a 2xx with
{"status": "frozen"} is "frozen". Redirects are not followed (ivr.outbound): a 3xx is not taken.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import jobs, outbound
from ivr.db.models import FreezeRequest, Ticket
from ivr.runtime import Runtime
from ivr.security.signing import signed_body

log = logging.getLogger(__name__)
ASK_NOW_SECONDS = 2.0  # the caller waits this long for the account system, in all (not per read)
RETRY_SECONDS = 10.0  # a background retry's deadline


class FreezeNotTaken(Exception):
    """The account system did not take the request; RQ retries."""


def record(db: Session, ticket: Ticket, caller: str | None, region: str, now: datetime) -> FreezeRequest:
    existing = db.scalars(select(FreezeRequest).where(FreezeRequest.ticket_id == ticket.id)).first()
    if existing is not None:
        return existing
    request = FreezeRequest(ticket_id=ticket.id, idempotency_key=f"freeze-{ticket.reference}", caller_number=caller,
                            region=region, status="requested", attempts=0, created_at=now, updated_at=now)
    db.add(request)
    db.flush()
    return request


def ask_now(rt: Runtime, request_id: int) -> str:
    """Try the account system while the caller waits. Returns the request's status afterwards;
    anything short of 'received' or 'frozen' leaves a retrying job behind."""
    try:
        return _send(rt, request_id, ASK_NOW_SECONDS)
    except FreezeNotTaken as exc:
        log.warning("%s; retrying in the background", exc)
    try:
        send(rt, request_id)
    except Exception:  # Redis down too: the request is recorded, and the reconciler sends it
        log.exception("could not queue freeze request %s; the reconciler will", request_id)
    return "requested"


QUEUE = "urgent"


def job_id(request_id: int) -> str:
    return f"freeze-{request_id}"


def send(rt: Runtime, request_id: int, again: bool = False):
    """The retrying job that sends a freeze request (`again`: replacing a finished or failed one)."""
    enqueue = jobs.put_back if again else jobs.enqueue
    return enqueue(rt, deliver, request_id, queue_name=QUEUE, retry=jobs.retry_policy(rt.settings.retry_base_seconds),
                   job_id=job_id(request_id), timeout=rt.settings.job_timeout)


def deliver(rt: Runtime, request_id: int) -> str:
    """RQ job: send the freeze request until the account system takes it; after RQ's last retry,
    mark it failed and alert."""
    try:
        return _send(rt, request_id, RETRY_SECONDS)
    except FreezeNotTaken as exc:
        if jobs.last_try():
            give_up(rt, request_id, str(exc))
        raise


def give_up(rt: Runtime, request_id: int, why: str) -> None:
    """No retry is left: mark the request failed and say so loudly (log at ERROR, a metric)."""
    _set(rt, request_id, "failed")
    rt.metrics.deliveries_given_up.labels("freeze").inc()
    log.error("freeze request %s NOT SENT, no retry left (%s): freeze the account by hand, or "
              "`ivr pages resend --freeze %s`", request_id, why, request_id)


def _send(rt: Runtime, request_id: int, deadline_seconds: float) -> str:
    settings = rt.settings
    with rt.sessions.begin() as db:
        request = db.get(FreezeRequest, request_id)
        if request.status in ("received", "frozen"):
            return request.status
        request.attempts += 1
        ticket = db.get(Ticket, request.ticket_id)
        payload = {"ticket": ticket.reference, "caller": request.caller_number, "region": request.region,
                   "requested_at": request.created_at.isoformat(), "idempotency_key": request.idempotency_key}
    if not settings.freeze_url:
        log.error("freeze request for ticket %s: IVR_FREEZE_URL is not set; the security agent must freeze "
                  "the account by hand", payload["ticket"])
        return _set(rt, request_id, "not_sent")
    body, headers = signed_body(payload, settings.freeze_secret)
    headers["Idempotency-Key"] = payload["idempotency_key"]
    try:
        answer = outbound.post(settings.freeze_url, body, headers, deadline_seconds=deadline_seconds)
    except outbound.OutboundFailed as exc:
        raise FreezeNotTaken(f"freeze request {request_id}: {exc}") from None
    if not answer.ok:  # a redirect too: only a 2xx from the configured URL takes the request
        raise FreezeNotTaken(f"freeze request {request_id}: account system answered {answer.status}")
    return _set(rt, request_id, "frozen" if answer.json().get("status") == "frozen" else "received")


def _set(rt: Runtime, request_id: int, status: str) -> str:
    with rt.sessions.begin() as db:
        request = db.get(FreezeRequest, request_id)
        request.status, request.updated_at = status, rt.clock()
    return status
