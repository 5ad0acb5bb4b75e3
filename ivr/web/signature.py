"""Checking X-Twilio-Signature, the same way behind a TLS-terminating proxy as without one.

Twilio signs the URL it requested. Behind a proxy the app sees another scheme, host or port, so we
rebuild that URL from IVR_PUBLIC_URL and the raw path and query as received (Werkzeug's
`request.url` decodes %2F and friends, which would break the signature).
"""
from __future__ import annotations

import functools
import logging
from urllib.parse import quote

from flask import abort, request
from twilio.request_validator import RequestValidator

from ivr.web import runtime

log = logging.getLogger(__name__)


def signed_url(public_base: str) -> str:
    """The URL Twilio requested, as it signed it."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path_qs = raw
        root = request.script_root
        if root and path_qs.startswith(root):
            path_qs = path_qs[len(root):]  # IVR_PUBLIC_URL already names the prefix the app is mounted at
    else:
        path_qs = quote(request.path, safe="/%:@!$&'()*+,;=-._~")
        if request.query_string:
            path_qs += "?" + request.query_string.decode("latin-1")
    return public_base + path_qs


def is_signed() -> bool:
    rt = runtime()
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    params = {} if request.method == "GET" else request.form
    return RequestValidator(rt.settings.twilio_auth_token).validate(signed_url(rt.settings.public_base),
                                                                    params, signature)


def twilio_signed(view):
    """Refuse with 403, before anything is read or written, unless Twilio signed the request."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        if not is_signed():
            runtime().metrics.signature_failures.labels(request.endpoint or "?").inc()
            log.warning("refused %s %s: bad or missing X-Twilio-Signature", request.method, request.path,
                        extra={"call_sid": request.form.get("CallSid", "-")})
            abort(403)
        return view(*args, **kwargs)
    return checked
