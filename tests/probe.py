"""A tiny webhook app for testing the emulator itself: serves canned TwiML per path, checks every
request's signature with twilio's own RequestValidator, and keeps what it received."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

from ivr.emulator import NumberConfig, Options, Twilio
from ivr.emulator.transport import FlaskTransport
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN

BASE = "https://probe.example.test"
NUMBER = "+14155550100"
CALLER = "+447700900123"


@dataclass
class Received:
    path: str
    method: str
    params: dict
    headers: dict
    signature_ok: bool


@dataclass
class Probe:
    """Pages by path: a TwiML string, (status, content type, body), or a function of the request."""

    pages: dict[str, object] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    validator: RequestValidator = field(default_factory=lambda: RequestValidator(AUTH_TOKEN))

    def app(self) -> Flask:
        app = Flask("probe")

        @app.route("/<path:path>", methods=["GET", "POST"])
        def page(path):
            raw = request.environ.get("RAW_URI") or request.full_path
            url = BASE + raw
            params = request.form.to_dict() if request.method == "POST" else {}
            ok = self.validator.validate(url, params, request.headers.get("X-Twilio-Signature", ""))
            self.received.append(Received("/" + path, request.method, {**request.args.to_dict(), **params},
                                          dict(request.headers), ok))
            page = self.pages.get("/" + path, "<Response/>")
            if callable(page):
                page = page(request)
            if isinstance(page, tuple):
                status, kind, body = page
                if kind == "sleep":
                    time.sleep(status)
                    return Response("<Response/>", mimetype="text/xml")
                return Response(body, status=status, mimetype=kind)
            return Response(page, mimetype="text/xml")

        return app

    def to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


def twilio_for(probe: Probe, *, fallback: str | None = "/fallback", status: str | None = "/status",
               options: Options | None = None, voice: str = "/voice") -> Twilio:
    number = NumberConfig(NUMBER, BASE + voice, fallback_url=BASE + fallback if fallback else None,
                          status_callback=BASE + status if status else None)
    return Twilio(FlaskTransport(probe.app()), ACCOUNT_SID, AUTH_TOKEN, [number], options=options)


def twiml(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'


Page = str | tuple | Callable
