"""`ivr flows`: region flow files."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ivr.errors import DiagramUnavailable, FlowError
from ivr.flows.loader import checked_desks, load_flows
from ivr.qa import diagrams
from ivr.qa.rubrics import load_rubrics
from ivr.settings import PROJECT_ROOT

FLOWS_DIR = click.option("--dir", "flows_dir", type=click.Path(path_type=Path), envvar="IVR_FLOWS_DIR",
                         default=PROJECT_ROOT / "flows", show_default=True, help="Folder of region files.")


@click.group()
def flows() -> None:
    """Region flow files."""


@flows.command("check")
@FLOWS_DIR
def flows_check(flows_dir: Path) -> None:
    """Validate and lint every flow (and the desks, rota and QA rubrics beside them); exit 1 and list
    each problem if any."""
    if not flows_dir.is_dir():
        raise click.ClickException(f"{flows_dir}: not a folder")
    try:
        loaded = load_flows(flows_dir)
        desks = checked_desks(flows_dir, loaded)
        rubrics = load_rubrics(flows_dir, loaded)
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
    for region, rubric in sorted(rubrics.by_region.items()) + ([("every other region", rubrics.default)]
                                                                if rubrics.default else []):
        click.echo(f"{rubric.source}: ok  rubric for {region}  version {rubric.version}  "
                   f"{len(rubric.spec.items)} items")


@flows.command("draw")
@click.argument("region")
@click.option("--format", "fmt", type=click.Choice(["svg", "mermaid", "dot"]), default="svg", show_default=True,
              help="svg (drawn by Graphviz), mermaid (text GitHub and wikis draw), or dot (Graphviz's source).")
@click.option("--path", "path", help="Steps to highlight, comma-separated (a call's path, as `ivr call` prints it).")
@FLOWS_DIR
def flows_draw(region: str, fmt: str, path: str | None, flows_dir: Path) -> None:
    """Draw REGION's flow: its steps, branches, the consent step and the urgent path."""
    try:
        loaded = load_flows(flows_dir)
    except FlowError as exc:
        raise click.ClickException("the flows fail the check (see `ivr flows check`):\n" + str(exc)) from None
    flow = loaded.flows.get(region)
    if flow is None:
        raise click.ClickException(f"no region {region!r}; regions: {', '.join(loaded.flows)}")
    steps = [s.strip() for s in (path or "").replace(">", ",").split(",") if s.strip()]
    unknown = [s for s in steps if s not in flow.steps]
    if unknown:
        raise click.ClickException(f"--path: no step {', '.join(repr(s) for s in unknown)} in {flow.source}")
    try:
        graph = diagrams.graph(flow)
        if fmt == "mermaid":
            click.echo(diagrams.mermaid(graph, steps), nl=False)
        elif fmt == "dot":
            click.echo(diagrams.dot_source(graph), nl=False)
        else:
            click.echo(diagrams.standalone(diagrams.highlight(diagrams.render_svg(graph), graph, steps)))
    except DiagramUnavailable as exc:
        raise click.ClickException(str(exc)) from None
