"""The app's Twilio REST client, built from settings.

In production it talks to api.twilio.com. When IVR_TWILIO_API_URL is set (the local emulator, a
staging fake) every request goes to that base instead. The redirect happens per request in the
HTTP client, after twilio-python has built the final URL: overriding the domain's `base_url`
would not survive `TWILIO_EDGE`/`TWILIO_REGION`, which rewrite the host to
`api.{edge}.{region}.twilio.com` and turn `127.0.0.1` into `127.ie1.0.1`.
"""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from ivr.settings import Settings

TIMEOUT_SECONDS = 10.0


class RedirectedHttpClient(TwilioHttpClient):
    """Sends every request to one base URL, keeping the path and query twilio-python built."""

    def __init__(self, base_url: str, timeout: float = TIMEOUT_SECONDS):
        super().__init__(timeout=timeout)
        self.base = urlsplit(base_url)

    def request(self, method: str, url: str, params=None, data=None, headers=None, auth=None,
                timeout: float | None = None, allow_redirects: bool = False) -> Response:
        parts = urlsplit(url)
        url = urlunsplit((self.base.scheme, self.base.netloc, self.base.path.rstrip("/") + parts.path,
                          parts.query, parts.fragment))
        return super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                               timeout=timeout, allow_redirects=allow_redirects)


def twilio_client(settings: Settings) -> Client:
    """A REST client for the configured account, pointed at settings.twilio_api_url when that is set."""
    if settings.twilio_api_url:
        http_client = RedirectedHttpClient(settings.twilio_api_url)
    else:
        http_client = TwilioHttpClient(timeout=TIMEOUT_SECONDS)
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)


def media_url(settings: Settings, url: str) -> str:
    """Where to fetch a recording's media: Twilio's URL, moved to IVR_TWILIO_API_URL when that is set."""
    if not settings.twilio_api_url:
        return url
    base, parts = urlsplit(settings.twilio_api_url), urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, parts.fragment))
