"""The QA pages with 100,000 calls and 10,000 recordings in the database: server time of the Calls
page (with each kind of filter, "has recording" among them), of the Call page (with and without a
recording: player and transcript) and of the player's audio (a byte range), p50 and p95, on SQLite
or PostgreSQL.

The calls are written straight into the tables the service writes (tickets, calls, their timelines
and consents, some scorecards, recordings with two transcripts of word timings each), shaped like
the calls the emulator makes: five regions over 90 days, about 12 timeline events each, one in
twenty on a security ticket, one in ten scored, 10,000 of the recorded ones with a stored recording
(every row pointing at one real Ogg file in the local store). Then
the app (built by the factory, a private redis-server, the migrated database) answers signed-in
requests through Flask's test client: the time measured is the whole request inside the app
(session check in Redis, the query, the audit entry it writes, rendering), without a network.

    .venv/bin/python bench/qa_pages.py [--calls 100000] [--recordings 10000] [--requests 200]
    IVR_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/ivr_bench .venv/bin/python bench/qa_pages.py

(PostgreSQL: an empty database of its own; the bench creates the tables and fills them.)
"""
from __future__ import annotations

import argparse
import hashlib
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
from ivr.db.models import Call, CallEvent, Consent, QaScore, Recording, Ticket, Transcript  # noqa: E402
from ivr.qa import admin  # noqa: E402
from ivr.qa.admin import OPERATOR  # noqa: E402
from ivr.recordings.storage import LocalStore  # noqa: E402
from ivr.settings import Settings  # noqa: E402

REGIONS = {"us": ("+14155550100", "+1415555", "en"), "gb": ("+442079460100", "+4477009", "en"),
           "sg": ("+6565550100", "+658123", "en"), "hk": ("+85235550100", "+852912", "yue"),
           "kr": ("+8225550100", "+8210123", "ko")}
ISSUES = ("kyc", "withdrawal", "deposit", "cannot_login", "two_factor", "trading", "api_keys", "account_security")
NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
PASSWORD = "bench password 0123456789"
CHUNK = 5000
AUDIO_KEY = "gb/2026-11-24/bench/RE00000000000000000000000000000000.ogg"  # every bench recording's file
SAID = ("i", "cannot", "log", "in", "to", "my", "account", "since", "yesterday", "the", "code", "does", "not",
        "arrive", "please", "help", "me", "with", "the", "withdrawal")


def main() -> None:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="ivr-bench-qa-") as folder:
        redis, redis_url = _redis(Path(folder))
        try:
            database_url = os.environ.get("IVR_BENCH_DATABASE_URL") or f"sqlite:///{folder}/bench.db"
            upgrade(database_url)
            started = time.monotonic()
            audio = _audio(Path(folder))
            _fill(database_url, args.calls, args.recordings, audio)
            print(f"database: {_label(database_url)}; {args.calls:,} calls and {args.recordings:,} recordings "
                  f"written in {time.monotonic() - started:.0f} s", flush=True)
            _measure(args, database_url, redis_url, Path(folder))
        finally:
            redis.terminate()
            redis.wait(10)


def _audio(folder: Path) -> tuple[str, int]:
    """One real recording in the local store (two minutes of stereo Ogg Opus): its hash and size."""
    source = folder / "bench.ogg"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=120",
                    "-f", "lavfi", "-i", "sine=frequency=660:duration=120", "-filter_complex", "amerge=inputs=2",
                    "-ar", "8000", "-c:a", "libopus", "-b:a", "24k", str(source)], check=True)
    LocalStore(folder / "recordings").put(AUDIO_KEY, source, "audio/ogg")
    data = source.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


def _recording(call: dict, number: int, audio: tuple[str, int], rng) -> tuple[dict, list[dict]]:
    """A stored recording of the call and its two transcripts (40 words a channel, with timings)."""
    row = {"id": number, "recording_sid": f"RE{call['id']:032x}", "call_id": call["id"], "ticket_id": call["ticket_id"],
           "region": call["region"], "language": call["language"], "channels": 2, "duration_seconds": 110,
           "status": "stored", "attempts": 1, "storage": "local", "storage_key": AUDIO_KEY, "format": "ogg/opus",
           "stored_sha256": audio[0], "stored_bytes": audio[1], "redactions": [], "redaction": "done",
           "created_at": call["started_at"], "stored_at": call["started_at"] + timedelta(seconds=130)}
    transcripts = []
    for channel in (1, 2):
        at, words = channel * 1.5, []
        for _ in range(40):
            words.append([rng.choice(SAID), round(at, 2), round(at + 0.3, 2)])
            at += rng.uniform(0.35, 2.5)
        transcripts.append({"recording_id": number, "channel": channel, "language": call["language"],
                            "status": "done", "text": " ".join(w[0] for w in words), "words": words,
                            "created_at": call["started_at"]})
    return row, transcripts


def _fill(database_url: str, count: int, recorded: int, audio: tuple[str, int]) -> None:
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
    recordings, transcripts = [], []
    eligible = [call for call in calls if call["consent"] in ("given", "notice")]
    for number, call in enumerate(sorted(rng.sample(eligible, min(recorded, len(eligible))),
                                         key=lambda c: c["id"]), 1):
        row, texts = _recording(call, number, audio, rng)
        recordings.append(row)
        transcripts.extend(texts)
    with engine.begin() as db:
        for model, rows in ((Ticket, tickets), (Call, calls), (CallEvent, events), (Consent, consents),
                            (QaScore, scores), (Recording, recordings), (Transcript, transcripts)):
            for start in range(0, len(rows), CHUNK):
                db.execute(insert(model), rows[start:start + CHUNK])
        if engine.dialect.name == "postgresql":
            for table in ("tickets", "calls", "call_events", "consents", "qa_scores", "recordings", "transcripts"):
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
        recorded = [r for (r,) in db.execute(select(Recording.call_id))]
        recording_ids = [r for (r,) in db.execute(select(Recording.id))]
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
        "calls: has recording": lambda: "/qa/calls?recording=yes",
        "calls: has recording (qa, 2 regions)": ("reviewer", lambda: "/qa/calls?recording=yes"),
        "calls: has recording, one region, 7 days":
            lambda: f"/qa/calls?recording=yes&region={rng.choice(list(REGIONS))}&from=2026-11-10&to=2026-11-16",
        "calls: no recording": lambda: "/qa/calls?recording=no",
        "calls: has recording, page 20": lambda: f"/qa/calls?recording=yes&page={rng.randrange(15, 25)}",
        "call page (timeline, drawing, scorecard)": lambda: f"/qa/calls/{rng.randrange(1, count + 1)}",
        "call page with a recording (player, transcript)": lambda: f"/qa/calls/{rng.choice(recorded)}",
        "recording audio: a 64 KiB range (206)": lambda: f"/qa/recordings/{rng.choice(recording_ids)}/audio",
    }
    audio_size = LocalStore(folder / "recordings").size(AUDIO_KEY)

    def headers(target: str) -> dict:
        """A player's request for the audio: a byte range somewhere in the file."""
        if not target.endswith("/audio"):
            return {}
        start = rng.randrange(0, audio_size - 65536)
        return {"Range": f"bytes={start}-{start + 65535}"}

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
            asked = headers(target)
            began = time.perf_counter()
            answer = client.get(target, headers=asked)
            times.append((time.perf_counter() - began) * 1000)
            assert answer.status_code == (206 if asked else 200), (target, answer.status_code)
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
    parser.add_argument("--recordings", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    return parser.parse_args()


if __name__ == "__main__":
    main()
