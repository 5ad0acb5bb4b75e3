"""web: the Flask app (`app.create_app`) and its blueprints, grouped by who calls them: voice,
queue, callbacks, media (Twilio, every request signed: `signature`; always answered with TwiML:
`replies`); ops (health, metrics, page acknowledgements) and desks (the desk API) for people and
their tools; qa (the QA reviewers' pages, signed in: ivr/web/qa/). A route reads: validate, hand to
a capability, answer.

An edge: may import the factory, the capabilities and everything below them.
"""
from flask import current_app

from ivr.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["ivr"]
