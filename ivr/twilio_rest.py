"""The app's Twilio REST client, built from settings.

In production it talks to api.twilio.com. When IVR_TWILIO_API_URL is set (the local emulator, a
staging fake) every request goes to that base instead. The redirect happens per request in the
HTTP client, after twilio-python has built the final URL: overriding the domain's `base_url`
would not survive `TWILIO_EDGE`/`TWILIO_REGION`, which rewrite the host to
`api.{edge}.{region}.twilio.com` and turn `127.0.0.1` into `127.ie1.0.1`.

Recording media is fetched here too, by one safe fetcher (`fetch_recording`): the URL is built
from a checked RecordingSid on Twilio's API host (or IVR_TWILIO_API_URL), never taken from a
request, so the account's credentials go nowhere else; no redirects, a total deadline, a size cap.
"""
from __future__ import annotations

import hashlib
import io
import re
import time
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from ivr.errors import MediaNotReady, MediaRefused
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


RECORDING_SID = re.compile(r"^RE[0-9a-f]{32}$")
TWILIO_API = "https://api.twilio.com"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
CHUNK = 256 * 1024


@dataclass(frozen=True)
class Media:
    """A recording's media as fetched: how many bytes, their SHA-256 and Twilio's content type."""

    size: int
    sha256: str
    content_type: str


def recording_sid_from(value: str) -> str:
    """The RecordingSid in `value` (a SID, or a RecordingUrl whose last segment is one), checked:
    only the SID is taken from a request, never its host."""
    sid = value.rstrip("/").rsplit("/", 1)[-1].removesuffix(".wav").removesuffix(".mp3").removesuffix(".json")
    if not RECORDING_SID.match(sid):
        raise MediaRefused(f"not a RecordingSid: {sid[:40]!r}")
    return sid


def recording_media_url(settings: Settings, recording_sid: str, channels: int | None = None) -> str:
    """Where a recording's WAV is: on Twilio's API host (or IVR_TWILIO_API_URL), never anywhere a
    request named. HTTPS, except for an emulator on this machine."""
    sid = recording_sid_from(recording_sid)
    base = settings.twilio_api_url or TWILIO_API
    parts = urlsplit(base)
    if parts.scheme != "https" and parts.hostname not in LOOPBACK:
        raise MediaRefused(f"recording media is fetched over HTTPS only (IVR_TWILIO_API_URL is {base})")
    query = f"?RequestedChannels={channels}" if channels else ""
    return f"{base.rstrip('/')}/2010-04-01/Accounts/{settings.twilio_account_sid}/Recordings/{sid}.wav{query}"


def fetch_recording(settings: Settings, recording_sid: str, into: BinaryIO, *, channels: int | None = None,
                    max_bytes: int, deadline_seconds: float) -> Media:
    """Download a recording's WAV into `into` with the account's credentials: from the API host
    only, following no redirect, within `deadline_seconds` in all and at most `max_bytes`.
    MediaNotReady for a 404 (not stored yet, or gone); MediaRefused for anything else."""
    url = recording_media_url(settings, recording_sid, channels)
    started = time.monotonic()
    digest, size = hashlib.sha256(), 0
    with requests.Session() as http:
        http.trust_env = False  # no proxy or .netrc from the environment gets the credentials
        try:
            answer = http.get(url, auth=(settings.twilio_account_sid, settings.twilio_auth_token), stream=True,
                              allow_redirects=False, timeout=(5, min(30.0, deadline_seconds)))
        except requests.RequestException as error:
            raise MediaRefused(f"could not reach Twilio for {recording_sid}: {type(error).__name__}") from None
        with answer:
            if answer.status_code == 404:
                raise MediaNotReady(f"Twilio has no media for {recording_sid} (404)")
            if answer.is_redirect:
                host = urlsplit(answer.headers.get("Location", "")).hostname
                raise MediaRefused(f"Twilio answered {answer.status_code} to {host}: redirects are not followed")
            if answer.status_code != 200:
                raise MediaRefused(f"Twilio answered {answer.status_code} for the media of {recording_sid}")
            declared = int(answer.headers.get("Content-Length") or 0)
            if declared > max_bytes:
                raise MediaRefused(f"the media of {recording_sid} is {declared} bytes, over the {max_bytes} cap")
            try:
                for chunk in answer.iter_content(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise MediaRefused(f"the media of {recording_sid} is over the {max_bytes}-byte cap")
                    if time.monotonic() - started > deadline_seconds:
                        raise MediaRefused(f"the media of {recording_sid} took over {deadline_seconds:.0f} s")
                    digest.update(chunk)
                    into.write(chunk)
            except requests.RequestException as error:
                raise MediaRefused(f"the media of {recording_sid} broke off: {type(error).__name__}") from None
            return Media(size, digest.hexdigest(), answer.headers.get("Content-Type", ""))


def fetch_recording_bytes(settings: Settings, recording_sid: str, *, max_bytes: int,
                          deadline_seconds: float) -> bytes:
    """fetch_recording into memory: for short recordings (a caller's answer at a listen step)."""
    buffer = io.BytesIO()
    fetch_recording(settings, recording_sid, buffer, max_bytes=max_bytes, deadline_seconds=deadline_seconds)
    return buffer.getvalue()
