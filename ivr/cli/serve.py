"""`ivr serve` (the web app, its job workers and the records writer), `ivr worker` and `ivr writer`."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from ivr import logs
from ivr import worker as job_worker
from ivr.calls import writer as records_writer
from ivr.cli.context import runtime, settings
from ivr.db.database import upgrade
from ivr.errors import FlowError, IvrError
from ivr.factory import build_runtime
from ivr.flows.loader import checked_desks, load_flows
from ivr.metrics import MULTIPROC_DIR

WEBHOOK_THREADS = 8  # per web worker, never used by media streams


@click.command()
@click.option("--job-workers", default=2, show_default=True, type=click.IntRange(0, 16),
              help="RQ workers to run beside the web server (pages, freeze requests, callbacks).")
def serve(job_workers: int) -> None:
    """Check flows, migrate the database, and serve the webhooks with gunicorn, with RQ workers."""
    configured = settings()
    if configured.secret_key is None:
        raise click.ClickException("refusing to start: IVR_SECRET_KEY is not set (the QA pages sign their sessions "
                                   "with it; scripts/serve.sh makes one in .run/local.env)")
    try:
        loaded = load_flows(configured.flows_dir)
        checked_desks(configured.flows_dir, loaded)
    except FlowError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise click.ClickException("refusing to start: fix the flow problems above (see `ivr flows check`)") from None
    upgrade(configured.database_url)
    try:
        rt = build_runtime(configured, flows=loaded)  # once, before the workers start: the rota into the database
        rt.registry.serving(rt)  # and every speech model loads
    except IvrError as exc:
        raise click.ClickException(f"refusing to start: {exc}") from None
    click.echo(f"flows ok: {', '.join(f.region for f in loaded)}; database ready; serving on {configured.bind}")
    click.echo(f"Voice URL for every number: POST {configured.url_for('/voice/incoming')}")
    # Each web worker: WEBHOOK_THREADS for webhooks, plus one thread per stream slot (a media stream
    # holds its thread for the whole listen), so streams can never take the webhooks' threads.
    threads = WEBHOOK_THREADS + configured.stream_slots
    web = [sys.executable, "-m", "gunicorn", "--bind", configured.bind, "--workers", str(configured.web_workers),
           "--worker-class", "gthread", "--threads", str(threads), "--access-logfile", "-", "ivr:create_app()"]
    env = {**os.environ, MULTIPROC_DIR: str(_metrics_dir())}
    children = [subprocess.Popen(web, env=env)]
    children += [subprocess.Popen([sys.executable, "-m", "ivr.cli", "worker"], env=env) for _ in range(job_workers)]
    children.append(subprocess.Popen([sys.executable, "-m", "ivr.cli", "writer"], env=env))
    _supervise(children)


def _metrics_dir() -> Path:
    """Where every process of the service counts (prometheus-client's multiprocess mode):
    PROMETHEUS_MULTIPROC_DIR if set, else a private folder; emptied now, so counts start afresh."""
    given = os.environ.get(MULTIPROC_DIR)
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="ivr-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    return folder


def _supervise(children: list[subprocess.Popen]) -> None:
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


@click.command()
@click.option("--burst", is_flag=True, help="Work through what is queued (and due), then exit.")
def worker(burst: bool) -> None:
    """Run an RQ worker for the service's queues (urgent first), with the scheduler for due jobs and
    retries. Run several for more jobs at once (`ivr serve --job-workers N`)."""
    rt = runtime()
    logs.configure(rt.settings.log_level)
    job_worker.work(rt, burst=burst, logging_level=rt.settings.log_level)


@click.command()
def writer() -> None:
    """Write the call records the webhooks handed over (the Redis stream ivr:records) to the
    database, in batches. Its own process, not an RQ job: it must never wait behind a long job (a
    recording's ingest), and one is enough for many web nodes (run one per host for failover: a
    dead one's entries are claimed by another). `ivr serve` starts one."""
    rt = runtime()
    logs.configure(rt.settings.log_level)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    records_writer.run(rt, stop=lambda: bool(stopping))
