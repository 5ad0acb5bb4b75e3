"""How large a request may be, refused with 413 before anything reads its body.

Twilio's webhooks are small (a few KiB of form fields), and so are the QA pages' forms (their own
guard holds them to the same 64 KiB). A body over the limit is refused on its declared
Content-Length before the signature check or the form parser touch it; a body without one
(chunked) is read up to one byte past the limit, and refused there.
"""
from __future__ import annotations

from flask import Flask, abort, request

MAX_BODY_BYTES = 64 * 1024


def install(app: Flask) -> None:
    """Cap every request's body; call before any other before_request hook is registered."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.before_request
    def _refuse_large_bodies():
        if request.content_length is not None:
            if request.content_length > MAX_BODY_BYTES:
                abort(413)
        elif "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            request.max_content_length = MAX_BODY_BYTES + 1  # read one byte past the limit (kept for the form)
            if len(request.get_data(cache=True)) > MAX_BODY_BYTES:
                abort(413)
