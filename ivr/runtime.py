"""The adapters one process shares, built once by the app factory (or a job worker) and passed down."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timezone
from typing import Callable

from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from ivr import jobs
from ivr.calls.store import CallStore
from ivr.db.database import make_engine, make_sessions
from ivr.flows.desks import Desks, load_desks
from ivr.errors import FlowError
from ivr.flows.loader import FlowSet, load_flows
from ivr.metrics import Metrics
from ivr.security.rota_store import sync_rota
from ivr.settings import Settings

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Runtime:
    settings: Settings
    flows: FlowSet
    redis: Redis
    calls: CallStore
    sessions: sessionmaker[Session]
    clock: Clock
    metrics: Metrics
    jobs: Redis  # RQ's connection (bytes, not text)
    desks: Desks | None = None  # who answers each region's queue (flows/desks/)

    def url_for(self, path: str) -> str:
        return self.settings.url_for(path)

    @cached_property
    def hearing(self):
        """Phrasebooks and voice models: what hears callers at listen steps."""
        from ivr.speech.hearing import Hearing

        return Hearing(self.settings, self.flows.phrasebooks)

    @cached_property
    def twilio(self):
        """The REST client (SMS pages); pointed at the emulator when IVR_TWILIO_API_URL is set."""
        from ivr.twilio_rest import twilio_client

        return twilio_client(self.settings)


def build_runtime(settings: Settings, *, clock: Clock | None = None, flows: FlowSet | None = None) -> Runtime:
    """Load and check the flows and desks (raising FlowError if any is bad) and connect the adapters."""
    flows = flows or load_flows(settings.flows_dir)
    desks = checked_desks(settings.flows_dir, flows)
    redis = Redis.from_url(settings.redis_url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)
    sessions = make_sessions(make_engine(settings.database_url))
    if flows.rota is not None:
        sync_rota(sessions, flows.rota)
    runtime = Runtime(settings=settings, flows=flows, redis=redis, calls=CallStore(redis, settings.call_state_ttl),
                      sessions=sessions, clock=clock or utc_now, metrics=Metrics(),
                      jobs=jobs.connect(settings.redis_url), desks=desks)
    problems = runtime.hearing.check(flows)
    if problems:
        raise FlowError(problems)
    return runtime


def checked_desks(flows_dir, flows: FlowSet) -> Desks:
    """The desks of flows/desks/; every region whose flow has a queue step must have one."""
    queueing = {flow.region for flow in flows if any(step.kind == "queue" for step in flow.steps.values())}
    desks, problems = load_desks(flows_dir, queueing)
    if problems:
        raise FlowError(problems)
    return desks
