"""`ivr pages`: pages sent to the security teams for urgent calls nobody took."""
from __future__ import annotations

import click
from sqlalchemy import select

from ivr.cli.context import runtime
from ivr.db.models import Page, Ticket
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
