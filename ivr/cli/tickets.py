"""`ivr tickets show N`: a ticket with its calls, each call's timeline, and its recordings."""
from __future__ import annotations

import json

import click
from sqlalchemy import select

from ivr.cli.context import runtime
from ivr.cli.recordings import describe
from ivr.db.models import Recording, Ticket
from ivr.recordings.records import utc


@click.group()
def tickets() -> None:
    """Tickets."""


@tickets.command("show")
@click.argument("reference")
def show(reference: str) -> None:
    """Everything about one ticket: its calls with their timelines, its recordings and transcripts."""
    rt = runtime()
    with rt.sessions() as db:
        ticket = db.scalars(select(Ticket).where(Ticket.reference == reference)).first()
        if ticket is None:
            raise click.ClickException(f"no ticket {reference}")
        click.echo(f"ticket {ticket.reference}: {ticket.status}, {ticket.category or '-'}, {ticket.priority}, "
                   f"region {ticket.region}, language {ticket.language or '-'}, opened "
                   f"{utc(ticket.created_at):%Y-%m-%d %H:%M}Z"
                   + (f", LEGAL HOLD by {ticket.legal_hold['by']}: {ticket.legal_hold['reason']}"
                      if ticket.legal_hold else ""))
        for call in ticket.calls:
            click.echo(f"\ncall {call.call_sid}  {utc(call.started_at):%Y-%m-%d %H:%M:%S}Z  {call.status}  "
                       f"{call.duration_seconds or 0} s  consent {call.consent or '-'}  "
                       f"language {call.language or '-'}")
            for event in call.events:
                detail = json.dumps(event.detail, ensure_ascii=False, default=str) if event.detail else ""
                click.echo(f"  {utc(event.at):%H:%M:%S}  {event.kind:<28} {detail}")
        recordings = db.scalars(select(Recording).where(Recording.ticket_id == ticket.id)
                                .order_by(Recording.id)).all()
        click.echo(f"\nrecordings: {len(recordings) or 'none'}")
        for recording in recordings:
            click.echo("  " + describe(recording, ticket.reference))
            for transcript in recording.transcripts:
                text = transcript.text if transcript.status == "done" else transcript.note
                click.echo(f"    channel {transcript.channel} ({'caller' if transcript.channel == 1 else 'IVR/agent'}):"
                           f" {text or '(nothing said)'}")
