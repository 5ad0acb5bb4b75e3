"""The `ivr` command: run the service, check flows, migrate the database."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from ivr.errors import FlowError, IvrError
from ivr.settings import PROJECT_ROOT, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except IvrError as exc:
        raise click.ClickException(str(exc)) from None


ENV_FILES = (".env", ".run/local.env", ".run/service.env")  # what serve.sh uses; the environment wins


@click.group()
def main() -> None:
    """ivr: a self-hosted phone support line on Twilio Voice."""
    from dotenv import load_dotenv

    for name in ENV_FILES:
        load_dotenv(PROJECT_ROOT / name, override=False)


@main.group()
def flows() -> None:
    """Region flow files."""


@flows.command("check")
@click.option("--dir", "flows_dir", type=click.Path(path_type=Path), envvar="IVR_FLOWS_DIR",
              default=PROJECT_ROOT / "flows", show_default=True, help="Folder of region files.")
def flows_check(flows_dir: Path) -> None:
    """Validate and lint every flow (and the desks and rota beside them); exit 1 and list each problem if any."""
    from ivr.flows.loader import load_flows
    from ivr.runtime import checked_desks

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


@main.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from ivr.db.database import upgrade

    upgrade(_settings().database_url)
    click.echo("database is up to date")


@main.command()
@click.option("--job-workers", default=2, show_default=True, type=click.IntRange(0, 16),
              help="RQ workers to run beside the web server (pages, freeze requests, callbacks).")
def serve(job_workers: int) -> None:
    """Check flows, migrate the database, and serve the webhooks with gunicorn, with RQ workers."""
    import signal
    import subprocess

    from ivr.db.database import upgrade
    from ivr.flows.loader import load_flows
    from ivr.runtime import checked_desks

    settings = _settings()
    try:
        loaded = load_flows(settings.flows_dir)
        checked_desks(settings.flows_dir, loaded)
    except FlowError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise click.ClickException("refusing to start: fix the flow problems above (see `ivr flows check`)")
    upgrade(settings.database_url)
    if loaded.rota is not None:
        from ivr.db.database import make_engine, make_sessions
        from ivr.security.rota_store import sync_rota

        sync_rota(make_sessions(make_engine(settings.database_url)), loaded.rota)  # once, before the workers fork
    click.echo(f"flows ok: {', '.join(f.region for f in loaded)}; database ready; serving on {settings.bind}")
    click.echo(f"Voice URL for every number: POST {settings.url_for('/voice/incoming')}")
    web = [sys.executable, "-m", "gunicorn", "--bind", settings.bind, "--workers", str(settings.web_workers),
           "--worker-class", "gthread", "--threads", "8", "--access-logfile", "-", "ivr:create_app()"]
    children = [subprocess.Popen(web)]
    children += [subprocess.Popen([sys.executable, "-m", "ivr.cli", "worker"]) for _ in range(job_workers)]

    def stop(signum, _frame):
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while all(child.poll() is None for child in children):
        try:
            children[0].wait(timeout=1)
        except subprocess.TimeoutExpired:
            continue
    stop(signal.SIGTERM, None)  # one stopped: stop the rest, so a supervisor sees the service down
    for child in children:
        child.wait(30)
    sys.exit(children[0].returncode or 0)


@main.command()
@click.option("--burst", is_flag=True, help="Work through what is queued (and due), then exit.")
def worker(burst: bool) -> None:
    """Run an RQ worker for the service's queues (urgent first), with the scheduler for due jobs and
    retries. Run several for more jobs at once (`ivr serve --job-workers N`)."""
    from ivr import jobs

    settings = _settings()
    connection = jobs.connect(settings.redis_url)
    queues = [jobs.queue(connection, name) for name in jobs.QUEUES]
    jobs.ServiceWorker(queues, connection=connection).work(burst=burst, with_scheduler=True,
                                                           logging_level=settings.log_level)


@main.group()
def oncall() -> None:
    """The on-call rota for urgent security calls (flows/oncall.yaml, as loaded in the database)."""


def _rota_and_clock():
    from datetime import datetime, timezone

    from ivr.runtime import build_runtime

    rt = build_runtime(_settings())  # checks the flows and loads the rota into the database
    from ivr.security.rota_store import read_rota

    with rt.sessions() as db:
        rota = read_rota(db)
    if rota is None:
        raise click.ClickException("no rota is loaded: no region has an urgent path")
    return rota, datetime.now(timezone.utc)


@oncall.command("now")
@click.argument("region", required=False)
def oncall_now(region: str | None) -> None:
    """Who takes an urgent call right now, in order, per team (or for one region)."""
    rota, now = _rota_and_clock()
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
    rota, now = _rota_and_clock()
    teams = [rota.teams[team_name]] if team_name in rota.teams else list(rota.teams.values())
    if team_name and team_name not in rota.teams:
        raise click.ClickException(f"no team {team_name!r}; teams: {', '.join(rota.teams)}")
    for team in teams:
        click.echo(f"{team.name} ({', '.join(team.regions)}, {team.timezone})")
        for moment, people, why in team.week(now):
            names = ", then ".join(team.people[k].name for k in people)
            note = "" if why == "weekly" else f"  [{why}]"
            click.echo(f"  from {moment:%a %d %b %H:%M}: {names}{note}")
        if team.escalation:
            click.echo(f"  escalation: {', '.join(team.people[k].name for k in team.escalation)}")


@main.group()
def pages() -> None:
    """Pages sent to the security teams for urgent calls nobody took."""


@pages.command("list")
def pages_list() -> None:
    from sqlalchemy import select

    from ivr.db.database import make_engine, make_sessions
    from ivr.db.models import Page, Ticket

    sessions = make_sessions(make_engine(_settings().database_url))
    with sessions() as db:
        for page, ticket in db.execute(select(Page, Ticket).join(Ticket, Page.ticket_id == Ticket.id)
                                       .order_by(Page.id.desc()).limit(50)):
            click.echo(f"{page.id:>5}  {page.created_at:%Y-%m-%d %H:%M}  ticket {ticket.reference}  {page.team}  "
                       f"{page.status}  attempts {page.attempts}  level {page.level}")


@pages.command("ack")
@click.argument("page_id", type=int)
def pages_ack(page_id: int) -> None:
    """Acknowledge a page: stops its retries and its escalation."""
    from datetime import datetime, timezone

    from ivr.db.database import make_engine, make_sessions
    from ivr.security.paging import acknowledge

    sessions = make_sessions(make_engine(_settings().database_url))
    with sessions.begin() as db:
        page = acknowledge(db, page_id, datetime.now(timezone.utc))
    if page is None:
        raise click.ClickException(f"no page {page_id}")
    click.echo(f"page {page_id} acknowledged")


CALLER_ACTIONS = {"--press": 1, "--say": 1, "--silence": 0, "--hangup": 0}


@main.command("call", context_settings={"ignore_unknown_options": True})
@click.option("--to", "to", help="The number to call (a region's number, or any other).")
@click.option("--from", "from_", default="+15005550123", show_default=True, help="The caller's number.")
@click.option("--at", "at", help="Local time in the region, e.g. 2026-12-25T10:00 (in-process only).")
@click.option("--url", "url", help="A running service to call over HTTP, e.g. http://127.0.0.1:8000. "
                                   "Default: run the service inside this command.")
@click.option("--agent", "agents", multiple=True, metavar="NUMBER=BEHAVIOUR",
              help="How a dialed number answers: answer, no-answer, busy, silent. Repeatable.")
@click.option("-v", "--verbose", is_flag=True, help="Print every scenario's conversation, not only failures.")
@click.option("--keep-records", is_flag=True, help="In process: write tickets and calls to the configured database "
                                                    "(default: a scratch database, gone after the run).")
@click.argument("items", nargs=-1, type=click.UNPROCESSED)
def call(to, from_, at, url, agents, verbose, keep_records, items) -> None:
    """Try a call through the emulated Twilio and print it as a conversation.

    \b
    One call, the caller's actions in order:
      ivr call --to +14155550100 --press 1 --press 1 --say "my account was hacked" --silence --hangup
    Scenario files, or folders of them (exit code 1 if any fails):
      ivr call scenarios/
    """
    from ivr.emulator.report import format_report
    from ivr.emulator.runner import Dialer
    from ivr.errors import ScenarioError
    from ivr.emulator.scenarios import Scenario, ScenarioFile, load_scenarios

    script, paths = _split_items(items)
    try:
        if paths:
            if script or to:
                raise click.UsageError("give either scenario files or --to with caller actions, not both")
            scenarios = [s for path in paths for s in load_scenarios(Path(path))]
        else:
            if not to:
                raise click.UsageError("say which number to call (--to) or give scenario files")
            spec = {"name": "ivr call", "call": {"to": to, "from": from_, **({"at": at} if at else {})},
                    "caller": script, "agents": _agent_options(agents)}
            scenarios = [Scenario(path=None, spec=ScenarioFile.model_validate(spec))]
    except (ScenarioError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    settings = _settings()
    scratch = tempfile.TemporaryDirectory(prefix="ivr-call-")
    scratch_db = None if keep_records or url else f"sqlite:///{scratch.name}/calls.db"
    try:
        dialer = Dialer.over_http(settings, url) if url else Dialer.in_process(settings, scratch_db)
    except FlowError as exc:
        raise click.ClickException("the flows fail the check:\n" + "\n".join(exc.problems)) from None
    except Exception as exc:  # Redis or the database unreachable: say which, in one line
        raise click.ClickException(f"cannot start the service in process: {exc} (start ./scripts/serve.sh "
                                   f"once, or set IVR_REDIS_URL and IVR_DATABASE_URL)") from None
    failed = 0
    for scenario in scenarios:
        outcome = dialer.run(scenario)
        single = scenario.path is None
        if single or verbose or not outcome.passed:
            click.echo(format_report(outcome.report, None if single else scenario.name))
        if not single:
            mark = "PASS" if outcome.passed else "FAIL"
            click.echo(f"{mark}  {scenario.path}  {scenario.name}")
        for failure in outcome.failures:
            click.echo(f"      - {failure}")
        failed += not outcome.passed
    if len(scenarios) > 1 or scenarios[0].path is not None:
        click.echo(f"{len(scenarios) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def _split_items(items) -> tuple[list, list[str]]:
    """Caller actions (--press 1, --say text, --silence, --hangup), in order, and scenario paths."""
    script, paths, rest = [], [], list(items)
    while rest:
        item = rest.pop(0)
        if item in CALLER_ACTIONS:
            if CALLER_ACTIONS[item] and not rest:
                raise click.UsageError(f"{item} needs a value")
            kind = item[2:]
            script.append({kind: rest.pop(0)} if CALLER_ACTIONS[item] else kind)
        elif item.startswith("-"):
            raise click.UsageError(f"unknown option {item}")
        else:
            paths.append(item)
    return script, paths


def _agent_options(agents) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for option in agents:
        number, _, behaviour = option.partition("=")
        if not behaviour:
            raise click.UsageError(f"--agent {option}: use NUMBER=answer|no-answer|busy|silent")
        result.setdefault(number, []).append(behaviour)
    return result


from ivr.cli.callbacks import callbacks  # noqa: E402  (the groups live in their own modules)
from ivr.cli.desks import desks  # noqa: E402
from ivr.cli.models import models  # noqa: E402

main.add_command(models)
main.add_command(callbacks)
main.add_command(desks)

if __name__ == "__main__":
    main()
