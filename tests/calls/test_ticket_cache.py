"""Tickets as the webhooks see them (issue 15, item 5): the caller's open ticket found in Redis,
rebuilt from SQL when Redis has lost it; references drawn without SQL, unique across instances and
never one SQL already holds."""
from __future__ import annotations

from datetime import timedelta

from redis import Redis
from sqlalchemy import select

from ivr.calls import ticket_cache
from ivr.db.models import Call, Ticket
from tests.conftest import drain_records
from tests.webhooks import signed_post

GB, CALLER = "+442079460100", "+447700900123"


def incoming(app, sid: str, caller: str = CALLER) -> None:
    response = signed_post(app.test_client(), "/voice/incoming",
                           {"CallSid": sid, "From": caller, "To": GB, "CallStatus": "ringing"})
    assert response.status_code == 200 and b"<Gather" in response.data, response.data


def test_a_caller_redis_has_forgotten_joins_their_open_ticket_rebuilt_from_sql(app, settings, raw_sessions):
    incoming(app, "CA" + "c1" * 16)
    drain_records(app)
    Redis.from_url(settings.redis_url).flushdb()  # Redis restarted without its data
    incoming(app, "CA" + "c2" * 16)
    drain_records(app)
    with raw_sessions() as db:
        [ticket] = db.scalars(select(Ticket)).all()
        assert [c.ticket_id for c in db.scalars(select(Call)).all()] == [ticket.id, ticket.id]


def test_a_ticket_older_than_a_day_is_not_joined(app, clock, raw_sessions):
    incoming(app, "CA" + "c3" * 16)
    clock.set_moment(clock() + timedelta(hours=25))
    incoming(app, "CA" + "c4" * 16)
    drain_records(app)
    with raw_sessions() as db:
        assert len(db.scalars(select(Ticket)).all()) == 2


def test_a_reference_sql_holds_is_never_drawn_again_after_redis_lost_the_set(app, settings, raw_sessions, monkeypatch):
    rt = app.extensions["ivr"]
    incoming(app, "CA" + "c5" * 16)
    drain_records(app)
    with raw_sessions() as db:
        taken = db.scalars(select(Ticket.reference)).one()
    Redis.from_url(settings.redis_url).flushdb()
    draws = iter([taken, "7654321"])
    monkeypatch.setattr(ticket_cache, "new_reference", lambda: next(draws))
    assert ticket_cache.draw_reference(rt) == "7654321"


def test_two_instances_drawing_the_same_reference_get_different_ones(app, monkeypatch):
    rt = app.extensions["ivr"]
    draws = iter(["2000001", "2000001", "2000002"])
    monkeypatch.setattr(ticket_cache, "new_reference", lambda: next(draws))
    assert ticket_cache.draw_reference(rt) == "2000001"
    assert ticket_cache.draw_reference(rt) == "2000002"  # SADD: the second to ask for 2000001 lost it


def test_a_new_call_reads_no_ticket_from_sql_once_redis_knows_the_caller(app, raw_sessions):
    rt = app.extensions["ivr"]
    incoming(app, "CA" + "c6" * 16)
    queries = []
    from sqlalchemy import event
    engine = rt.sessions.kw["bind"]

    def seen(_conn, _cursor, statement, *_):
        queries.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        incoming(app, "CA" + "c7" * 16)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert not [q for q in queries if "tickets" in q], queries
    assert not [q for q in queries if q.lstrip().upper().startswith(("INSERT", "UPDATE"))], queries
