"""cli: the `ivr` command, one module per group of subcommands (flows, db, serve and worker, oncall,
pages, call, callbacks, desks, models, recordings, tickets, users, audit). Every command that
touches the service builds its runtime with the factory (`context.runtime`).

An edge: may import anything in ivr; nothing imports it.
"""
from __future__ import annotations

from ivr.cli.main import main

__all__ = ["main"]
