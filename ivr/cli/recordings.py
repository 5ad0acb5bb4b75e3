"""`ivr recordings`: recordings kept with their tickets.

    ivr recordings list [--status stored] [--limit 50]
    ivr recordings ingest RE...             run (or rerun) one recording's ingest now
    ivr recordings transcribe --missing     transcripts (and redaction) a model now makes possible
    ivr recordings purge [--dry-run]        remove what is past its region's retention
    ivr recordings hold --ticket N --reason TEXT / ivr recordings release --ticket N
    ivr recordings delete (--ticket N | --caller +E164) --reason TEXT [--by NAME]
    ivr recordings export-original RE... --reason TEXT --out FILE     (only with IVR_RECORDINGS_ORIGINAL_KEY)
"""
from __future__ import annotations

import getpass

import click
import phonenumbers
from sqlalchemy import select

from ivr.cli.context import runtime
from ivr.db.models import RECORDING_STATUSES, Recording, Ticket
from ivr.errors import IvrError
from ivr.recordings import ingest as ingesting
from ivr.recordings import originals, retention
from ivr.recordings.records import by_sid, note_recording, utc
from ivr.recordings.storage import Store


@click.group()
def recordings() -> None:
    """Recordings: list, ingest, transcribe, purge, hold, delete on request."""


@recordings.command("list")
@click.option("--status", "statuses", multiple=True, type=click.Choice(RECORDING_STATUSES))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
def list_recordings(statuses, limit: int) -> None:
    """The newest recordings: status, ticket, duration, size, redactions, where they are."""
    rt = runtime()
    query = (select(Recording, Ticket.reference).outerjoin(Ticket, Recording.ticket_id == Ticket.id)
             .order_by(Recording.id.desc()).limit(limit))
    if statuses:
        query = query.where(Recording.status.in_(statuses))
    with rt.sessions() as db:
        rows = db.execute(query).all()
    if not rows:
        click.echo("no recordings")
    for recording, reference in rows:
        click.echo(describe(recording, reference))


def describe(recording: Recording, reference: str | None) -> str:
    size = f"{recording.stored_bytes / 1024:.0f} KiB" if recording.stored_bytes else "-"
    return (f"{recording.recording_sid}  {recording.status:<8} ticket {reference or '-'}  {recording.region or '-'} "
            f"{recording.language or '-'}  {recording.duration_seconds or 0:>5} s  {recording.channels} ch  {size}  "
            f"redactions {len(recording.redactions or [])}  {recording.storage_key or recording.reason or ''}")


@recordings.command("ingest")
@click.argument("recording_sid")
def ingest_now(recording_sid: str) -> None:
    """Run one recording's ingest in this process (a failed one, after fixing the cause)."""
    rt = runtime()
    try:
        click.echo(f"{recording_sid}: {ingesting.ingest(rt, recording_sid)}")
    except IvrError as problem:
        raise click.ClickException(f"{recording_sid}: {problem}") from None


@recordings.command("transcribe")
@click.option("--missing", is_flag=True, required=True, help="Recordings stored without a transcript.")
def transcribe(missing: bool) -> None:
    """Transcribe (and redact) stored recordings whose language had no model when they came in."""
    rt = runtime()
    waiting = ingesting.missing_transcripts(rt)
    removed = 0
    with click.progressbar(waiting, label=f"transcribing {len(waiting)} recording(s)") as bar:
        for sid in bar:
            removed += ingesting.transcribe_again(rt, sid)
    click.echo(f"transcribed {len(waiting)}, spans redacted {removed}")


@recordings.command("purge")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
def purge(dry_run: bool) -> None:
    """Remove recordings past their region's retention (held tickets are kept); workers do it daily."""
    rt = runtime()
    due = retention.due_for_purge(rt)
    if dry_run:
        for sid in due:
            click.echo(f"would purge {sid}")
        click.echo(f"{len(due)} recording(s) past retention")
        return
    problems = []
    with click.progressbar(due, label=f"purging {len(due)} recording(s)") as bar:
        for sid in bar:
            try:
                retention.purge_one(rt, sid)
            except IvrError as problem:
                problems.append(f"{sid}: {problem}")
    click.echo(f"purged {len(due) - len(problems)}")
    if problems:
        raise click.ClickException("not purged:\n" + "\n".join(problems))


@recordings.command("hold")
@click.option("--ticket", "reference", required=True)
@click.option("--reason", required=True)
@click.option("--by", default=getpass.getuser, show_default="you")
def hold(reference: str, reason: str, by: str) -> None:
    """Put a ticket under legal hold: nothing of it is purged or deleted until released."""
    _hold(reference, by, reason, True)


@recordings.command("release")
@click.option("--ticket", "reference", required=True)
@click.option("--by", default=getpass.getuser, show_default="you")
def release(reference: str, by: str) -> None:
    """Release a ticket's legal hold."""
    _hold(reference, by, None, False)


def _hold(reference: str, by: str, reason: str | None, on: bool) -> None:
    rt = runtime()
    try:
        retention.set_hold(rt, reference, by=by, reason=reason, on=on)
    except IvrError as problem:
        raise click.ClickException(str(problem)) from None
    click.echo(f"ticket {reference}: legal hold {'placed' if on else 'released'}")


@recordings.command("delete")
@click.option("--ticket", "reference", help="Every recording of this ticket.")
@click.option("--caller", help="Every recording of calls from this number (E.164).")
@click.option("--reason", required=True, help="Why, for the tombstone (e.g. 'caller's erasure request 2026-118').")
@click.option("--by", default=getpass.getuser, show_default="you")
def delete(reference: str | None, caller: str | None, reason: str, by: str) -> None:
    """Delete on request: media, transcripts and Twilio's copy; a tombstone stays on the timeline."""
    if bool(reference) == bool(caller):
        raise click.UsageError("give --ticket or --caller")
    if caller:
        caller = _e164(caller)
    rt = runtime()
    outcome = retention.delete_on_request(rt, by=by, reason=reason, ticket=reference, caller=caller)
    click.echo(f"deleted {len(outcome.removed)} recording(s)")
    for line in outcome.held:
        click.echo(f"kept under legal hold: {line}")
    if outcome.problems:
        raise click.ClickException("not deleted (run again):\n" + "\n".join(outcome.problems))


def _e164(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise click.BadParameter(f"{number!r} is not a phone number in E.164 form like +447700900123")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@recordings.command("export-original")
@click.argument("recording_sid")
@click.option("--reason", required=True)
@click.option("--by", default=getpass.getuser, show_default="you")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True)
def export_original(recording_sid: str, reason: str, by: str, out: str) -> None:
    """The unredacted audio of a recording (kept only with IVR_RECORDINGS_ORIGINAL_KEY), for a
    security investigation; noted on the timeline with who and why."""
    rt = runtime()
    with rt.sessions() as db:
        recording = by_sid(db, recording_sid)
        if recording is None or not recording.original_key:
            raise click.ClickException(f"{recording_sid}: no original is kept")
        key = recording.original_key
    if not rt.settings.recordings_original_key:
        raise click.ClickException("IVR_RECORDINGS_ORIGINAL_KEY is not set")
    audio = originals.decrypt(rt.settings.recordings_original_key, rt.service(Store).read(key),
                              recording_sid.encode())
    with rt.sessions.begin() as db:
        note_recording(db, by_sid(db, recording_sid), "original_exported", rt.clock(), by=by, reason=reason,
                       at=utc(rt.clock()).isoformat(timespec="seconds"))
    with open(out, "wb") as target:
        target.write(audio)
    click.echo(f"{recording_sid}: original written to {out} ({len(audio)} bytes); noted on the timeline")
