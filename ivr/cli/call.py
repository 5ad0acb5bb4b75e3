"""`ivr call`: try a call through the emulated Twilio and print it as a conversation."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from ivr.cli.context import settings
from ivr.emulator.report import format_report
from ivr.emulator.runner import Dialer
from ivr.emulator.scenarios import Scenario, ScenarioFile, load_scenarios
from ivr.errors import FlowError, ScenarioError

CALLER_ACTIONS = {"--press": 1, "--say": 1, "--silence": 0, "--hangup": 0}


@click.command("call", context_settings={"ignore_unknown_options": True})
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
    configured = settings()
    scratch = tempfile.TemporaryDirectory(prefix="ivr-call-")
    scratch_db = None if keep_records or url else f"sqlite:///{scratch.name}/calls.db"
    try:
        dialer = Dialer.over_http(configured, url) if url else Dialer.in_process(configured, scratch_db)
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
