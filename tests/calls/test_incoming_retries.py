"""Twilio's retries of /voice/incoming (issue 13, defect 1): a retry arriving while the first
attempt is still running, or after a first attempt that died mid-way, gets the first answer (or a
safe "come back") and never a second call row, the apology or an ended call."""
from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager

from redis import Redis
from sqlalchemy import func, select, text

from ivr.calls.store import ANSWER_KEY, STATE_KEY
from ivr.core.state import CallState
from ivr.db.models import Call
from tests.webhooks import signed_post

GB, CALLER = "+442079460100", "+447700900123"


def incoming(sid: str) -> dict:
    return {"CallSid": sid, "From": CALLER, "To": GB, "CallStatus": "ringing"}


@contextmanager
def writes_blocked(sessions):
    """Another transaction holds the database's write lock (SQLite) or the tickets table
    (PostgreSQL): a webhook that writes waits until it lets go, as behind a slow disk or a lock."""
    url = sessions.kw["bind"].url
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    with sessions() as db:
        db.execute(text("LOCK TABLE tickets IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            db.rollback()


def until(condition, seconds: float = 20.0) -> None:
    give_up = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < give_up, "gave up waiting"
        time.sleep(0.02)


def call_rows(sessions, sid: str) -> list[Call]:
    with sessions() as db:
        rows = db.scalars(select(Call).where(Call.call_sid == sid)).all()
        for row in rows:
            _ = row.events
        return rows


def assert_one_live_call(app, sessions, sid: str) -> Call:
    [row] = call_rows(sessions, sid)
    kinds = [event.kind for event in row.events]
    assert "webhook_error" not in kinds and row.ended_at is None, kinds
    raw = Redis.from_url(app.extensions["ivr"].settings.redis_url).get(STATE_KEY.format(sid=sid))
    assert raw is not None and not CallState.from_json(raw).ended
    return row


def test_a_retry_while_the_first_attempt_still_runs_gets_the_same_answer(app, sessions):
    sid = "CA" + "b1" * 16
    client = app.test_client()
    redis = Redis.from_url(app.extensions["ivr"].settings.redis_url)
    answers: dict[str, object] = {}

    def post(name: str) -> None:
        answers[name] = signed_post(app.test_client(), "/voice/incoming", incoming(sid), token="same-token")

    first, retry = threading.Thread(target=post, args=("first",)), threading.Thread(target=post, args=("retry",))
    with writes_blocked(sessions):
        first.start()
        until(lambda: redis.exists(ANSWER_KEY.format(sid=sid)))  # the first attempt has the call, and waits
        retry.start()
    first.join(30)
    retry.join(30)
    a, b = answers["first"], answers["retry"]
    assert a.status_code == b.status_code == 200 and b"<Say" in a.data
    if b"<Redirect" in b.data:  # the retry gave up waiting: Twilio comes back and gets the first answer
        assert b"/voice/incoming" in b.data and b"<Hangup" not in b.data
        b = signed_post(client, "/voice/incoming", incoming(sid), token="redirected")
    assert b.data == a.data
    assert_one_live_call(app, sessions, sid)
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Call)) == 1


def test_two_identical_posts_at_once_make_one_call(app, sessions):
    sid = "CA" + "b2" * 16
    barrier, answers = threading.Barrier(2), []

    def post() -> None:
        client = app.test_client()
        barrier.wait()
        answers.append(signed_post(client, "/voice/incoming", incoming(sid), token="twice"))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [a.status_code for a in answers] == [200, 200]
    bodies = {a.data for a in answers}
    assert all(b"<Hangup" not in body for body in bodies)
    assert_one_live_call(app, sessions, sid)


def test_a_retry_after_a_first_attempt_that_died_mid_way_answers_on_the_same_call_row(app, sessions):
    """The first attempt committed its call row, then its process died before saving the live state
    (and its claim lapsed): Twilio's retry answers the call on that row instead of failing on it."""
    sid = "CA" + "b3" * 16
    client = app.test_client()
    first = signed_post(client, "/voice/incoming", incoming(sid), token="first")
    redis = Redis.from_url(app.extensions["ivr"].settings.redis_url)
    redis.delete(STATE_KEY.format(sid=sid), ANSWER_KEY.format(sid=sid))  # what the dead process left behind
    retry = signed_post(client, "/voice/incoming", incoming(sid), token="retry")
    assert retry.status_code == 200 and b"<Hangup" not in retry.data and b"<Say" in retry.data
    assert retry.data.split(b"<Gather")[0] == first.data.split(b"<Gather")[0]  # the same greeting
    row = assert_one_live_call(app, sessions, sid)
    kinds = [event.kind for event in row.events]
    assert kinds.count("answered") == 1 and kinds.count("answer_retried") == 1


def test_a_finished_call_is_not_reopened_by_a_late_incoming(app, sessions):
    sid = "CA" + "b4" * 16
    client = app.test_client()
    signed_post(client, "/voice/incoming", incoming(sid), token="one")
    assert signed_post(client, "/voice/status", {"CallSid": sid, "CallStatus": "completed", "CallDuration": "9"},
                       token="st").status_code == 204
    Redis.from_url(app.extensions["ivr"].settings.redis_url).delete(ANSWER_KEY.format(sid=sid))
    late = signed_post(client, "/voice/incoming", incoming(sid), token="late")
    assert late.status_code == 200 and b"<Hangup" in late.data and b"sorry" not in late.data.lower()
    [row] = call_rows(sessions, sid)
    assert row.ended_at is not None and row.status == "completed"
