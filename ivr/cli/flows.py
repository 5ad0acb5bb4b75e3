"""`ivr flows`: region flow files."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ivr.errors import FlowError
from ivr.flows.loader import checked_desks, load_flows
from ivr.settings import PROJECT_ROOT


@click.group()
def flows() -> None:
    """Region flow files."""


@flows.command("check")
@click.option("--dir", "flows_dir", type=click.Path(path_type=Path), envvar="IVR_FLOWS_DIR",
              default=PROJECT_ROOT / "flows", show_default=True, help="Folder of region files.")
def flows_check(flows_dir: Path) -> None:
    """Validate and lint every flow (and the desks and rota beside them); exit 1 and list each problem if any."""
    if not flows_dir.is_dir():
        raise click.ClickException(f"{flows_dir}: not a folder")
    try:
        loaded = load_flows(flows_dir)
        desks = checked_desks(flows_dir, loaded)
    except FlowError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        click.echo(f"{len(exc.problems)} problem(s) found", err=True)
        sys.exit(1)
    for flow in loaded:
        click.echo(f"{flow.source}: ok  region {flow.region}  version {flow.version}  "
                   f"{len(flow.steps)} steps  languages {', '.join(flow.language_codes)}  "
                   f"numbers {', '.join(flow.numbers)}")
    if loaded.rota is not None:
        teams = ", ".join(f"{t.name} ({'/'.join(t.regions)})" for t in loaded.rota.teams.values())
        click.echo(f"{flows_dir.name}/oncall.yaml: ok  version {loaded.rota.version}  teams {teams}")
    for language, book in sorted(loaded.phrasebooks.items()):
        click.echo(f"{flows_dir.name}/intents/{language}.yaml: ok  {len(book.phrases)} phrases")
    for desk in desks:
        click.echo(f"{flows_dir.name}/desks/{desk.name}.yaml: ok  regions {', '.join(desk.regions)}  "
                   f"{len(desk.agents)} agents")
