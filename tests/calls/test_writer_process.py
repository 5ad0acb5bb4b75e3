"""`ivr writer` as a real process (issue 15, nothing lost): SIGKILLed in the middle of a batch,
its batch is claimed by another writer and committed once; a writer stopped with SIGTERM exits
cleanly; every call the webhooks answered is in SQL once, with its ticket and timeline."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from sqlalchemy import func, select

from ivr.calls import writer
from ivr.calls.behind import STREAM
from ivr.db.models import Call, CallEvent, Ticket
from tests.calls.test_incoming_retries import until, writes_blocked
from tests.conftest import real_time_env, service_env
from tests.webhooks import signed_post

GB = "+442079460100"


def answer_calls(app, sids: list[str]) -> None:
    client = app.test_client()
    for n, sid in enumerate(sids):
        response = signed_post(client, "/voice/incoming",
                               {"CallSid": sid, "From": f"+44770090{n:04d}", "To": GB, "CallStatus": "ringing"})
        assert response.status_code == 200 and b"<Gather" in response.data


def start_writer(settings) -> subprocess.Popen:
    env = {**service_env(settings), **{k: v for k, v in real_time_env().items() if k.startswith("PATH")}}
    return subprocess.Popen([sys.executable, "-m", "ivr.cli", "writer"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def consumers(rt) -> dict[str, int]:
    if not rt.redis.exists(STREAM):
        return {}
    try:
        return {c["name"]: c["pending"] for c in rt.redis.xinfo_consumers(STREAM, writer.GROUP)}
    except Exception:
        return {}


def written(raw_sessions, sids: list[str]) -> tuple[int, int, int]:
    with raw_sessions() as db:
        calls = db.scalar(select(func.count()).select_from(Call).where(Call.call_sid.in_(sids)))
        tickets = db.scalar(select(func.count()).select_from(Ticket))
        events = db.scalar(select(func.count()).select_from(CallEvent))
    return calls, tickets, events


def test_a_writer_killed_mid_batch_has_its_batch_written_once_by_another(app, settings, raw_sessions):
    rt = app.extensions["ivr"]
    first = start_writer(settings)
    try:
        until(lambda: len(consumers(rt)) == 1, 60)  # it reads the stream
        [name] = consumers(rt)
        sids = [f"CA{n:032x}" for n in range(1, 7)]
        with writes_blocked(raw_sessions):
            answer_calls(app, sids)  # answered from Redis while the database takes no writes
            until(lambda: consumers(rt).get(name, 0) >= 1)  # its batch (what had come), stuck in the commit
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        assert written(raw_sessions, sids)[0] == 0
        assert rt.redis.xlen(STREAM) == len(sids)  # nothing acknowledged, nothing lost
        assert consumers(rt)[name] >= 1  # still the dead writer's
        # another writer claims the dead one's entries (idle 0 ms here: the test does not wait 30 s)
        assert writer.drain(rt, consumer="survivor", claim_idle_ms=0) == len(sids)
        calls, tickets, events = written(raw_sessions, sids)
        assert (calls, tickets) == (len(sids), len(sids))
        assert rt.redis.xlen(STREAM) == 0 and consumers(rt)[name] == 0
        # written once: the same batch again writes nothing
        with raw_sessions() as db:
            per_call = db.execute(select(Call.call_sid, func.count(CallEvent.id)).join(CallEvent)
                                  .group_by(Call.call_sid)).all()
        assert len(per_call) == len(sids) and len({n for _, n in per_call}) == 1, per_call
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(30)


def test_a_running_writer_writes_as_calls_come_and_stops_on_sigterm(app, settings, raw_sessions):
    rt = app.extensions["ivr"]
    process = start_writer(settings)
    try:
        sids = [f"CA{n:032x}" for n in range(100, 104)]
        answer_calls(app, sids)
        until(lambda: written(raw_sessions, sids)[0] == len(sids), 60)
        assert rt.redis.xlen(STREAM) == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, process.stderr.read()[-2000:]
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(30)
