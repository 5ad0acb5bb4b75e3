"""The QA pages with 100,000 calls in the database: server time of the Calls page (with each kind of
filter) and of the Call page, p50 and p95, on SQLite or PostgreSQL.

The calls are written straight into the tables the service writes (tickets, calls, their timelines
and consents, some scorecards), shaped like the calls the emulator makes: five regions over 90
days, about 12 timeline events each, one in twenty on a security ticket, one in ten scored. Then
the app (built by the factory, a private redis-server, the migrated database) answers signed-in
requests through Flask's test client: the time measured is the whole request inside the app
(session check in Redis, the query, the audit entry it writes, rendering), without a network.

    .venv/bin/python bench/qa_pages.py [--calls 100000] [--requests 200]
    IVR_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/ivr_bench .venv/bin/python bench/qa_pages.py

(PostgreSQL: an empty database of its own; the bench creates the tables and fills them.)
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from ivr import create_app  # noqa: E402
from ivr.clock import FixedClock  # noqa: E402
from ivr.db.database import make_engine, upgrade  # noqa: E402
from ivr.db.models import Call, CallEvent, Consent, QaScore, Ticket  # noqa: E402
from ivr.qa import admin  # noqa: E402
from ivr.qa.admin import OPERATOR  # noqa: E402
from ivr.settings import Settings  # noqa: E402

REGIONS = {"us": ("+14155550100", "+1415555", "en"), "gb": ("+442079460100", "+4477009", "en"),
           "sg": ("+6565550100", "+658123", "en"), "hk": ("+85235550100", "+852912", "yue"),
           "kr": ("+8225550100", "+8210123", "ko")}
ISSUES = ("kyc", "withdrawal", "deposit", "cannot_login", "two_factor", "trading", "api_keys", "account_security")
NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
PASSWORD = "bench password 0123456789"
CHUNK = 5000


def main() -> None:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="ivr-bench-qa-") as folder:
        redis, redis_url = _redis(Path(folder))
        try:
            database_url = os.environ.get("IVR_BENCH_DATABASE_URL") or f"sqlite:///{folder}/bench.db"
            upgrade(database_url)
            started = time.monotonic()
            _fill(database_url, args.calls)
            print(f"database: {_label(database_url)}; {args.calls:,} calls written in "
                  f"{time.monotonic() - started:.0f} s", flush=True)
            _measure(args, database_url, redis_url, Path(folder))
        finally:
            redis.terminate()
            redis.wait(10)


def _fill(database_url: str, count: int) -> None:
    engine = make_engine(database_url)
    rng = random.Random(12)
    tickets, calls, events, consents, scores = [], [], [], [], []
    regions = list(REGIONS)
    ticket_id = 0
    for call_id in range(1, count + 1):
        region = regions[call_id % len(regions)]
        to, prefix, language = REGIONS[region]
        started = NOW - timedelta(seconds=rng.randrange(90 * 86400))
        security = rng.random() < 0.05
        if call_id % 10 != 0 or not tickets:  # one call in ten rejoins an earlier ticket of its region
            ticket_id += 1
            tickets.append({"id": ticket_id, "reference": f"{1000000 + ticket_id}", "region": region,
                            "caller_number": f"{prefix}{call_id:05d}"[:13], "caller_country": region.upper()[:2],
                            "status": "security" if security else "self_service",
                            "category": "account_takeover" if security else rng.choice(ISSUES),
                            "priority": "P1" if security else "P3", "language": language, "created_at": started,
                            "updated_at": started})
            ticket = ticket_id
        else:
            ticket = rng.randrange(max(1, ticket_id - 500), ticket_id + 1)
        consent = None if security else rng.choice(("given", "given", "declined", "notice"))
        calls.append({"id": call_id, "call_sid": f"CA{call_id:032x}", "ticket_id": ticket, "region": region,
                      "from_number": f"{prefix}{call_id:05d}"[:13], "to_number": to, "direction": "inbound",
                      "caller_country": region.upper()[:2], "caller_withheld": False, "language": language,
                      "flow_version": "bench", "status": "completed", "consent": consent,
                      "recording_started_at": started if consent in ("given", "notice") else None,
                      "started_at": started, "ended_at": started + timedelta(seconds=120), "duration_seconds": 120})
        events.extend(_timeline(call_id, region, started, consent, security, rng))
        if consent:
            consents.append({"call_id": call_id, "ticket_id": ticket, "region": region, "policy": "all-party",
                             "outcome": consent, "method": "dtmf", "language": language,
                             "prompt_keys": "consent_request", "prompt_version": "bench", "at": started})
        if call_id % 10 == 3:
            scores.append({"call_id": call_id, "ticket_id": ticket, "region": region, "agent": "Olivia Brown",
                           "reviewer": "bench", "rubric": "default@bench", "items": {}, "points": 12,
                           "max_points": 16, "comment": "", "created_at": NOW, "updated_at": NOW})
    with engine.begin() as db:
        for model, rows in ((Ticket, tickets), (Call, calls), (CallEvent, events), (Consent, consents),
                            (QaScore, scores)):
            for start in range(0, len(rows), CHUNK):
                db.execute(insert(model), rows[start:start + CHUNK])
        if engine.dialect.name == "postgresql":
            for table in ("tickets", "calls", "call_events", "consents", "qa_scores"):
                db.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT max(id) FROM {table}))")
            db.exec_driver_sql("ANALYZE")
    engine.dispose()


def _timeline(call_id: int, region: str, started: datetime, consent: str | None, security: bool, rng) -> list[dict]:
    """About a dozen events, as a real call of that kind leaves them."""
    at = started
    path = ["greeting", "fraud_warning", "consent", "check_hours", "ticket_number", "callback_check", "describe",
            "issue_menu", "answer_kyc", "after_answer", "self_served", "goodbye"]
    rows = [("answered", {"to": REGIONS[region][0], "caller_country": region.upper(), "withheld": False}),
            ("ticket_opened", {"reference": f"{1000000 + call_id}"}),
            ("region", {"region": region, "flow_version": "bench"}),
            ("hours", {"state": "open", "holiday": None, "local_time": started.isoformat(timespec="minutes")})]
    if security:
        path = ["greeting", "security", "security_connecting", "security_transfer", "security_goodbye"]
        rows += [("urgent", {"trigger": "keypad", "from_step": "greeting"}),
                 ("ticket_updated", {"status": "security", "priority": "P1"}),
                 ("transfer_ringing", {"attempt": 1, "agent": "Emma Clarke", "team": "security-europe"}),
                 ("transfer_attempt", {"attempt": 1, "agent": "emma", "outcome": "accepted"})]
    else:
        rows += [(f"consent_{consent}", {"method": "dtmf", "policy": "all-party", "language": "en"}),
                 ("route", {"step": "check_hours", "branch": "default", "next": "ticket_number"}),
                 ("menu", {"step": "issue_menu", "key": "4", "set": {"issue": rng.choice(ISSUES)}}),
                 ("no_input", {"step": "after_answer", "attempt": 1}),
                 ("ticket_updated", {"status": "self_service", "category": "kyc"})]
        if consent in ("given", "notice"):
            rows.insert(5, ("recording_started", {}))
            rows.append(("recording_completed", {"recording_sid": f"RE{call_id:032x}", "duration": "110"}))
    rows.append(("end", {"status": "flow_hangup", "step": path[-1], "path": path}))
    events = []
    for kind, detail in rows:
        at += timedelta(seconds=rng.randrange(1, 15))
        events.append({"call_id": call_id, "at": at, "kind": kind, "detail": detail})
    return events


def _measure(args, database_url: str, redis_url: str, folder: Path) -> None:
    settings = Settings(twilio_account_sid="AC" + "b" * 32, twilio_auth_token="bench-token",
                        public_url="http://127.0.0.1:8000", redis_url=redis_url, database_url=database_url,
                        flows_dir=ROOT / "flows", recordings_dir=folder / "recordings",
                        secret_key="bench-secret-key-0123456789-0123456789", session_cookie_secure=False)
    app = create_app(settings, clock=FixedClock(NOW))
    rt = app.extensions["ivr"]
    admin.add_user(rt, OPERATOR, "boss", "admin", "*", PASSWORD)
    admin.add_user(rt, OPERATOR, "reviewer", "qa", "gb,us", PASSWORD)
    with rt.sessions() as db:
        count = db.scalar(select(func.count(Call.id)))
        callers = [r for (r,) in db.execute(select(Call.from_number).limit(200))]
        references = [r for (r,) in db.execute(select(Ticket.reference).limit(200))]
    rng = random.Random(7)
    cases = {
        "calls: newest (admin, every region)": lambda: "/qa/calls",
        "calls: newest (qa, 2 regions, no security)": ("reviewer", lambda: "/qa/calls"),
        "calls: region + 7 days": lambda: f"/qa/calls?region={rng.choice(list(REGIONS))}&from=2026-11-10&to=2026-11-16",
        "calls: issue (intent)": lambda: f"/qa/calls?intent={rng.choice(ISSUES)}",
        "calls: caller number": lambda: f"/qa/calls?caller={rng.choice(callers).replace('+', '%2B')}",
        "calls: ticket number": lambda: f"/qa/calls?ticket={rng.choice(references)}",
        "calls: consent declined, not scored": lambda: "/qa/calls?consent=declined&scored=no",
        "calls: scored": lambda: "/qa/calls?scored=yes",
        "calls: security": lambda: "/qa/calls?security=yes",
        "calls: page 100": lambda: f"/qa/calls?page={rng.randrange(90, 110)}",
        "call page (timeline, drawing, scorecard)": lambda: f"/qa/calls/{rng.randrange(1, count + 1)}",
    }
    clients = {name: _signed_in(app, name) for name in ("boss", "reviewer")}
    print(f"{args.requests} requests per case; server time inside the app (ms)\n")
    print("| page | p50 | p95 | max |")
    print("|---|---|---|---|")
    for label, case in cases.items():
        who, path = case if isinstance(case, tuple) else ("boss", case)
        client = clients[who]
        client.get(path())  # warm (the flow's drawing is made once per region and flow version)
        times = []
        for _ in range(args.requests):
            target = path()
            began = time.perf_counter()
            answer = client.get(target)
            times.append((time.perf_counter() - began) * 1000)
            assert answer.status_code == 200, (target, answer.status_code)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"| {label} | {statistics.median(times):.1f} | {p95:.1f} | {times[-1]:.1f} |", flush=True)


def _signed_in(app, name: str):
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/qa/sign-in").text).group(1)
    answer = client.post("/qa/sign-in", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303, answer.text
    return client


def _redis(folder: Path) -> tuple[subprocess.Popen, str]:
    socket = folder / "redis.sock"
    process = subprocess.Popen([shutil.which("redis-server"), "--port", "0", "--unixsocket", str(socket),
                                "--save", "", "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    url = f"unix://{socket}"
    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            return process, url
        except Exception:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def _label(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    return parser.parse_args()


if __name__ == "__main__":
    main()
