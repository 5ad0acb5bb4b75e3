"""Flask blueprints, grouped by who calls them: voice, queue, callbacks, media (Twilio); ops (health,
metrics, page acknowledgements) and desks (the desk API) for people and their tools."""
from flask import current_app

from ivr.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["ivr"]
