"""How the emulator reaches the app: in-process through Flask's test client, or over real HTTP."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import requests

REQUEST_BUDGET = 15.0  # seconds Twilio waits for a webhook answer
MAX_REDIRECTS = 10


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: str


class TransportError(Exception):
    """The request did not get an answer (connection refused, timed out)."""

    def __init__(self, code: int, message: str):
        self.code = code  # the Twilio error code this becomes (11205 connection failure)
        super().__init__(message)


def with_query(url: str, params: dict) -> str:
    """A GET webhook: Twilio appends its parameters to the URL's own query string."""
    if not params:
        return url
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


class FlaskTransport:
    """Deliver requests to a Flask app in this process; the URL's host is ignored, its path kept."""

    def __init__(self, app):
        self.client = app.test_client()

    def request(self, method: str, url: str, params: dict, headers: dict) -> Reply:
        if method == "GET":
            url, params = with_query(url, params), None
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = self.client.open(path, method=method, data=params, headers=headers,
                                    environ_overrides={"RAW_URI": path})
        return Reply(response.status_code, response.content_type or "", response.get_data(as_text=True))


class HttpTransport:
    """Deliver requests over HTTP, optionally to another address than the public URL names
    (as when Twilio reaches https://ivr.example.com through a TLS proxy in front of the app)."""

    def __init__(self, connect_to: str | None = None, timeout: float = REQUEST_BUDGET):
        self.connect_to = urlsplit(connect_to) if connect_to else None
        self.timeout = timeout
        self.session = requests.Session()
        self.session.max_redirects = MAX_REDIRECTS

    def request(self, method: str, url: str, params: dict, headers: dict) -> Reply:
        if method == "GET":
            url, params = with_query(url, params), None
        target = url
        if self.connect_to:
            parts = urlsplit(url)
            target = f"{self.connect_to.scheme}://{self.connect_to.netloc}{parts.path}" + \
                     (f"?{parts.query}" if parts.query else "")
            headers = {**headers, "Host": parts.netloc, "X-Forwarded-Proto": parts.scheme}
        for attempt in (1, 2):  # Twilio retries once when the connection fails
            try:
                response = self.session.request(method, target, data=params, headers=headers, timeout=self.timeout)
                return Reply(response.status_code, response.headers.get("Content-Type", ""), response.text)
            except requests.Timeout as exc:
                raise TransportError(11205, f"no answer within {self.timeout:.0f} s: {exc}") from None
            except requests.ConnectionError as exc:
                if attempt == 2:
                    raise TransportError(11205, f"connection failed: {exc}") from None
        raise AssertionError("unreachable")
