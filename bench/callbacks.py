"""1,000 call backs falling due: how long from each one's due moment to its outbound call being
created through the (emulated) Twilio REST API, and whether any is lost or made twice.

Real pieces: a private redis-server, the database (SQLite by default, or IVR_BENCH_DATABASE_URL),
RQ's scheduler and N worker processes started the way the service runs them, the app's twilio
client talking HTTP to the emulator's REST API (which records each created call and its creation
time; the calls are not played out). Requests are booked straight into the database with due
times spread evenly over --spread seconds (0: all at the same moment) and scheduled as the web
app schedules them.

    .venv/bin/python bench/callbacks.py [--count 1000] [--spread 200] [--workers 2] [--api-latency 0.2]

The workers are `ivr worker` as shipped (each job in the worker's own process, with the runtime the
factory builds). The earlier comparison with RQ's forking `rq worker` is in bench/RESULTS.md; plain
`rq worker` cannot run ivr's jobs any more, which take the runtime as their first argument.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from sqlalchemy import select  # noqa: E402

from ivr.callbacks import booking, scheduling  # noqa: E402
from ivr.db.database import upgrade  # noqa: E402
from ivr.db.models import CallbackAttempt  # noqa: E402
from ivr.emulator.ledger import Ledger  # noqa: E402
from ivr.emulator.rest import RestServer, rest_api  # noqa: E402
from ivr.factory import build_runtime  # noqa: E402
from ivr.settings import Settings  # noqa: E402

ACCOUNT_SID, AUTH_TOKEN = "AC" + "b" * 32, "bench-token"
BIN = Path(sys.executable).parent


def main() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the REST server's request lines
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="ivr-bench-") as folder:
        redis_url = _redis(Path(folder))
        database_url = os.environ.get("IVR_BENCH_DATABASE_URL") or f"sqlite:///{folder}/bench.db"
        upgrade(database_url)
        ledger = Ledger(ACCOUNT_SID)
        with RestServer(_slowed(rest_api(ledger, AUTH_TOKEN), args.api_latency)) as rest:
            env = {**os.environ, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                   "IVR_REDIS_URL": redis_url, "IVR_DATABASE_URL": database_url, "IVR_TWILIO_API_URL": rest.url,
                   "IVR_PUBLIC_URL": "https://ivr.example.test", "IVR_LOG_LEVEL": "WARNING",
                   "IVR_CALLBACK_RECONCILE_SECONDS": "3600"}
            rt = build_runtime(Settings.from_env(env))
            workers = _start_workers(args, env, redis_url)
            try:
                time.sleep(8)  # let the workers start (and build the runtime) before the first is due
                started = time.monotonic()
                due = _book(rt, args)
                print(f"booked and scheduled {args.count} in {time.monotonic() - started:.1f} s; the first is due "
                      f"{(min(due.values()) - datetime.now(UTC)).total_seconds():.1f} s later")
                done = _wait(rt, args.count, max(due.values()) + timedelta(seconds=args.patience))
            finally:
                for worker in workers:
                    worker.send_signal(signal.SIGTERM)
                for worker in workers:
                    worker.wait(30)
            _report(args, due, ledger, done, database_url)
        Redis.from_url(redis_url).shutdown(nosave=True)


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=200.0, help="seconds over which the call backs fall due")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--api-latency", type=float, default=0.0,
                        help="seconds the REST API takes to answer each request (the network to Twilio)")
    parser.add_argument("--patience", type=float, default=600.0,
                        help="seconds after the last due time before the ones still not placed count as lost")
    return parser.parse_args()


def _slowed(app, latency: float):
    """The REST API answering `latency` seconds later, as Twilio's does across the internet (the
    call counts as created after the wait)."""
    if latency > 0:
        inner = app.wsgi_app

        def slow(environ, start_response):
            time.sleep(latency)
            return inner(environ, start_response)

        app.wsgi_app = slow
    return app


def _redis(folder: Path) -> str:
    socket = folder / "redis.sock"
    subprocess.Popen([shutil.which("redis-server"), "--port", "0", "--unixsocket", str(socket), "--save", "",
                      "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    url = f"unix://{socket}"
    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            return url
        except Exception:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def _start_workers(args, env: dict, redis_url: str) -> list[subprocess.Popen]:
    command = [str(BIN / "ivr"), "worker"]
    return [subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL) for _ in range(args.workers)]


def _book(rt, args) -> dict[str, datetime]:
    """Book the call backs (distinct numbers), the first due 30 s from now (booking 1,000 takes a
    while), and schedule their jobs."""
    start = datetime.now(UTC) + timedelta(seconds=30)
    due = {f"+4474{n:08d}": start + timedelta(seconds=args.spread * n / max(args.count - 1, 1))
           for n in range(args.count)}
    with rt.sessions.begin() as db:
        ids = [booking.request(db, None, None, number, "normal", "bench", start, due=at, desk="support-gb",
                                 caller_id="+442079460100").id for number, at in due.items()]
    for request_id in ids:
        scheduling.schedule(rt, request_id)
    return due


def _wait(rt, count: int, until: datetime) -> int:
    while datetime.now(UTC) < until:
        with rt.sessions() as db:
            placed = len(db.scalars(select(CallbackAttempt.id).where(CallbackAttempt.call_sid.is_not(None))).all())
        if placed >= count:
            return placed
        time.sleep(1)
    return placed


def _report(args, due: dict[str, datetime], ledger: Ledger, placed: int, database_url: str) -> None:
    calls = list(ledger.calls.values())
    per_number = Counter(call.to for call in calls)
    delays = sorted(min(c.created_at for c in calls if c.to == number) - due[number].timestamp()
                    for number in per_number)
    lost = len(set(due) - set(per_number))
    duplicated = sum(n - 1 for n in per_number.values() if n > 1)

    def pct(p: float) -> float:
        return delays[min(len(delays) - 1, int(p * len(delays)))] * 1000

    database = "SQLite" if database_url.startswith("sqlite") else database_url.split(":", 1)[0]
    latency = f", API {args.api_latency * 1000:.0f} ms" if args.api_latency else ""
    print(f"| {args.count} | {args.spread:.0f} s | {args.workers} x ivr{latency} | {database} | "
          f"{pct(0.5):.0f} ms | {pct(0.9):.0f} ms | {pct(0.99):.0f} ms | {delays[-1] * 1000:.0f} ms | "
          f"{lost} | {duplicated} |")
    print(f"calls created {len(calls)}, attempts recorded with a CallSid {placed}; "
          f"mean {statistics.mean(delays) * 1000:.0f} ms; earliest {delays[0] * 1000:.0f} ms")
    first = min(due.values())
    late = Counter(int((due[number] - first).total_seconds()) for number in per_number
                   if min(c.created_at for c in calls if c.to == number) - due[number].timestamp() > 0.25)
    if late:
        print("over 250 ms late, by second of the run: " + ", ".join(f"{s}s: {n}" for s, n in sorted(late.items())))


if __name__ == "__main__":
    main()
