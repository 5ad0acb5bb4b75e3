"""calls: one call's life. Answering it (its ticket, its call row), advancing it on each answer
through the engine, carrying out the engine's actions (`turn`, dispatching each to the capability
that registered for it), ending it; the live state in Redis (`store`), the durable records
(`records`, `tickets`), written behind by the webhooks (`ledger`, `behind`, `ids`, `ticket_cache`)
and committed to SQL by the writer (`writer`, `ivr writer`), the caller (`callers`) and TwiML (`twiml`).

May import: ivr.core, ivr.flows, ivr.db and the platform modules (runtime, settings, jobs, errors).
Other capabilities build on this one; it imports none of them.
"""
from __future__ import annotations

from ivr.calls import ids
from ivr.calls.store import CallStore
from ivr.runtime import Registry


def includeme(registry: Registry) -> None:
    registry.service(CallStore, lambda rt: CallStore(rt.redis, rt.settings.call_state_ttl))
    registry.runtime_ready.add(lambda rt: ids.install(rt.redis, rt.sessions))  # every call record's id from Redis
