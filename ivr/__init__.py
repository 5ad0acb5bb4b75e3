"""ivr: a self-hosted phone support line on Twilio Voice.

`create_app` (in ivr.web.app) builds the Flask app. It is looked up here only when asked for, so
that `import ivr.core...` loads no Flask, Redis, SQLAlchemy, RQ or twilio (PEP 562); nothing
happens at import time. The package map and the layer rules are in docs/architecture.md.
"""
from __future__ import annotations


def __getattr__(name: str):
    if name == "create_app":
        from ivr.web.app import create_app  # noqa: PLC0415 (deferred so that ivr.core loads without Flask)

        return create_app
    raise AttributeError(f"module 'ivr' has no attribute {name!r}")
