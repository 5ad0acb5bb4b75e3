"""The one safe fetcher of recording media (ivr/twilio_rest.py): built from a checked
RecordingSid on the API host, never from a host a request names; HTTPS outside this machine;
no redirects; a size cap; 404 worth retrying, the rest refused."""
from __future__ import annotations

import io
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ivr.audio.wav import wav_bytes
from ivr.emulator import Twilio
from ivr.errors import MediaNotReady, MediaRefused
from ivr.sids import BadSid
from ivr.twilio_rest import (
    fetch_recording,
    fetch_recording_bytes,
    recording_media_url,
    recording_sid_from,
    twilio_client,
)
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.receiver import Receiver

SID = "RE" + "ab" * 16


class Answering:
    """A local HTTP server answering every GET with one status, headers and body."""

    def __init__(self, status: int, headers: dict, body: bytes = b""):
        owner = self
        self.paths: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.paths.append(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_only_the_sid_of_a_recording_url_is_used():
    assert recording_sid_from(f"https://evil.example/2010-04-01/Accounts/AC1/Recordings/{SID}") == SID
    assert recording_sid_from(f"{SID}.wav") == SID
    for bad in ("RE123", f"../../IncomingPhoneNumbers/{SID}x", "CA" + "0" * 32, f"{SID}?x=1", ""):
        with pytest.raises(MediaRefused):
            recording_sid_from(bad)


def test_the_media_url_is_on_the_api_host_and_https_outside_this_machine(settings):
    assert recording_media_url(settings, SID) == \
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{SID}.wav"
    assert recording_media_url(settings.with_(twilio_api_url="http://127.0.0.1:5055"), SID, channels=2) == \
        f"http://127.0.0.1:5055/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{SID}.wav?RequestedChannels=2"
    with pytest.raises(MediaRefused, match="HTTPS only"):
        recording_media_url(settings.with_(twilio_api_url="http://twilio-fake.internal"), SID)


def test_a_redirect_is_not_followed_and_its_target_never_contacted(settings):
    with Receiver() as elsewhere:
        redirecting = Answering(302, {"Location": elsewhere.url, "Content-Length": "0"})
        try:
            with pytest.raises(MediaRefused, match="redirects are not followed"):
                fetch_recording_bytes(settings.with_(twilio_api_url=redirecting.url), SID, max_bytes=10_000,
                                      deadline_seconds=5)
            assert redirecting.paths == [f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{SID}.wav"]
            assert elsewhere.received == []
        finally:
            redirecting.close()


def test_media_over_the_size_cap_is_refused(settings):
    big = Answering(200, {"Content-Type": "audio/x-wav"}, b"\0" * 50_000)  # no Content-Length: counted as it comes
    declared = Answering(200, {"Content-Length": "999999999"})
    try:
        with pytest.raises(MediaRefused, match="cap"):
            fetch_recording_bytes(settings.with_(twilio_api_url=big.url), SID, max_bytes=10_000, deadline_seconds=5)
        with pytest.raises(MediaRefused, match="999999999 bytes"):
            fetch_recording_bytes(settings.with_(twilio_api_url=declared.url), SID, max_bytes=10_000,
                                  deadline_seconds=5)
    finally:
        big.close()
        declared.close()


def test_media_from_the_emulator_by_channels_and_a_404_worth_retrying(settings):
    twilio = Twilio(None, ACCOUNT_SID, AUTH_TOKEN, [])
    entry = twilio.ledger.add_recording("CA" + "1" * 32, "StartCallRecordingAPI", 0.0, channels=2)
    stereo = wav_bytes(b"\x01\x00\x02\x00" * 8000, channels=2)
    with twilio.serve_rest() as rest:
        configured = settings.with_(twilio_api_url=rest.url)
        with pytest.raises(MediaNotReady):
            fetch_recording_bytes(configured, entry.sid, max_bytes=10**6, deadline_seconds=5)
        twilio.ledger.complete_recording(entry.sid, stereo, 1)
        into = io.BytesIO()
        media = fetch_recording(configured, entry.sid, into, channels=2, max_bytes=10**6, deadline_seconds=5)
        assert into.getvalue() == stereo and media.size == len(stereo) and media.content_type == "audio/x-wav"
        mono = fetch_recording(configured, entry.sid, io.BytesIO(), channels=1, max_bytes=10**6, deadline_seconds=5)
        assert mono.size < media.size
        with pytest.raises(MediaRefused, match="401"):
            fetch_recording_bytes(configured.with_(twilio_auth_token="wrong"), entry.sid, max_bytes=10**6,
                                  deadline_seconds=5)
    with wave.open(io.BytesIO(into.getvalue())) as wav:
        assert wav.getnchannels() == 2


class Trickling(Answering):
    """Answers a whole WAV, status line included, a byte every `seconds`."""

    def __init__(self, seconds: float):
        owner = self
        self.paths = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.paths.append(self.path)
                raw = b"HTTP/1.1 200 OK\r\nContent-Type: audio/x-wav\r\nContent-Length: 40\r\n\r\n" + b"\0" * 40
                for byte in raw:
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(seconds)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


def test_media_that_trickles_is_cut_off_at_the_deadline_in_all(settings):
    slow = Trickling(0.1)  # ~11 s for the whole answer, each byte far within any per-read timeout
    try:
        started = time.monotonic()
        with pytest.raises(MediaRefused, match="took over 1 s in all"):
            fetch_recording_bytes(settings.with_(twilio_api_url=slow.url), SID, max_bytes=10_000, deadline_seconds=1)
        assert time.monotonic() - started < 5
    finally:
        slow.close()


def test_a_sid_from_outside_cannot_bend_a_rest_path(settings):
    twilio = Twilio(None, ACCOUNT_SID, AUTH_TOKEN, [])
    with twilio.serve_rest() as rest:
        client = twilio_client(settings.with_(twilio_api_url=rest.url))
        for bent in ("CA" + "1" * 32 + "/../../IncomingPhoneNumbers/PN" + "2" * 32, "..", "CA%2F..%2F.."):
            with pytest.raises(BadSid):
                client.calls(bent).update(status="completed")
    with pytest.raises(BadSid):  # and on Twilio's own host, before anything is sent
        twilio_client(settings).calls("../Recordings/RE" + "3" * 32).fetch()
