"""The one factory: every process of the service (the web app, `ivr worker`, the CLI, the tests)
builds its runtime here, so each runs with the same settings, clock and capabilities.

The capabilities are listed once, below; each registers its own handlers, services and hooks
with the runtime (its `includeme`). Nothing else imports every capability.
"""
from __future__ import annotations

from ivr import callbacks, calls, jobs, qa, queue, recordings, redis_client, security, speech
from ivr.clock import Clock, clock_from
from ivr.db.database import make_engine, make_sessions
from ivr.flows.loader import FlowSet, checked_desks, load_flows
from ivr.metrics import Metrics
from ivr.runtime import Runtime
from ivr.settings import Settings

CAPABILITIES = (calls, speech, security, queue, callbacks, recordings, qa)


def build_runtime(settings: Settings, *, clock: Clock | None = None, flows: FlowSet | None = None) -> Runtime:
    """Load and check the flows and desks (raising FlowError if any is bad), connect the adapters,
    and let every capability register itself. `clock` overrides IVR_CLOCK (tests pass the same
    clock object to the app and the workers they run); `flows`, already loaded, saves a reload."""
    flows = flows or load_flows(settings.flows_dir)
    rt = Runtime(settings=settings, clock=clock or clock_from(settings.clock), flows=flows,
                 desks=checked_desks(settings.flows_dir, flows),
                 redis=redis_client.connect(settings, decode_responses=True, socket_timeout=5,
                                            socket_connect_timeout=5),
                 jobs=jobs.connect(settings),
                 sessions=make_sessions(make_engine(settings.database_url)), metrics=Metrics())
    for capability in CAPABILITIES:
        capability.includeme(rt.registry)
    rt.registry.runtime_ready(rt)  # e.g. the rota into the database, speech models loaded and checked
    return rt
