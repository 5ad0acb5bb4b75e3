"""The `ivr` command: run the service, check flows, migrate the database."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ivr.errors import FlowError, IvrError
from ivr.settings import PROJECT_ROOT, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except IvrError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def main() -> None:
    """ivr: a self-hosted phone support line on Twilio Voice."""


@main.group()
def flows() -> None:
    """Region flow files."""


@flows.command("check")
@click.option("--dir", "flows_dir", type=click.Path(path_type=Path), envvar="IVR_FLOWS_DIR",
              default=PROJECT_ROOT / "flows", show_default=True, help="Folder of region files.")
def flows_check(flows_dir: Path) -> None:
    """Validate and lint every flow; exit 1 and list each problem if any."""
    from ivr.flows import load_flows

    if not flows_dir.is_dir():
        raise click.ClickException(f"{flows_dir}: not a folder")
    try:
        loaded = load_flows(flows_dir)
    except FlowError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        click.echo(f"{len(exc.problems)} problem(s) found", err=True)
        sys.exit(1)
    for flow in loaded:
        click.echo(f"{flow.source}: ok  region {flow.region}  version {flow.version}  "
                   f"{len(flow.steps)} steps  languages {', '.join(flow.language_codes)}  "
                   f"numbers {', '.join(flow.numbers)}")


@main.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from ivr.db import upgrade

    upgrade(_settings().database_url)
    click.echo("database is up to date")


@main.command()
def serve() -> None:
    """Check flows, migrate the database, and serve the webhooks with gunicorn."""
    from ivr.db import upgrade
    from ivr.flows import load_flows

    settings = _settings()
    try:
        loaded = load_flows(settings.flows_dir)
    except FlowError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise click.ClickException("refusing to start: fix the flow problems above (see `ivr flows check`)")
    upgrade(settings.database_url)
    click.echo(f"flows ok: {', '.join(f.region for f in loaded)}; database ready; serving on {settings.bind}")
    click.echo(f"Voice URL for every number: POST {settings.url_for('/voice/incoming')}")
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--bind", settings.bind,
                               "--workers", str(settings.web_workers), "--worker-class", "gthread",
                               "--threads", "8", "--access-logfile", "-", "ivr:create_app()"])


if __name__ == "__main__":
    main()
