"""The package's shape, as the import contracts in pyproject.toml describe it, held by tests too:
the engine core loads no framework, and every capability registers itself with the runtime."""
from __future__ import annotations

import subprocess
import sys

import pytest

from ivr.calls.store import CallStore
from ivr.core.actions import (
    BookCallback,
    CancelCallbacks,
    FreezeRequest,
    JoinQueue,
    LeaveQueue,
    Listen,
    PageSecurityTeam,
    RequestCallback,
    Transfer,
    WaitForAgent,
)
from ivr.runtime import Hook, Registry
from ivr.speech.hearing import Hearing

FRAMEWORKS = {"flask", "werkzeug", "redis", "sqlalchemy", "alembic", "rq", "twilio", "requests", "vosk"}


def test_importing_the_engine_loads_no_framework_store_or_network_client():
    probe = (f"import ivr.core.engine, sys; print(sorted(m for m in sys.modules "
             f"if m.split('.')[0] in {sorted(FRAMEWORKS)!r}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_action_the_engine_asks_of_the_world_has_exactly_one_capability_to_carry_it_out(app):
    effects = app.extensions["ivr"].registry.effects
    assert set(effects) == {Transfer, WaitForAgent, FreezeRequest, PageSecurityTeam, Listen, JoinQueue, LeaveQueue,
                            RequestCallback, BookCallback, CancelCallbacks}
    with pytest.raises(ValueError, match="already has a handler"):
        effects_registry = Registry()
        effects_registry.effect(Transfer, print)
        effects_registry.effect(Transfer, print)


def test_services_are_built_once_per_runtime(app):
    rt = app.extensions["ivr"]
    assert rt.service(CallStore) is rt.service(CallStore) and rt.service(Hearing) is rt.service(Hearing)
    with pytest.raises(LookupError, match="no capability registered a Registry"):
        rt.service(Registry)


def test_a_failing_hook_is_logged_and_the_others_still_run_unless_it_is_a_start_up_check(caplog):
    ran = []
    hook = Hook("call_answered")
    hook.add(lambda: 1 / 0)
    hook.add(lambda: ran.append("second"))
    hook()
    assert ran == ["second"] and "call_answered" in caplog.text
    strict = Hook("runtime_ready", strict=True)
    strict.add(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        strict()
