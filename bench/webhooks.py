"""Webhook throughput and latency: the service's webhooks against a minimal stateful webhook, in one run.

Everything is served by gunicorn as `ivr serve` runs it (2 workers x 8 threads, gthread, an access
log) and hit over HTTP by 16 concurrent keep-alive connections with correctly signed Twilio requests
(twilio's RequestValidator, the emulator's parameters, a fresh I-Twilio-Idempotency-Token each):

- minimal:   bench/minimal_webhook.py: signature, one Redis GET and SET, a <Gather> from VoiceResponse;
- new call:  the service's /voice/incoming, each request a new call from a different caller;
- key press: the same calls pressing 1 at the first menu (consent: the recording starts, a ticket
             opens, its number is read out); each call had its greeting's no-input answered
             beforehand, untimed. The consent is committed to the database in the webhook.
- issue menu: the same calls pressing 4 (KYC) at the next menu: a mid-call webhook whose records
             are written behind (the writer's lag is sampled every 50 ms meanwhile).

Each request answers a distinct live call once: no request is a retry or an idempotent replay.
The service runs `ivr serve` itself (a private redis-server, a fixed clock on a weekday at 10:00 in
London so the line is open), on SQLite (a fresh file) and on PostgreSQL (the database named by
IVR_BENCH_DATABASE_URL, emptied first; default postgresql+psycopg://postgres@127.0.0.1:5432/ivr_scale_bench).

    .venv/bin/python bench/webhooks.py                      # both databases, 2,000 requests a case
    .venv/bin/python bench/webhooks.py --database sqlite --requests 4000

Results and what they mean: bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from redis import Redis
from sqlalchemy import create_engine, func, select, text
from twilio.request_validator import RequestValidator

from ivr.db.models import Call, CallEvent, Consent, Ticket
from ivr.emulator.geography import geographic_params

try:
    from ivr.calls import writer
except ImportError:  # the code before the records writer (bench/RESULTS.md's "before" runs)
    writer = None

ROOT = Path(__file__).resolve().parent.parent
if not (ROOT / "ivr").is_dir():  # a copy run from elsewhere against another checkout: the one we are in
    ROOT = Path.cwd()
BIN = Path(sys.executable).parent
ACCOUNT_SID, AUTH_TOKEN, PUBLIC = "AC" + "0" * 31 + "1", "bench-auth-token-0123456789abcdef", "https://ivr.bench.test"
SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789"
NUMBER = "+442079460100"  # United Kingdom: consent first, all-party
CLOCK = "fixed:2026-11-24T10:00:00+00:00"  # a Tuesday, 10:00 in London: the line is open
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/ivr_scale_bench"
GUNICORN = ["--workers", "2", "--worker-class", "gthread", "--threads", "8", "--access-logfile", "-"]


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    headers: dict


def main() -> None:
    args = _arguments()
    folder = Path(tempfile.mkdtemp(prefix="ivr-bench-webhooks-"))
    redis_url = _redis(folder)
    validator = RequestValidator(AUTH_TOKEN)
    rows: list[tuple[str, str, Result]] = []
    stack = contextlib.ExitStack()
    try:
        print(f"load average before: {_load()}", flush=True)
        minimal_port = _free_port()
        stack.enter_context(_served([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{minimal_port}",
                                     "--pythonpath", str(ROOT / "bench"), *GUNICORN, "minimal_webhook:app"],
                                    {"BENCH_REDIS_URL": redis_url, "BENCH_AUTH_TOKEN": AUTH_TOKEN,
                                     "BENCH_PUBLIC_URL": PUBLIC}, minimal_port, "/voice/ping"))
        _run(minimal_port, [_signed(validator, "/voice/gather", _params(sid, n, warm=True))
                            for n, sid in enumerate(_sids(args.warmup))], args.concurrency)  # warm: imports, Redis
        for database in args.database:
            # the yardstick again just before each database's runs: the machine's load changes
            minimal = [_signed(validator, "/voice/gather", _params(sid, n))
                       for n, sid in enumerate(_sids(args.requests))]
            rows.append(("minimal webhook", "-", yardstick := _run(minimal_port, minimal, args.concurrency)))
            _report(*rows[-1], None)
            url = f"sqlite:///{folder / 'ivr.db'}" if database == "sqlite" else _empty_postgres(args.postgres)
            Redis.from_url(redis_url).flushdb()
            env = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "IVR_PUBLIC_URL": PUBLIC,
                   "IVR_BIND": f"127.0.0.1:{(port := _free_port())}", "IVR_WEB_WORKERS": "2",
                   "IVR_REDIS_URL": redis_url, "IVR_DATABASE_URL": url, "IVR_CLOCK": CLOCK,
                   "IVR_SECRET_KEY": SECRET_KEY, "IVR_RECORDINGS_DIR": str(folder / "recordings"),
                   "IVR_LOG_LEVEL": "WARNING"}
            with _served([str(BIN / "ivr"), "serve", "--job-workers", str(args.job_workers)], env, port, "/healthz"):
                name = "SQLite" if database == "sqlite" else "PostgreSQL"
                warm = _sids(args.warmup)
                _run(port, [_signed(validator, "/voice/incoming", _params(sid, n, "ringing", warm=True))
                            for n, sid in enumerate(warm)], args.concurrency)
                sids = _sids(args.requests)
                incoming = [_signed(validator, "/voice/incoming", _params(sid, n, "ringing"))
                            for n, sid in enumerate(sids)]
                with _LagSampler(redis_url) as lag:
                    rows.append(("new call (/voice/incoming)", name, _run(port, incoming, args.concurrency)))
                _report(*rows[-1], yardstick)
                lag.report()
                silence = [_signed(validator, "/voice/gather", _params(sid, n)) for n, sid in enumerate(sids)]
                _check(_run(port, silence, args.concurrency), "the greeting's no-input (untimed setup)")
                press = [_signed(validator, "/voice/gather", {**_params(sid, n), "Digits": "1"})
                         for n, sid in enumerate(sids)]
                with _LagSampler(redis_url) as lag:
                    rows.append(("key press at the first menu (consent)", name, _run(port, press, args.concurrency)))
                _report(*rows[-1], yardstick)
                lag.report()
                issue = [_signed(validator, "/voice/gather", {**_params(sid, n), "Digits": "4"})
                         for n, sid in enumerate(sids)]
                with _LagSampler(redis_url) as lag:
                    rows.append(("key press at the issue menu", name, _run(port, issue, args.concurrency)))
                _report(*rows[-1], yardstick)
                lag.report()
                print(f"  records: {_counts(url)} (for {len(sids) + len(warm)} calls)", flush=True)
        print(f"load average after: {_load()}\n")
        print("| request | database | requests/s | p50 | p99 | max | errors | x the minimal run before "
              "| server CPU a request | x minimal's |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for what, database, result in rows:
            yardstick = result if what == "minimal webhook" else yardstick
            print(f"| {what} | {database} | {result.rate:,.0f} | {result.pct(0.5):.1f} ms | {result.pct(0.99):.1f} ms "
                  f"| {max(result.latencies) * 1000:.0f} ms | {result.errors} | {result.rate / yardstick.rate:.2f} "
                  f"| {result.cpu_ms:.1f} ms | {result.cpu_ms / yardstick.cpu_ms:.1f} |")
    finally:
        stack.close()
        Redis.from_url(redis_url).shutdown(nosave=True)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Result:
    latencies: list[float]
    seconds: float
    errors: int
    cpu: float  # CPU seconds the servers and Redis used meanwhile (PostgreSQL's own processes not counted)

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / len(self.latencies)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def _run(port: int, requests: list[Request], concurrency: int) -> Result:
    """Send every request once over `concurrency` keep-alive connections, spread over two client
    processes (one process's threads would be held back by its GIL), all starting together."""
    processes = min(2, concurrency)
    go = multiprocessing.Event()
    ready = multiprocessing.Queue()
    results = multiprocessing.Queue()
    per_process = [requests[i::processes] for i in range(processes)]
    threads = [concurrency // processes + (1 if i < concurrency % processes else 0) for i in range(processes)]
    workers = [multiprocessing.Process(target=_client, args=(port, part, n, go, ready, results))
               for part, n in zip(per_process, threads, strict=True)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=60)
    cpu = _server_cpu()
    go.set()
    collected = [results.get(timeout=600) for _ in workers]
    cpu = _server_cpu() - cpu
    for worker in workers:
        worker.join(10)
    started = min(c[0] for c in collected)
    ended = max(c[1] for c in collected)
    return Result([x for c in collected for x in c[2]], ended - started, sum(c[3] for c in collected), cpu)


SERVERS: set[int] = set()  # process groups of the servers under test and of Redis (not the clients)
TICKS = os.sysconf("SC_CLK_TCK")


def _server_cpu() -> float:
    """CPU seconds (user + system) used so far by every process of the servers' process groups."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) in SERVERS:
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def _client(port, requests, threads, go, ready, results) -> None:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(threads)]
    for connection in connections:
        connection.connect()
    ready.put(True)
    go.wait()
    started = time.perf_counter()

    def send(connection, mine):
        local, failed = [], 0
        for request in mine:
            began = time.perf_counter()
            try:
                connection.request("POST", request.path, request.body, request.headers)
                response = connection.getresponse()
                response.read()
                failed += response.status != 200
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
            local.append(time.perf_counter() - began)
        with lock:
            latencies.extend(local)
            errors[0] += failed

    workers = [threading.Thread(target=send, args=(connection, requests[i::threads]))
               for i, connection in enumerate(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put((started, time.perf_counter(), latencies, errors[0]))


def _sids(count: int) -> list[str]:
    return ["CA" + uuid.uuid4().hex for _ in range(count)]


def _params(sid: str, n: int, status: str = "in-progress", warm: bool = False) -> dict[str, str]:
    """What Twilio posts for call `n` (a different caller each), as the emulator builds it."""
    caller = f"+4474{(8 if warm else 0)}{n:07d}"
    params = {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": caller, "To": NUMBER, "CallStatus": status,
              "ApiVersion": "2010-04-01", "Direction": "inbound", "Caller": caller, "Called": NUMBER}
    params.update(geographic_params(caller, NUMBER))
    return params


def _signed(validator: RequestValidator, path: str, params: dict[str, str]) -> Request:
    headers = {"X-Twilio-Signature": validator.compute_signature(PUBLIC + path, params),
               "I-Twilio-Idempotency-Token": str(uuid.uuid4()), "User-Agent": "TwilioProxy/1.1",
               "Content-Type": "application/x-www-form-urlencoded", "Host": "ivr.bench.test",
               "X-Forwarded-Proto": "https"}
    return Request(path, urlencode(params).encode(), headers)


def _check(result: Result, what: str) -> None:
    if result.errors:
        raise SystemExit(f"{result.errors} errors in {what}")


def _report(what: str, database: str, result: Result, minimal: Result | None) -> None:
    ratio = f", {result.rate / minimal.rate:.2f}x minimal" if minimal else ""
    print(f"{what} [{database}]: {result.rate:,.0f}/s, p50 {result.pct(0.5):.1f} ms, p99 {result.pct(0.99):.1f} ms, "
          f"{result.errors} errors{ratio}; server CPU {result.cpu_ms:.1f} ms a request; load {_load()}", flush=True)


class _LagSampler:
    """The writer's lag (the age of the oldest record not yet written) every 50 ms while a case
    runs, and how long the writer takes to catch up after it."""

    def __init__(self, redis_url: str):
        self.redis = Redis.from_url(redis_url, decode_responses=True)
        self.samples: list[float] = []
        self.stop = threading.Event()

    def __enter__(self):
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while writer is not None and not self.stop.wait(0.05):
            self.samples.append(writer.lag(self.redis).seconds)

    def __exit__(self, *_):
        ended = time.monotonic()
        while writer is not None and writer.lag(self.redis).pending and time.monotonic() < ended + 120:
            time.sleep(0.05)
        self.caught_up = time.monotonic() - ended
        self.stop.set()
        self.thread.join()

    def report(self) -> None:
        if writer is None:
            return  # the code under test writes its records synchronously: no writer to wait for
        ordered = sorted(self.samples) or [0.0]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(f"  writer lag: p50 {ordered[len(ordered) // 2]:.2f} s, p99 {p99:.2f} s, max {ordered[-1]:.2f} s "
              f"({len(self.samples)} samples); caught up {self.caught_up:.2f} s after the last request", flush=True)


def _counts(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as db:
        counts = {name: db.scalar(select(func.count()).select_from(model))
                  for name, model in (("calls", Call), ("tickets", Ticket), ("consents", Consent),
                                      ("timeline events", CallEvent))}
    engine.dispose()
    return ", ".join(f"{n} {name}" for name, n in counts.items())


def _empty_postgres(url: str) -> str:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as db:
        db.execute(text("DROP SCHEMA public CASCADE"))
        db.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


class _served:
    """A server process in its own process group, ready when `probe` answers; stopped on exit."""

    def __init__(self, command: list[str], env: dict, port: int, probe: str):
        self.command, self.env, self.port, self.probe = command, {**os.environ, **env}, port, probe

    def __enter__(self):
        self.process = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True, start_new_session=True)
        SERVERS.add(self.process.pid)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET" if self.probe == "/healthz" else "POST", self.probe)
                connection.getresponse().read()
                return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise SystemExit(f"{self.command[:3]} did not start: {self.process.stderr.read()[-2000:]}")

    def __exit__(self, *_):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def _redis(folder: Path) -> str:
    sock = folder / "redis.sock"
    redis = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", "0", "--unixsocket", str(sock),
                      "--save", "", "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL,
                     start_new_session=True)
    SERVERS.add(redis.pid)
    url = f"unix://{sock}"
    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            return url
        except Exception:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per case (distinct calls)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests first (other calls)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), action="append",
                        help="repeat for both (default: both)")
    parser.add_argument("--job-workers", type=int, default=2, help="`ivr serve --job-workers` (idle here)")
    parser.add_argument("--postgres", default=os.environ.get("IVR_BENCH_DATABASE_URL", POSTGRES))
    args = parser.parse_args()
    args.database = args.database or ["sqlite", "postgresql"]
    return args


if __name__ == "__main__":
    main()
