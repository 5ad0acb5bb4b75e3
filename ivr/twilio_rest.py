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
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote, urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from ivr import outbound
from ivr.errors import MediaNotReady, MediaRefused
from ivr.settings import Settings
from ivr.sids import BadSid, is_sid

TIMEOUT_SECONDS = 10.0


SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*")  # Calls, CA..., Twilio.CURRENT.json; never . or ..


class CheckedPathHttpClient(TwilioHttpClient):
    """Refuses a request whose path a value from outside could have bent: twilio-python puts a SID
    into its REST paths unescaped, so `calls("CAx/../../IncomingPhoneNumbers/PN...")` would reach
    another resource with the account's credentials. Every segment must be a plain name or SID."""

    def request(self, method: str, url: str, params=None, data=None, headers=None, auth=None,
                timeout: float | None = None, allow_redirects: bool = False) -> Response:
        path = unquote(urlsplit(url).path)
        if not all(SAFE_SEGMENT.fullmatch(segment) for segment in path.strip("/").split("/")):
            raise BadSid(f"refusing a Twilio REST path with an unexpected segment: {path[:80]!r}")
        return super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                               timeout=timeout, allow_redirects=allow_redirects)


class RedirectedHttpClient(CheckedPathHttpClient):
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
        http_client = CheckedPathHttpClient(timeout=TIMEOUT_SECONDS)
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)


TWILIO_API = "https://api.twilio.com"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


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
    if not is_sid(sid, "RE"):
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
    only, following no redirect, within `deadline_seconds` in all and at most `max_bytes`
    (ivr.outbound). MediaNotReady for a 404 (not stored yet, or gone); MediaRefused for anything else."""
    url = recording_media_url(settings, recording_sid, channels)
    hashing = _Hashing(into)
    try:
        with outbound.opened("GET", url, auth=(settings.twilio_account_sid, settings.twilio_auth_token),
                             deadline_seconds=deadline_seconds) as answer:
            if answer.status == 404:
                raise MediaNotReady(f"Twilio has no media for {recording_sid} (404)")
            if answer.is_redirect:
                host = urlsplit(answer.headers.get("Location", "")).hostname
                raise MediaRefused(f"Twilio answered {answer.status} to {host}: redirects are not followed")
            if answer.status != 200:
                raise MediaRefused(f"Twilio answered {answer.status} for the media of {recording_sid}")
            size = answer.read_into(hashing, max_bytes)
            return Media(size, hashing.digest.hexdigest(), answer.headers.get("Content-Type", ""))
    except outbound.OutboundFailed as error:
        raise MediaRefused(f"the media of {recording_sid}: {error}") from None


class _Hashing:
    """Writes through to a file, keeping the SHA-256 of what went by."""

    def __init__(self, into: BinaryIO):
        self.into, self.digest = into, hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.into.write(chunk)


def fetch_recording_bytes(settings: Settings, recording_sid: str, *, max_bytes: int,
                          deadline_seconds: float) -> bytes:
    """fetch_recording into memory: for short recordings (a caller's answer at a listen step)."""
    buffer = io.BytesIO()
    fetch_recording(settings, recording_sid, buffer, max_bytes=max_bytes, deadline_seconds=deadline_seconds)
    return buffer.getvalue()
