"""ivr: a self-hosted phone support line. `create_app` builds the Flask app; nothing happens at import."""
from __future__ import annotations

import logging

from flask import Flask

from ivr.runtime import Clock, build_runtime
from ivr.settings import Settings


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, flows=None) -> Flask:
    """Build the app. Raises SettingsError for a bad setting and FlowError for a flow that fails the check.
    `flows` (already loaded and checked) saves loading them again, as tests do."""
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # it logs every header at INFO
    app = Flask(__name__)
    app.extensions["ivr"] = build_runtime(settings, clock=clock, flows=flows)

    from ivr.web import callbacks, desks, media, ops, queue, voice

    app.register_blueprint(voice.bp)
    app.register_blueprint(queue.bp)
    app.register_blueprint(callbacks.bp)
    app.register_blueprint(ops.bp)
    app.register_blueprint(desks.bp)
    media.register(app)
    return app
