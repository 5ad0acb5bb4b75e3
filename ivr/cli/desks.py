"""`ivr desks`: the support desks as they stand, and agents signing in and out.

    ivr desks show [DESK] [--json]     agents (free, talking, held for a call back, away, signed out),
                                       who is waiting in order, and the wait a caller joining now hears
    ivr desks sign-out DESK AGENT      the agent takes no more calls (a conversation goes on)
    ivr desks sign-in DESK AGENT       the agent takes calls again

DESK is the desk file's name (`support-gb`), AGENT the agent's key in it (`olivia`). The same is
on the desk API (`/ops/desks`, with IVR_OPS_TOKEN).
"""
from __future__ import annotations

import json

import click

from ivr.cli.context import runtime
from ivr.flows.desks import Agent, Desk, Desks
from ivr.queue import desk_queue


def _desk_and_agent(desks: Desks, desk_name: str, agent_key: str) -> tuple[Desk, Agent]:
    desk = desks.get(desk_name)
    if desk is None:
        raise click.ClickException(f"no desk {desk_name!r}; desks: {', '.join(d.name for d in desks) or 'none'}")
    agent = desk.agent(agent_key)
    if agent is None:
        raise click.ClickException(f"no agent {agent_key!r} at {desk.name}; agents: "
                                   f"{', '.join(a.key for a in desk.agents)}")
    return desk, agent


@click.group()
def desks() -> None:
    """Support desks: who is free and who is waiting; agents signing in and out."""


@desks.command("show")
@click.argument("desk_name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the desks as JSON.")
def show(desk_name: str | None, as_json: bool) -> None:
    """Each desk's agents and queue as they stand (or one desk's)."""
    rt = runtime()
    chosen = list(rt.desks) if desk_name is None else [rt.desks.get(desk_name)]
    if chosen == [None]:
        raise click.ClickException(f"no desk {desk_name!r}; desks: {', '.join(d.name for d in rt.desks) or 'none'}")
    views = [desk_queue.snapshot(rt.redis, desk, rt.clock()) for desk in chosen]
    if as_json:
        click.echo(json.dumps(views, indent=2, ensure_ascii=False))
        return
    for view in views:
        _print(view)


def _print(view: dict) -> None:
    free = sum(1 for a in view["agents"] if a["state"] == "free")
    click.echo(f"{view['desk']} ({', '.join(view['regions'])}): {free} of {len(view['agents'])} agents free, "
               f"{len(view['waiting'])} waiting; one agent comes free every {_minutes(view['pace_seconds'])}; "
               + (f"a caller joining now would wait about {_minutes(view['wait_for_next_seconds'])}"
                  if view["wait_for_next_seconds"] else "a caller joining now is put through at once"))
    for agent in view["agents"]:
        about = agent["call"] or agent["callback"] or (f"{agent['away_seconds']} s more" if agent["away_seconds"]
                                                       else "")
        out = " (signed out: no new calls)" if not agent["signed_in"] and agent["state"] != "signed out" else ""
        click.echo(f"  {agent['key']:<12} {agent['name']:<24} {agent['state']}{' ' + about if about else ''}{out}")
    for entry in view["waiting"]:
        who = entry.get("call") or f"call back {entry.get('callback')}"
        ticket = f" ticket {entry['ticket']}" if entry.get("ticket") else ""
        click.echo(f"  {entry['place']:>3}. {entry['kind']:<10} {entry['band']:<15} waited "
                   f"{_minutes(entry['waited_seconds'])}  {who}{ticket}")


def _minutes(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


@desks.command("sign-out")
@click.argument("desk_name")
@click.argument("agent_key")
def sign_out(desk_name: str, agent_key: str) -> None:
    """AGENT at DESK takes no more calls until signed in again."""
    _sign(desk_name, agent_key, signing_in=False)


@desks.command("sign-in")
@click.argument("desk_name")
@click.argument("agent_key")
def sign_in(desk_name: str, agent_key: str) -> None:
    """AGENT at DESK takes calls again."""
    _sign(desk_name, agent_key, signing_in=True)


def _sign(desk_name: str, agent_key: str, signing_in: bool) -> None:
    rt = runtime()
    desk, agent = _desk_and_agent(rt.desks, desk_name, agent_key)
    if signing_in:
        changed = desk_queue.sign_in(rt.redis, desk.name, agent.key, rt.clock())
    else:
        changed = desk_queue.sign_out(rt.redis, desk.name, agent.key)
    done = "signed in" if signing_in else "signed out"
    click.echo(f"{agent.name} ({desk.name}) {done if changed else 'was already ' + done}")
