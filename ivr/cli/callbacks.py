"""`ivr callbacks`: the call backs callers booked, and the jobs that place them.

    ivr callbacks list [--status pending] [--limit 50]
    ivr callbacks show ID            every attempt and its outcome
    ivr callbacks cancel ID
    ivr callbacks retry ID           a failed (or cancelled) call back, due now, one more attempt
    ivr callbacks reconcile          put back in RQ what Redis lost; take over half-done placements

ID is the number `list` shows, or the request's key.
"""
from __future__ import annotations

import click
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from ivr import jobs
from ivr.callbacks import reconciler, scheduling
from ivr.callbacks.booking import by_reference, cancel, utc
from ivr.cli.context import runtime
from ivr.db.models import CallbackRequest, Ticket
from ivr.queue import desk_queue

STATUSES = ("pending", "calling", "completed", "failed", "cancelled")


@click.group()
def callbacks() -> None:
    """Call backs: list, show, cancel, retry; reconcile the database with the RQ jobs."""


@callbacks.command("list")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only these statuses (repeatable). Default: all.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
def list_callbacks(statuses, limit: int) -> None:
    """The newest call backs: status, priority (0 = urgent security), number, due time (UTC), attempts."""
    rt = runtime()
    query = (select(CallbackRequest, Ticket.reference).outerjoin(Ticket, CallbackRequest.ticket_id == Ticket.id)
             .order_by(CallbackRequest.id.desc()).limit(limit))
    if statuses:
        query = query.where(CallbackRequest.status.in_(statuses))
    with rt.sessions() as db:
        rows = db.execute(query).all()
    if not rows:
        click.echo("no call backs")
    for request, reference in rows:
        click.echo(f"{request.id:>6}  {request.status:<9}  p{request.priority}  {request.region:<3} "
                   f"{request.number or '-':<16} due {utc(request.due_at):%Y-%m-%d %H:%M}Z  "
                   f"attempts {request.attempts}/{request.max_attempts}  {request.last_outcome or '-':<16} "
                   f"ticket {reference or '-'}  {request.reason}  key {request.key}")


@callbacks.command("show")
@click.argument("reference")
def show_callback(reference: str) -> None:
    """One call back and every attempt made for it."""
    rt = runtime()
    with rt.sessions() as db:
        request = by_reference(db, reference)
        if request is None:
            raise click.ClickException(f"no call back {reference}")
        click.echo(f"call back {request.id} ({request.key}): {request.status}, priority {request.priority}, "
                   f"{request.number}, region {request.region}, desk {request.desk or '-'}, "
                   f"due {utc(request.due_at):%Y-%m-%d %H:%M}Z, reason {request.reason}")
        for attempt in request.attempts_made:
            click.echo(f"  attempt {attempt.attempt}: {attempt.status}, outcome {attempt.outcome or '-'}, "
                       f"answered by {attempt.answered_by or '-'}, call {attempt.call_sid or '-'}, "
                       f"key {attempt.idempotency_key}")


@callbacks.command("cancel")
@click.argument("reference")
def cancel_callback(reference: str) -> None:
    """Cancel a pending call back (a call already ringing is left to finish)."""
    rt = runtime()
    with rt.sessions.begin() as db:
        request = by_reference(db, reference)
        if request is None:
            raise click.ClickException(f"no call back {reference}")
        if not cancel(db, [request], rt.clock(), "cancelled_by_operator"):
            raise click.ClickException(f"call back {request.id} is {request.status}: only a pending one can be "
                                       f"cancelled")
    scheduling.cancel_jobs(rt, request)
    desk = rt.desks.get(request.desk) if request.desk else None
    if desk is not None:
        desk_queue.drop_placeholder(rt.redis, desk, request.key)
    click.echo(f"call back {request.id} cancelled")


@callbacks.command("retry")
@click.argument("reference")
def retry_callback(reference: str) -> None:
    """Try a call back again now: one more attempt for a failed or cancelled one (or bring a
    pending one forward)."""
    rt = runtime()
    now = utc(rt.clock())
    with rt.sessions.begin() as db:
        request = by_reference(db, reference)
        if request is None:
            raise click.ClickException(f"no call back {reference}")
        if request.status == "calling":
            raise click.ClickException(f"call back {request.id} is calling right now")
        if request.status in ("completed", "failed", "cancelled"):
            request.max_attempts = max(request.max_attempts, request.attempts + 1)
        request.status, request.due_at, request.updated_at, request.finished_at = "pending", now, now, None
        request_id, attempt, priority = request.id, request.attempts + 1, request.priority
    failed = FailedJobRegistry(queue=jobs.queue(rt, scheduling.queue_name(priority)))
    job_id = scheduling.job_id(request_id, attempt)
    if job_id in failed.get_job_ids():
        failed.remove(job_id, delete_job=True)
    click.echo(f"call back {request_id}: attempt {attempt} {scheduling.schedule(rt, request_id)}")


@callbacks.command("reconcile")
def reconcile_callbacks() -> None:
    """Compare the database (the record) with RQ's jobs in Redis and put back what is missing;
    workers also do this every IVR_CALLBACK_RECONCILE_SECONDS."""
    rt = runtime()
    counts = reconciler.reconcile(rt)
    reconciler.keep_reconciling(rt)
    click.echo(", ".join(f"{name.replace('_', ' ')} {count}" for name, count in counts.items()))
