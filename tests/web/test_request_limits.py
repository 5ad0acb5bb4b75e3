"""Request bodies are capped: an oversized one is refused with 413 before anything reads it."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from ivr.db.models import Call
from ivr.web.limits import MAX_BODY_BYTES
from tests.webhooks import signed_post

TWENTY_MIB = 20 * 1024 * 1024


class CountingBody(io.RawIOBase):
    """A request body that counts how much of it the app reads."""

    def __init__(self, size: int):
        self.size, self.read_bytes = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b"a" * n
        self.read_bytes += n
        return n


@pytest.mark.parametrize("route", ["/voice/incoming", "/voice/status", "/voice/stream", "/ops/pages/1/ack",
                                   "/qa/sign-in"])
def test_an_unsigned_20_mib_post_is_refused_before_its_body_is_read(client, sessions, route):
    body = CountingBody(TWENTY_MIB)
    response = client.post(route, content_type="application/x-www-form-urlencoded",
                           environ_overrides={"wsgi.input": body, "CONTENT_LENGTH": str(TWENTY_MIB)})
    assert response.status_code == 413
    assert body.read_bytes == 0  # not parsed, not even read
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Call)) == 0


def test_a_body_without_a_length_is_cut_off_at_the_limit(client):
    body = CountingBody(TWENTY_MIB)
    response = client.post("/voice/incoming", content_type="application/x-www-form-urlencoded",
                           environ_overrides={"wsgi.input": body, "wsgi.input_terminated": True,
                                              "HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_LENGTH": ""})
    assert response.status_code == 413
    assert body.read_bytes <= MAX_BODY_BYTES + 64 * 1024


def test_a_twilio_sized_webhook_still_passes(client):
    params = {"CallSid": "CA" + "d" * 32, "From": "+447700900123", "To": "+442079460100",
              "Padding": "x" * (MAX_BODY_BYTES // 2)}
    assert signed_post(client, "/voice/incoming", params).status_code == 200
