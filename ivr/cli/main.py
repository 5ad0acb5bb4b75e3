"""The `ivr` command group; each group of subcommands lives in its own module."""
from __future__ import annotations

import click
from dotenv import load_dotenv

from ivr.cli import (
    audit,
    call,
    callbacks,
    db,
    desks,
    flows,
    intents,
    models,
    oncall,
    pages,
    recordings,
    serve,
    tickets,
    users,
)
from ivr.settings import PROJECT_ROOT

ENV_FILES = (".env", ".run/local.env", ".run/service.env")  # what serve.sh uses; the environment wins


@click.group()
def main() -> None:
    """ivr: a self-hosted phone support line on Twilio Voice."""
    for name in ENV_FILES:
        load_dotenv(PROJECT_ROOT / name, override=False)


for command in (flows.flows, db.db, serve.serve, serve.worker, serve.writer, oncall.oncall, pages.pages, call.call,
                callbacks.callbacks, desks.desks, models.models, recordings.recordings, tickets.tickets,
                users.users, audit.audit, intents.intents):
    main.add_command(command)
