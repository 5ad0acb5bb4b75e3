"""`ivr oncall`: the on-call rota for urgent security calls."""
from __future__ import annotations

import click

from ivr.cli.context import runtime
from ivr.security.rota_store import read_rota


@click.group()
def oncall() -> None:
    """The on-call rota for urgent security calls (flows/oncall.yaml, as loaded in the database)."""


def _rota_and_now():
    rt = runtime()  # checks the flows and loads the rota into the database
    with rt.sessions() as db:
        rota = read_rota(db)
    if rota is None:
        raise click.ClickException("no rota is loaded: no region has an urgent path")
    return rota, rt.clock()


@oncall.command("now")
@click.argument("region", required=False)
def oncall_now(region: str | None) -> None:
    """Who takes an urgent call right now, in order, per team (or for one region)."""
    rota, now = _rota_and_now()
    teams = [rota.team_for(region)] if region else list(rota.teams.values())
    if region and teams[0] is None:
        raise click.ClickException(f"no team covers region {region!r}")
    for team in teams:
        people, why = team.on_call(now)
        local = now.astimezone(team.zone)
        chain = " > ".join(f"{p.name} {p.phone}" for p in team.chain(now))
        click.echo(f"{team.name} ({', '.join(team.regions)}), {local:%a %H:%M} {team.timezone}, {why}: {chain}")


@oncall.command("show")
@click.option("--week", is_flag=True, default=True, help="The coming seven days (the default).")
@click.option("--team", "team_name", help="One team only.")
def oncall_show(week: bool, team_name: str | None) -> None:
    """Every change of who is on call over the coming week, in each team's local time."""
    rota, now = _rota_and_now()
    if team_name and team_name not in rota.teams:
        raise click.ClickException(f"no team {team_name!r}; teams: {', '.join(rota.teams)}")
    teams = [rota.teams[team_name]] if team_name else list(rota.teams.values())
    for team in teams:
        click.echo(f"{team.name} ({', '.join(team.regions)}, {team.timezone})")
        for moment, people, why in team.week(now):
            names = ", then ".join(team.people[k].name for k in people)
            note = "" if why == "weekly" else f"  [{why}]"
            click.echo(f"  from {moment:%a %d %b %H:%M}: {names}{note}")
        if team.escalation:
            click.echo(f"  escalation: {', '.join(team.people[k].name for k in team.escalation)}")
