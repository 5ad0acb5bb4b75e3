"""Paging the security team when an urgent call reached nobody.

A page is a database row first (so nothing is lost with Redis), then an RQ job that posts it to the
pager webhook (and texts the on-call people through Twilio where configured), retried with backoff
until delivered. If nobody acknowledges it within IVR_PAGER_ACK_SECONDS, it escalates: the team's
escalation list is paged too. Acknowledge with `ivr pages ack ID` or POST /ops/pages/ID/ack.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ivr import jobs, outbound
from ivr.db.models import Page, Ticket
from ivr.flows.rota import Team
from ivr.runtime import Runtime
from ivr.security.signing import signed_body

log = logging.getLogger(__name__)
PAGER_SECONDS = 10.0  # one post to the pager, in all


class PageNotDelivered(Exception):
    """The pager webhook did not take the page; RQ retries the job."""


def open_page(db: Session, ticket: Ticket, team: Team, reason: str, brief: dict, now: datetime) -> Page:
    page = Page(ticket_id=ticket.id, team=team.name, reason=reason, status="pending", attempts=0, level=0,
                payload={**brief, "ticket": ticket.reference, "team": team.name, "reason": reason},
                created_at=now)
    db.add(page)
    db.flush()
    return page


def schedule(rt: Runtime, page_id: int) -> None:
    """After the page's row is committed: deliver now, and check for an acknowledgement later."""
    retry = jobs.retry_policy(rt.settings.retry_base_seconds)
    jobs.enqueue(rt, deliver, page_id, 0, queue_name="urgent", retry=retry, job_id=f"page-{page_id}-0",
                 timeout=rt.settings.job_timeout)
    jobs.enqueue(rt, escalate_if_unacknowledged, page_id, queue_name="urgent",
                 delay=timedelta(seconds=rt.settings.pager_ack_seconds), job_id=f"page-{page_id}-check",
                 timeout=rt.settings.job_timeout)


def deliver(rt: Runtime, page_id: int, level: int) -> str:
    """RQ job: post the page (and text the people) at `level` (0 on-call, 1 escalation)."""
    with rt.sessions.begin() as db:
        page = db.get(Page, page_id)
        if page is None:
            return "unknown page"
        if page.status == "acknowledged":
            return "already acknowledged"
        page.attempts += 1
        payload = {**page.payload, "page_id": page.id, "level": level, "attempt": page.attempts,
                   "escalated": level > 0}
        payload.pop("texted", None)
        text_now = level not in page.payload.get("texted", [])  # texts go once per level, not per retry
        if text_now:
            page.payload = {**page.payload, "texted": [*page.payload.get("texted", []), level]}
        team = rt.flows.rota.teams.get(page.team) if rt.flows.rota else None
    people = _people(team, level, rt.clock())
    if rt.settings.pager_sms_from and people and text_now:
        _text(rt, people, payload)
    if rt.settings.pager_url:
        body, headers = signed_body(payload, rt.settings.pager_secret)
        headers["Idempotency-Key"] = f"page-{page_id}-{level}"
        try:
            answer = outbound.post(rt.settings.pager_url, body, headers, deadline_seconds=PAGER_SECONDS)
        except outbound.OutboundFailed as exc:
            raise PageNotDelivered(f"page {page_id}: {exc}") from None
        if not answer.ok:  # a redirect too: only a 2xx from the configured URL delivers the page
            raise PageNotDelivered(f"page {page_id}: pager answered {answer.status}")
    elif not rt.settings.pager_sms_from:
        log.error("page %s for ticket %s: no IVR_PAGER_URL or IVR_PAGER_SMS_FROM is set, nobody was paged",
                  page_id, payload.get("ticket"))
        _set_status(rt, page_id, "failed")
        return "not configured"
    _set_status(rt, page_id, "delivered" if level == 0 else "escalated")
    return "delivered"


def escalate_if_unacknowledged(rt: Runtime, page_id: int) -> str:
    """RQ job, IVR_PAGER_ACK_SECONDS after the page: nobody acknowledged it, so page the escalation list."""
    with rt.sessions.begin() as db:
        page = db.get(Page, page_id)
        if page is None or page.status == "acknowledged":
            return "acknowledged"
        page.level = 1
    jobs.enqueue(rt, deliver, page_id, 1, queue_name="urgent",
                 retry=jobs.retry_policy(rt.settings.retry_base_seconds), job_id=f"page-{page_id}-1",
                 timeout=rt.settings.job_timeout)
    return "escalated"


def acknowledge(db: Session, page_id: int, now: datetime) -> Page | None:
    page = db.get(Page, page_id)
    if page is not None and page.status != "acknowledged":
        page.status, page.acknowledged_at = "acknowledged", now
    return page


def _set_status(rt: Runtime, page_id: int, status: str) -> None:
    with rt.sessions.begin() as db:
        page = db.get(Page, page_id)
        if page is not None and page.status != "acknowledged":
            page.status = status


def _people(team: Team | None, level: int, now: datetime):
    if team is None:
        return []
    if level == 0:
        return team.chain(now)[:2]
    return [team.people[key] for key in team.escalation]


def _text(rt: Runtime, people, payload: dict) -> None:
    words = (f"URGENT security call not answered. Ticket {payload.get('ticket')}, region {payload.get('region')}, "
             f"caller {payload.get('caller') or 'withheld'}. Call back now."
             + (" (escalated)" if payload.get("escalated") else ""))
    for person in people:
        try:
            rt.twilio.messages.create(to=person.phone, from_=rt.settings.pager_sms_from, body=words)
        except Exception:  # one failed text must not stop the webhook or the other texts
            log.exception("could not text %s for page %s", person.phone, payload.get("page_id"))
