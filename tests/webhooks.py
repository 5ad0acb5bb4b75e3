"""Posting single Twilio-shaped webhooks, signed or not, for tests of one route at a time."""
from __future__ import annotations

from twilio.request_validator import RequestValidator

from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL


def standard(params: dict) -> dict:
    base = {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "Direction": "inbound",
            "CallStatus": "in-progress"}
    return {**base, **params}


def signed_post(client, path: str, params: dict, *, token: str | None = None, url: str | None = None,
                auth_token: str = AUTH_TOKEN, signature: str | None = None):
    params = standard(params)
    signed_for = url or PUBLIC_URL + path
    headers = {"X-Twilio-Signature": signature if signature is not None else
               RequestValidator(auth_token).compute_signature(signed_for, params)}
    if token:
        headers["I-Twilio-Idempotency-Token"] = token
    return client.post(path, data=params, headers=headers, environ_overrides={"RAW_URI": path})
