"""The one runtime a process runs with: settings, the clock, the loaded flows and desks, and the
connections (Redis, the database, RQ, Twilio's REST API), plus the registry every capability
fills in at start-up. Built by `ivr.factory.build_runtime` for the web app, the job workers, the
CLI and the tests alike, and passed down; nothing here imports a capability.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from ivr.clock import Clock
from ivr.flows.desks import Desks
from ivr.flows.loader import FlowSet
from ivr.jobs import RuntimeJob, bind_job_class
from ivr.metrics import Metrics
from ivr.settings import Settings
from ivr.twilio_rest import twilio_client

log = logging.getLogger(__name__)
T = TypeVar("T")


class Hook:
    """A moment in one capability's work that others may act on (`call_answered`, `call_ended`
    ...). Each function is called in the order it was added; one that fails is logged and the
    rest still run, unless the hook is `strict` (start-up checks: a failure stops the process)."""

    def __init__(self, name: str, *, strict: bool = False):
        self.name, self.strict = name, strict
        self.functions: list[Callable] = []

    def add(self, function: Callable) -> Callable:
        self.functions.append(function)
        return function

    def __call__(self, *args) -> list:
        results = []
        for function in self.functions:
            try:
                results.append(function(*args))
            except Exception:
                if self.strict:
                    raise
                log.exception("%s: %s failed", self.name, getattr(function, "__qualname__", function))
        return results


@dataclass
class Registry:
    """What the capabilities registered: who carries out each kind of engine action, the services
    they offer each other, and the hooks they act on."""

    effects: dict[type, Callable] = field(default_factory=dict)  # action type -> handler(turn, action)
    services: dict[type, Callable[[Runtime], Any]] = field(default_factory=dict)
    runtime_ready: Hook = field(default_factory=lambda: Hook("runtime_ready", strict=True))  # (rt)
    serving: Hook = field(default_factory=lambda: Hook("serving", strict=True))  # (rt) before taking calls
    call_facts: Hook = field(default_factory=lambda: Hook("call_facts", strict=True))  # (db, caller) -> vars
    call_answered: Hook = field(default_factory=lambda: Hook("call_answered"))  # (rt)
    reply_ready: Hook = field(default_factory=lambda: Hook("reply_ready"))  # (turn) all its actions carried out
    call_ended: Hook = field(default_factory=lambda: Hook("call_ended"))  # (rt, state)
    callback_due_now: Hook = field(default_factory=lambda: Hook("callback_due_now"))  # (rt, request key)
    worker_started: Hook = field(default_factory=lambda: Hook("worker_started"))  # (rt)
    recording_completed: Hook = field(default_factory=lambda: Hook("recording_completed"))  # (rt, CallSid, detail)

    def effect(self, action_type: type, handler: Callable) -> None:
        if action_type in self.effects:
            raise ValueError(f"{action_type.__name__} already has a handler: {self.effects[action_type]}")
        self.effects[action_type] = handler

    def service(self, kind: type, factory: Callable[[Runtime], Any]) -> None:
        self.services[kind] = factory


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    flows: FlowSet
    desks: Desks
    redis: Redis  # text (decoded) connection: call state, queues, caches
    jobs: Redis  # RQ's connection: pickled job data, so bytes
    sessions: sessionmaker[Session]
    metrics: Metrics
    registry: Registry = field(default_factory=Registry)
    _services: dict[type, Any] = field(default_factory=dict, repr=False)

    def url_for(self, path: str) -> str:
        return self.settings.url_for(path)

    def service(self, kind: type[T]) -> T:
        """The capability service `kind` (built once per runtime by the factory its capability registered)."""
        if kind not in self._services:
            if kind not in self.registry.services:
                raise LookupError(f"no capability registered a {kind.__name__}")
            self._services[kind] = self.registry.services[kind](self)
        return self._services[kind]

    @cached_property
    def job_class(self) -> type[RuntimeJob]:
        """RQ's job class for this runtime: its jobs run with it and retry on its clock."""
        return bind_job_class(self)

    @cached_property
    def twilio(self):
        """The REST client; pointed at the emulator when IVR_TWILIO_API_URL is set."""
        return twilio_client(self.settings)
