"""`ivr db`: the database."""
from __future__ import annotations

import click

from ivr.cli.context import settings
from ivr.db.database import upgrade


@click.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    upgrade(settings().database_url)
    click.echo("database is up to date")
