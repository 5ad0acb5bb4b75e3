"""web: the Flask app (`app.create_app`) and its blueprints, grouped by who calls them: voice,
queue, callbacks, media (Twilio, every request signed: `signature`; always answered with TwiML:
`replies`); ops (health, metrics, page acknowledgements) and desks (the desk API) for people and
their tools; qa (the QA reviewers' pages, signed in: ivr/web/qa/). A route reads: validate, hand to
a capability, answer.

An edge: may import the factory, the capabilities and everything below them.
"""
import hmac

from flask import current_app, request

from ivr.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["ivr"]


def bearer_matches(secret: str | None) -> bool:
    """Whether the request carries `Authorization: Bearer <secret>` (never, when the secret is unset)."""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())
