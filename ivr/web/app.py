"""The Flask app factory: one runtime, the blueprints, nothing at import time."""
from __future__ import annotations

from flask import Flask

from ivr import logs
from ivr.clock import Clock
from ivr.factory import build_runtime
from ivr.flows.loader import FlowSet
from ivr.settings import Settings
from ivr.web import callbacks, desks, limits, media, ops, qa, queue, voice


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, flows: FlowSet | None = None) -> Flask:
    """Build the app. Raises SettingsError for a bad setting and FlowError for a flow that fails the check.
    `clock` overrides IVR_CLOCK; `flows` (already loaded and checked) saves loading them again, as tests do."""
    settings = settings or Settings.from_env()
    logs.configure(settings.log_level)  # JSON lines: the CallSid a field, phone numbers masked
    app = Flask(__name__)
    runtime = build_runtime(settings, clock=clock, flows=flows)
    runtime.registry.serving(runtime)  # e.g. every speech model a region needs loads
    app.extensions["ivr"] = runtime
    limits.install(app)  # first: a body over its limit is refused before anything reads it
    for blueprint in (voice.bp, queue.bp, callbacks.bp, ops.bp, desks.bp, qa.bp):
        app.register_blueprint(blueprint)
    media.register(app)
    return app
