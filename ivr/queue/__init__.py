"""queue: the agents' queue of each desk. Our own order over Twilio's FIFO queue, agents free,
talking, held or away (`desk_queue`), what a waiting caller hears (`hold`), the queue's webhooks
one by one (`waiting`), and joining or leaving it when the engine asks (`effects`).

May import: ivr.calls, ivr.core, ivr.flows and the platform modules; no other capability (a call
back whose kept place reaches the front is handed over through the `callback_due_now` hook).
"""
from __future__ import annotations

from ivr.core.actions import JoinQueue, LeaveQueue
from ivr.queue import effects
from ivr.runtime import Registry


def includeme(registry: Registry) -> None:
    registry.effect(JoinQueue, effects.join_queue)
    registry.effect(LeaveQueue, effects.leave_queue)
    registry.call_ended.add(effects.leave_when_ended)
