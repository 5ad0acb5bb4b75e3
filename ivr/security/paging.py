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


QUEUE = "urgent"


def delivery_job(page_id: int, level: int) -> str:
    return f"page-{page_id}-{level}"


def check_job(page_id: int) -> str:
    return f"page-{page_id}-check"


def schedule(rt: Runtime, page_id: int) -> None:
    """After the page's row is committed: deliver now, and check for an acknowledgement later.
    (If Redis refuses, the page stays pending and the reconciler schedules both.)"""
    send(rt, page_id, 0)
    jobs.enqueue(rt, escalate_if_unacknowledged, page_id, queue_name=QUEUE,
                 delay=timedelta(seconds=rt.settings.pager_ack_seconds), job_id=check_job(page_id),
                 timeout=rt.settings.job_timeout)


def send(rt: Runtime, page_id: int, level: int, again: bool = False):
    """The delivery job of a page at `level`, retried with backoff (`again`: replacing a finished or
    failed one, as the reconciler and `ivr pages resend` do)."""
    enqueue = jobs.put_back if again else jobs.enqueue
    return enqueue(rt, deliver, page_id, level, queue_name=QUEUE,
                   retry=jobs.retry_policy(rt.settings.retry_base_seconds), job_id=delivery_job(page_id, level),
                   timeout=rt.settings.job_timeout)


def deliver(rt: Runtime, page_id: int, level: int) -> str:
    """RQ job: post the page (and text the people) at `level` (0 on-call, 1 escalation). A page
    that is still not delivered after RQ's last retry is marked failed and alerted on."""
    try:
        return _deliver(rt, page_id, level)
    except PageNotDelivered as exc:
        if jobs.last_try():
            give_up(rt, page_id, str(exc))
        raise


def give_up(rt: Runtime, page_id: int, why: str) -> None:
    """No retry is left: mark the page failed and say so loudly (log at ERROR, a metric)."""
    _set_status(rt, page_id, "failed")
    rt.metrics.deliveries_given_up.labels("page").inc()
    log.error("page %s NOT DELIVERED, no retry left (%s): page the team by hand, then `ivr pages resend %s`",
              page_id, why, page_id)


def _deliver(rt: Runtime, page_id: int, level: int) -> str:
    with rt.sessions.begin() as db:
        page = db.get(Page, page_id)
        if page is None:
            return "unknown page"
        if page.status == "acknowledged":
            return "already acknowledged"
        page.attempts += 1
        payload = {**page.payload, "page_id": page.id, "level": level, "attempt": page.attempts,
                   "escalated": level > 0}
        texted = set(payload.pop("texted", []))
        team = rt.flows.rota.teams.get(page.team) if rt.flows.rota else None
    people = _people(team, level, rt.clock())
    problems = []
    if rt.settings.pager_sms_from and people:
        problems += _text(rt, page_id, level, [p for p in people if _text_key(level, p) not in texted], payload)
    if rt.settings.pager_url:
        body, headers = signed_body(payload, rt.settings.pager_secret)
        headers["Idempotency-Key"] = f"page-{page_id}-{level}"
        try:
            answer = outbound.post(rt.settings.pager_url, body, headers, deadline_seconds=PAGER_SECONDS)
        except outbound.OutboundFailed as exc:
            problems.append(f"pager unreachable: {exc}")
        else:
            if not answer.ok:  # a redirect too: only a 2xx from the configured URL delivers the page
                problems.append(f"pager answered {answer.status}")
    elif not rt.settings.pager_sms_from:
        log.error("page %s for ticket %s: no IVR_PAGER_URL or IVR_PAGER_SMS_FROM is set, nobody was paged",
                  page_id, payload.get("ticket"))
        _set_status(rt, page_id, "failed")
        return "not configured"
    if problems:
        raise PageNotDelivered(f"page {page_id}: " + "; ".join(problems))
    _set_status(rt, page_id, "delivered" if level == 0 else "escalated")
    return "delivered"


def escalate_if_unacknowledged(rt: Runtime, page_id: int) -> str:
    """RQ job, IVR_PAGER_ACK_SECONDS after the page: nobody acknowledged it, so page the escalation list."""
    with rt.sessions.begin() as db:
        page = db.get(Page, page_id)
        if page is None or page.status == "acknowledged":
            return "acknowledged"
        page.level = 1
    send(rt, page_id, 1)
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


def _text_key(level: int, person) -> str:
    return f"{level}:{person.phone}"


def _text(rt: Runtime, page_id: int, level: int, people, payload: dict) -> list[str]:
    """Text each person not yet texted at this level; returns what failed (RQ retries the job).

    At least once: a person is marked texted only after Twilio took their message, so a retry
    texts whoever was missed and nobody twice; only a worker dying between Twilio's answer and the
    mark can text someone twice, which beats a page nobody got."""
    words = (f"URGENT security call not answered. Ticket {payload.get('ticket')}, region {payload.get('region')}, "
             f"caller {payload.get('caller') or 'withheld'}. Call back now."
             + (" (escalated)" if payload.get("escalated") else ""))
    failed = []
    for person in people:
        try:
            rt.twilio.messages.create(to=person.phone, from_=rt.settings.pager_sms_from, body=words)
        except Exception as exc:  # one failed text must not stop the others; the retry sends it
            log.warning("could not text %s for page %s: %s", _mask(person.phone), page_id, exc)
            failed.append(f"text to {_mask(person.phone)} failed")
            continue
        _mark_texted(rt, page_id, _text_key(level, person))
    return failed


def _mark_texted(rt: Runtime, page_id: int, key: str) -> None:
    with rt.sessions.begin() as db:
        page = db.get(Page, page_id)
        page.payload = {**page.payload, "texted": [*page.payload.get("texted", []), key]}


def _mask(number: str | None) -> str:
    """A phone number as logs may show it: its last four digits."""
    return "…" + number[-4:] if number else "-"
