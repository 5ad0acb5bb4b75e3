"""security: the urgent path outside the engine. The warm transfer down the on-call chain with a
whisper brief (`warm_transfer`), the rota as loaded in the database (`rota_store`), paging the
team when nobody took the call (`paging`), freeze requests to the account system (`freeze`), the
reconciler that keeps their RQ jobs in step with the database (`reconciler`), and signing what we
send to those systems (`signing`).

May import: ivr.calls, ivr.core, ivr.flows, ivr.db and the platform modules; no other capability.
"""
from __future__ import annotations

from ivr.core.actions import FreezeRequest, PageSecurityTeam, Transfer, WaitForAgent
from ivr.runtime import Registry, Runtime
from ivr.security import effects, reconciler, warm_transfer
from ivr.security.rota_store import sync_rota


def includeme(registry: Registry) -> None:
    registry.effect(Transfer, effects.ring_on_call_agent)
    registry.effect(WaitForAgent, effects.keep_waiting)
    registry.effect(FreezeRequest, effects.request_freeze)
    registry.effect(PageSecurityTeam, effects.page_security_team)
    registry.runtime_ready.add(_load_rota)
    registry.call_answered.add(reconciler.keep_reconciling)  # after Redis lost its data, the next call brings it back
    registry.worker_started.add(reconciler.keep_reconciling)
    registry.call_ended.add(warm_transfer.hang_up_agents)


def _load_rota(rt: Runtime) -> None:
    """The rota file into the database, where every process reads who is on call."""
    if rt.flows.rota is not None:
        sync_rota(rt.sessions, rt.flows.rota)
