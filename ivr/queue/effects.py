"""What the queue capability does when the engine asks: put the caller in their region's desk
queue (JoinQueue), or take them out of its order (LeaveQueue)."""
from __future__ import annotations

from dataclasses import replace

from ivr.calls.turn import Turn
from ivr.core.actions import EnterQueue, JoinQueue, LeaveQueue
from ivr.core.events import QueueLeft
from ivr.core.state import CallState
from ivr.queue import desk_queue
from ivr.queue.desk_queue import Member
from ivr.runtime import Runtime


def join_queue(turn: Turn, action: JoinQueue) -> None:
    """Join (or rejoin, keeping the place) the desk's queue; a full or closed desk is the engine's to handle."""
    rt, call_sid = turn.rt, turn.call.call_sid
    desk = rt.desks.for_region(turn.flow.region) if rt.desks else None
    if desk is None or not turn.flow.hours.is_open(turn.now):
        turn.answer(QueueLeft("closed"))
        return
    state = turn.state
    member = Member(call_sid, "caller", action.band, turn.flow.region, state.language,
                    ticket=state.vars.get("ticket", ""), issue=state.vars.get("issue", ""), settings=action.settings)
    verdict = desk_queue.join(rt.redis, desk.name, member, turn.now, action.settings.max_size)
    if verdict == "full":
        turn.answer(QueueLeft("full"))
        return
    turn.note(f"queue_{verdict}", desk=desk.name, band=action.band,
              position=desk_queue.position(rt.redis, desk.name, call_sid)[0])
    turn.state = state.with_(queue=replace(state.queue, desk=desk.name))
    turn.emit(EnterQueue(desk.name))


def leave_queue(turn: Turn, action: LeaveQueue) -> None:
    desk_queue.leave(turn.rt.redis, action.desk, turn.call.call_sid)


def leave_when_ended(rt: Runtime, state: CallState) -> None:
    """The call is over: out of the desk's order (if it was ever in one)."""
    if state.queue.desk:
        desk_queue.leave(rt.redis, state.queue.desk, state.call_sid)
