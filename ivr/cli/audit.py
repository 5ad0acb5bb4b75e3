"""`ivr audit verify`: check the QA audit log's hash chain from its first entry to its last.

    ivr audit verify [--anchor SEQ:HASH]

Prints the number of entries and the newest entry's hash (keep it elsewhere: passed back as
--anchor later, it shows that no entry up to it was removed with the entries after it); exits 1
naming the first entry that is not as it was written.
"""
from __future__ import annotations

import sys

import click

from ivr.cli.context import settings
from ivr.db.database import make_engine, make_sessions
from ivr.qa import audit as audit_log


@click.group()
def audit() -> None:
    """The QA pages' audit log."""


@audit.command("verify")
@click.option("--anchor", help="SEQ:HASH of an entry printed by an earlier verify: it must still be there, unchanged.")
def verify(anchor: str | None) -> None:
    """Check every entry's hash and its link to the entry before it."""
    configured = settings()
    expected = None
    if anchor:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise click.BadParameter("SEQ:HASH, e.g. 1520:3f9a… (the 64 hex digits verify printed)",
                                     param_hint="--anchor")
        expected = (int(seq), digest.lower())
    engine = make_engine(configured.database_url)
    try:
        verdict = audit_log.verify(make_sessions(engine), configured.audit_key, expected)
    finally:
        engine.dispose()
    if not verdict.intact:
        click.echo(f"audit log BROKEN at entry {verdict.broken_seq}: {verdict.problem}", err=True)
        click.echo(f"{verdict.entries} entries before it verified", err=True)
        sys.exit(1)
    keyed = "HMAC-SHA256" if configured.audit_key else "SHA-256"
    click.echo(f"audit log intact: {verdict.entries} entries ({keyed} chain)")
    click.echo(f"head: {verdict.head_seq}:{verdict.head_hash}")
