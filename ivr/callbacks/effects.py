"""What the call backs capability does when the engine asks: record a call back to the caller's
own number (RequestCallback), book one the caller chose, due when they would have reached an agent
(BookCallback), cancel the caller's pending ones (CancelCallbacks); and the facts a new call needs
(does this caller have a call back pending?)."""
from __future__ import annotations

import logging

from ivr.callbacks import booking, reconciler, scheduling
from ivr.calls.records import Arrival, caller_number
from ivr.calls.turn import Turn
from ivr.core.actions import BookCallback, CancelCallbacks, RequestCallback
from ivr.core.events import CallbackBooked
from ivr.db.models import CallbackRequest
from ivr.queue import desk_queue
from ivr.runtime import Runtime

log = logging.getLogger(__name__)


def request_callback(turn: Turn, action: RequestCallback) -> None:
    rt, call = turn.rt, turn.call
    desk = rt.desks.for_region(turn.flow.region) if rt.desks else None
    request = booking.request(turn.db, call, call.ticket, caller_number(call), action.priority, action.reason,
                              turn.now, language=turn.state.language, desk=desk.name if desk else None,
                              caller_id=call.to_number, max_attempts=rt.settings.callback_max_attempts)
    turn.note("callback_requested", priority=action.priority, request=request.id if request else None,
              number=request.number if request else None)
    if request is not None:
        turn.after_commit(_scheduling(rt, request.id))


def book_callback(turn: Turn, action: BookCallback) -> None:
    """Due when the caller would have reached an agent (their place in the queue), as soon as one
    is free, or at the next opening (in that opening's line). The engine hears when."""
    rt, flow, call, state = turn.rt, turn.flow, turn.call, turn.state
    desk = rt.desks.for_region(flow.region) if rt.desks else None
    place = desk_queue.position(rt.redis, desk.name, call.call_sid)[0] if desk and action.source == "queue" else 0
    if desk is not None and not place:
        place = desk_queue.size(rt.redis, desk.name) + 1  # at the end of the queue as it stands
    wait = desk_queue.estimate_seconds(rt.redis, desk, place) if desk is not None else 0
    due = booking.due_time(flow.hours, turn.now, wait)
    if due.when == "opening" and desk is not None:
        pace = desk_queue.opening_pace_seconds(rt.redis, desk)
        due = booking.paced(turn.db, flow.hours, desk.name, due, pace, turn.now)
    request = booking.request(turn.db, call, call.ticket, action.number, "normal", f"caller_{action.source}",
                              turn.now, due=due.at, language=state.language, desk=desk.name if desk else None,
                              caller_id=call.to_number, max_attempts=rt.settings.callback_max_attempts)
    keeps_place = action.source == "queue" and bool(state.queue.desk) and due.when == "soon"
    local = due.at.astimezone(flow.hours.zone).isoformat(timespec="minutes")
    turn.answer(CallbackBooked(due.when, due.minutes, local, request.id, keeps_place))
    if keeps_place:
        turn.after_commit(_keeping_place(rt, state.queue.desk, call.call_sid, request.key, request.id))
    else:
        turn.after_commit(_scheduling(rt, request.id))


def cancel_callbacks(turn: Turn, action: CancelCallbacks) -> None:
    cancelled = booking.cancel(turn.db, booking.pending_for(turn.db, caller_number(turn.call)), turn.now,
                               "caller_cancelled")
    turn.note("callback_cancelled", requests=[c.id for c in cancelled])
    for request in cancelled:
        turn.after_commit(_dropping(turn.rt, request.id, request.desk, request.key))


def pending_callback(db, arrival: Arrival) -> dict[str, str]:
    """A caller who calls while a call back is pending may keep or cancel it (not when the call
    is the call back itself)."""
    pending = booking.pending_for(db, arrival.caller.number)
    return {"callback_pending": "yes" if pending and not arrival.callback else ""}


# -- after the commit: Redis down means the reconciler puts the jobs back from the database ----------

def _scheduling(rt: Runtime, request_id: int):
    def schedule() -> list:
        try:
            scheduling.schedule(rt, request_id)
            reconciler.keep_reconciling(rt)
        except Exception:
            log.exception("call back %s: could not schedule it; the reconciler will", request_id)
        return []
    return schedule


def _keeping_place(rt: Runtime, desk: str, call_sid: str, key: str, request_id: int):
    def keep_place() -> list:
        try:
            desk_queue.to_placeholder(rt.redis, desk, call_sid, key)
            scheduling.schedule(rt, request_id)
            reconciler.keep_reconciling(rt)
        except Exception:
            log.exception("call back %s: could not keep the caller's place; the reconciler will", request_id)
        return []
    return keep_place


def _dropping(rt: Runtime, request_id: int, desk_name: str | None, key: str):
    def drop() -> list:
        try:
            desk = rt.desks.get(desk_name) if desk_name else None
            if desk is not None:
                desk_queue.drop_placeholder(rt.redis, desk, key)
            with rt.sessions() as db:
                request = db.get(CallbackRequest, request_id)
                if request is not None:
                    scheduling.cancel_jobs(rt, request)
        except Exception:
            log.exception("call back %s: could not drop its job; the reconciler will", request_id)
        return []
    return drop
