"""Flask blueprints, grouped by who calls them: voice (Twilio), ops (health and metrics)."""
from flask import current_app

from ivr.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["ivr"]
