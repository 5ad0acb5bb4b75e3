"""`ivr pages`: pages sent to the security teams for urgent calls nobody took (and the callers'
freeze requests, delivered the same way).

    ivr pages list
    ivr pages ack ID
    ivr pages resend ID...           deliver these pages again now (a failed one too)
    ivr pages resend --undelivered   every page not delivered yet, or failed
    ivr pages resend --freeze ID     a freeze request the account system never took
    ivr pages reconcile              put back in RQ what Redis lost (pages, freeze requests)
"""
from __future__ import annotations

import click
from sqlalchemy import select

from ivr.cli.context import runtime
from ivr.db.models import FreezeRequest, Page, Ticket
from ivr.security import freeze, paging, reconciler
from ivr.security.paging import acknowledge


@click.group()
def pages() -> None:
    """Pages sent to the security teams for urgent calls nobody took."""


@pages.command("list")
def pages_list() -> None:
    rt = runtime()
    with rt.sessions() as db:
        for page, ticket in db.execute(select(Page, Ticket).join(Ticket, Page.ticket_id == Ticket.id)
                                       .order_by(Page.id.desc()).limit(50)):
            click.echo(f"{page.id:>5}  {page.created_at:%Y-%m-%d %H:%M}  ticket {ticket.reference}  {page.team}  "
                       f"{page.status}  attempts {page.attempts}  level {page.level}")


@pages.command("ack")
@click.argument("page_id", type=int)
def pages_ack(page_id: int) -> None:
    """Acknowledge a page: stops its retries and its escalation."""
    rt = runtime()
    with rt.sessions.begin() as db:
        page = acknowledge(db, page_id, rt.clock())
    if page is None:
        raise click.ClickException(f"no page {page_id}")
    click.echo(f"page {page_id} acknowledged")


@pages.command("resend")
@click.argument("page_ids", nargs=-1, type=int)
@click.option("--undelivered", is_flag=True, help="Every page still pending or failed.")
@click.option("--freeze", "freeze_ids", multiple=True, type=int, help="A freeze request to send again (repeatable).")
def pages_resend(page_ids: tuple[int, ...], undelivered: bool, freeze_ids: tuple[int, ...]) -> None:
    """Deliver pages (or freeze requests) again now, with fresh retries: after the pager or the
    account system was down for longer than the retries last, or Redis lost the jobs."""
    if not (page_ids or undelivered or freeze_ids):
        raise click.UsageError("name the pages to resend, or --undelivered, or --freeze ID")
    rt = runtime()
    with rt.sessions.begin() as db:
        chosen = list(db.scalars(select(Page).where(Page.id.in_(page_ids)))) if page_ids else []
        if undelivered:
            chosen += db.scalars(select(Page).where(Page.status.in_(("pending", "failed")))).all()
        missing = set(page_ids) - {page.id for page in chosen}
        if missing:
            raise click.ClickException(f"no page {', '.join(map(str, sorted(missing)))}")
        plan = {}
        for page in chosen:
            if page.status == "acknowledged":
                click.echo(f"page {page.id} was acknowledged: not resent")
                continue
            if page.status == "failed":
                page.status = "pending" if page.level == 0 else "delivered"
            plan[page.id] = page.level
        requests = list(db.scalars(select(FreezeRequest).where(FreezeRequest.id.in_(freeze_ids)))) if freeze_ids else []
        if unknown := set(freeze_ids) - {r.id for r in requests}:
            raise click.ClickException(f"no freeze request {', '.join(map(str, sorted(unknown)))}")
        again = []
        for request in requests:
            if request.status in ("received", "frozen"):
                click.echo(f"freeze request {request.id} was {request.status}: not resent")
                continue
            request.status, request.updated_at = "requested", rt.clock()
            again.append(request.id)
    for page_id, level in plan.items():
        paging.send(rt, page_id, level, again=True)
        click.echo(f"page {page_id} queued for delivery (level {level})")
    for request_id in again:
        freeze.send(rt, request_id, again=True)
        click.echo(f"freeze request {request_id} queued")
    if not plan and not again:
        click.echo("nothing to resend")


@pages.command("reconcile")
def pages_reconcile() -> None:
    """Compare pages and freeze requests with their RQ jobs and put back what Redis lost."""
    counts = reconciler.reconcile(runtime())
    click.echo(", ".join(f"{name} {count}" for name, count in counts.items()))
