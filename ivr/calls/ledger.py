"""One webhook's records of one call, written behind.

The webhook works on copies of the call's row and its ticket's (kept in Redis, `ivr:callrec:{sid}`
and ivr/calls/ticket_cache.py, rebuilt from SQL when Redis has lost them), adds timeline events
and consents to the ledger as it would to a session (`add`), and `commit` hands them all to the
writer as one stream entry (ivr/calls/behind.py) together with the new live copies and the call's
state, atomically. Nothing is committed to SQL on the way, except:

- a capability that needs the database in the webhook (a call back, a freeze request, a page:
  rows that refer to the call and its ticket) asks `sql()`: the call and ticket rows are written
  first, in that session, and everything of the webhook is committed there with them;
- a consent: the decision is committed to SQL before the reply that starts the recording
  (docs/architecture.md says why);
- a full stream (the writer is down or far behind): the records are committed synchronously.
"""
from __future__ import annotations

import json
import logging

from sqlalchemy.orm import Session

from ivr.calls import ids, ticket_cache
from ivr.calls.behind import apply, encode, hand_over, record, row
from ivr.calls.records import find_call
from ivr.calls.store import STATE_KEY
from ivr.core.state import CallState
from ivr.db.models import Call, CallEvent, Consent, Ticket

log = logging.getLogger(__name__)

CALL_KEY = "ivr:callrec:{sid}"
RECORD_TTL = ticket_cache.RECORD_TTL  # recording callbacks come after the call ends


class CallLedger:
    def __init__(self, rt, call: Call | None = None, rev: int = 0):
        self.rt, self.call, self.rev = rt, call, rev
        self.new: list = []  # events and consents of this webhook
        self._db: Session | None = None

    # -- what records.note and records.record_outcome call, as on a session -------------------------
    def add(self, obj) -> None:
        if isinstance(obj, Call):  # a call answered now (records.start_call): its id from Redis
            ids.assign(self.rt.redis, self.rt.sessions, [obj])
            self.call = obj
            self.set_ticket(obj.ticket)
            return
        if isinstance(obj, (CallEvent, Consent)) and obj.call_id is None:
            obj.call_id = self.call.id
        self.new.append(obj)

    def set_ticket(self, ticket: Ticket | None) -> None:
        self.call.ticket = ticket
        self.call.ticket_id = ticket.id if ticket is not None else None

    # -- the database, when a capability needs it in the webhook ------------------------------------
    def sql(self) -> Session:
        """A session in which the call's and its ticket's rows exist (written now if the writer has
        not yet); committed with the rest of the webhook's records by `commit`."""
        if self._db is None:
            self._db = self.rt.sessions()
            apply(self._db, [self._rows(with_new=False)])
        return self._db

    def _rows(self, with_new: bool = True) -> dict[str, list[dict]]:
        self.call.rev = self.rev + 1
        ticket = self.call.ticket
        if ticket is not None:
            self.call.ticket_id = ticket.id
        news = self.new if with_new else []
        return {"tickets": [row(ticket)] if ticket is not None else [], "calls": [row(self.call)],
                "call_events": [row(o) for o in news if isinstance(o, CallEvent)],
                "consents": [row(o) for o in news if isinstance(o, Consent)]}

    def commit(self, state: CallState | None = None) -> str:
        """Hand the webhook's records over (or write them now, see the module), keep the live copies
        and save the call's `state`, in one step. Returns how: "behind" or "written"."""
        ids.assign(self.rt.redis, self.rt.sessions, self.new)
        rows = self._rows()
        commands = [["set", CALL_KEY.format(sid=self.call.call_sid), json.dumps(rows["calls"][0]), RECORD_TTL]]
        if self.call.ticket is not None:
            commands += ticket_cache.keep(self.call.ticket)
        if state is not None:
            commands.append(["set", STATE_KEY.format(sid=state.call_sid), state.to_json(),
                             self.rt.settings.call_state_ttl])
        durable = self._db is not None or bool(rows["consents"])
        if not durable and hand_over(self.rt.redis, encode(rows), self.rt.settings.writer_stream_cap, commands):
            return "behind"
        if not durable:
            log.warning("call %s: the records stream is full (is `ivr writer` running?); writing synchronously",
                        self.call.call_sid)
        self.close(commit_rows=rows)
        hand_over(self.rt.redis, None, 0, commands)
        return "written"

    def close(self, commit_rows: dict | None = None) -> None:
        """Commit (the rows given) or roll back the session `sql()` opened, if any."""
        db, self._db = self._db, None
        if commit_rows is not None:
            db = db or self.rt.sessions()
            try:
                apply(db, [commit_rows])
                db.commit()
            finally:
                db.close()
        elif db is not None:
            db.rollback()
            db.close()


def open_call(rt, call_sid: str, from_sql: bool = True) -> CallLedger | None:
    """The ledger of a call we know: its copies from Redis, or (`from_sql`) from SQL when Redis has
    lost them or the call was recorded another way (a call back waiting in a queue)."""
    raw = rt.redis.get(CALL_KEY.format(sid=call_sid))
    if raw is not None:
        call = record(Call, json.loads(raw))
        ticket = ticket_cache.load(rt, call.ticket_id) if call.ticket_id is not None else None
    elif not from_sql:
        return None
    else:
        with rt.sessions() as db:
            found = find_call(db, call_sid)
            if found is None:
                return None
            call = record(Call, row(found))
            ticket = record(Ticket, row(found.ticket)) if found.ticket is not None else None
    ledger = CallLedger(rt, call, rev=call.rev or 0)
    ledger.set_ticket(ticket)
    return ledger


def ended_by_records(rt, call_sid: str) -> bool | None:
    """Whether the call's records say it is over (None: Redis has no copy; ask SQL)."""
    raw = rt.redis.get(CALL_KEY.format(sid=call_sid))
    if raw is None:
        return None
    return json.loads(raw).get("ended_at") is not None
