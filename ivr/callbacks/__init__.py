"""callbacks: calling callers back. Requests, due times and the opening-hours line (`booking`),
placing each attempt exactly once and what Twilio reports about it (`placing`), the RQ jobs that
place them when due (`scheduling`), the reconciler that keeps RQ in step with the database
(`reconciler`), and booking or cancelling when the engine asks (`effects`).

May import: ivr.queue (a call back answered joins the front of the desk's queue), ivr.calls,
ivr.core, ivr.flows, ivr.db and the platform modules.
"""
from __future__ import annotations

from ivr.callbacks import effects, reconciler, scheduling
from ivr.core.actions import BookCallback, CancelCallbacks, RequestCallback
from ivr.runtime import Registry, Runtime


def includeme(registry: Registry) -> None:
    registry.effect(RequestCallback, effects.request_callback)
    registry.effect(BookCallback, effects.book_callback)
    registry.effect(CancelCallbacks, effects.cancel_callbacks)
    registry.call_facts.add(effects.pending_callback)
    registry.call_answered.add(reconciler.keep_reconciling)  # after Redis lost its data, the next call brings it back
    registry.callback_due_now.add(scheduling.due_now)
    registry.worker_started.add(_start_worker)


def _start_worker(rt: Runtime) -> None:
    reconciler.keep_reconciling(rt)
    scheduling.warm_up(rt)  # the first call back due is not slowed by connecting
