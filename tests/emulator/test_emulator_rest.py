"""The emulated Twilio REST API answers the app's own twilio client the way Twilio does."""
from __future__ import annotations

import io
import math
import re
import struct
import wave
from urllib.parse import urlsplit

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.twiml.voice_response import VoiceResponse

from ivr.emulator.ledger import Ledger
from ivr.emulator.rest import RestServer, rest_api
from ivr.settings import Settings
from ivr.twilio_rest import twilio_client
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN

CUSTOMER = "+447700900123"
SUPPORT_LINE = "+442079460100"
CALLBACK_URL = "https://ivr.example.test/voice/callback"


class Phone:
    """Stands in for the voice side: answers every placed call and starts recordings when asked."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.placed: list[tuple[str, dict]] = []
        self.recording_requests: list[dict] = []

    def place_call(self, call, options: dict) -> None:
        self.placed.append((call.sid, options))
        call.status = "in-progress"

    def start_recording(self, call_sid: str, options: dict):
        self.recording_requests.append(options)
        channels = 2 if options.get("RecordingChannels") == "dual" else 1
        return self.ledger.add_recording(call_sid, "StartCallRecordingAPI", started_at=0.0, channels=channels)


@pytest.fixture
def ledger():
    return Ledger(ACCOUNT_SID)


@pytest.fixture
def phone(ledger):
    return Phone(ledger)


@pytest.fixture
def server(ledger, phone):
    app = rest_api(ledger, AUTH_TOKEN, place_call=phone.place_call, start_recording=phone.start_recording)
    with RestServer(app) as running:
        yield running


@pytest.fixture
def rest_settings(server):
    return Settings.from_env({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                              "IVR_TWILIO_API_URL": server.url})


@pytest.fixture
def twilio_rest(rest_settings):
    return twilio_client(rest_settings)


@pytest.fixture
def live_call(twilio_rest):
    """An outbound call the customer has answered."""
    return twilio_rest.calls.create(to=CUSTOMER, from_=SUPPORT_LINE, url=CALLBACK_URL)


def tone_wav(seconds: float = 0.25, rate: int = 8000) -> bytes:
    """A real mono 16-bit WAV: a 440 Hz tone."""
    samples = (int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return buffer.getvalue()


def media_url(server: RestServer, recording, extension: str = ".wav") -> str:
    """The recording's media URL, served by the emulator instead of api.twilio.com."""
    return server.url + urlsplit(recording.media_url).path + extension


def refused(call, *args, **kwargs) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call(*args, **kwargs)
    return caught.value


# Calls


def test_created_call_is_queued_outbound_and_handed_to_the_phone(twilio_rest, phone):
    events = ["initiated", "ringing", "answered", "completed"]
    call = twilio_rest.calls.create(to=CUSTOMER, from_=SUPPORT_LINE, url=CALLBACK_URL, method="POST",
                                    status_callback="https://ivr.example.test/voice/status",
                                    status_callback_event=events, machine_detection="Enable")
    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid)
    assert (call.status, call.direction, call.to, call._from) == ("queued", "outbound-api", CUSTOMER, SUPPORT_LINE)
    assert call.account_sid == ACCOUNT_SID and call.api_version == "2010-04-01"
    [(sid, options)] = phone.placed
    assert sid == call.sid
    assert options["StatusCallbackEvent"] == events
    assert (options["Url"], options["Method"], options["MachineDetection"]) == (CALLBACK_URL, "POST", "Enable")


def test_call_without_a_to_number_is_refused_with_21201(twilio_rest, phone):
    error = refused(twilio_rest.calls.create, to="", from_=SUPPORT_LINE, url=CALLBACK_URL)
    assert (error.status, error.code) == (400, 21201)
    assert phone.placed == []


def test_fetched_call_shows_its_current_status(twilio_rest, live_call):
    fetched = twilio_rest.calls(live_call.sid).fetch()
    assert (fetched.sid, fetched.to, fetched.status) == (live_call.sid, CUSTOMER, "in-progress")
    assert fetched.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{live_call.sid}.json"


def test_redirect_to_a_url_waits_for_the_live_call(twilio_rest, ledger, live_call):
    updated = twilio_rest.calls(live_call.sid).update(url=CALLBACK_URL + "?step=agent", method="GET")
    assert updated.sid == live_call.sid
    assert ledger.calls[live_call.sid].pending == ("url", CALLBACK_URL + "?step=agent", "GET")


def test_new_twiml_waits_for_the_live_call(twilio_rest, ledger, live_call):
    response = VoiceResponse()
    response.say("An agent is joining the call.")
    twilio_rest.calls(live_call.sid).update(twiml=response)
    assert ledger.calls[live_call.sid].pending == ("twiml", str(response))


def test_hanging_up_waits_for_the_live_call(twilio_rest, ledger, live_call):
    twilio_rest.calls(live_call.sid).update(status="completed")
    assert ledger.take_pending(live_call.sid) == ("status", "completed")
    assert ledger.take_pending(live_call.sid) is None


def test_updating_an_unknown_call_is_20404(twilio_rest):
    error = refused(twilio_rest.calls("CA" + "0" * 32).update, status="completed")
    assert (error.status, error.code) == (404, 20404)


def test_redirecting_a_finished_call_is_21220(twilio_rest, ledger, live_call):
    ledger.calls[live_call.sid].status = "completed"
    error = refused(twilio_rest.calls(live_call.sid).update, url=CALLBACK_URL)
    assert (error.status, error.code) == (400, 21220)


def test_wrong_auth_token_is_refused_with_20003(rest_settings, phone):
    intruder = twilio_client(rest_settings.with_(twilio_auth_token="not-the-token"))
    error = refused(intruder.calls.create, to=CUSTOMER, from_=SUPPORT_LINE, url=CALLBACK_URL)
    assert (error.status, error.code) == (401, 20003)
    assert phone.placed == []


def test_edge_and_region_settings_cannot_send_requests_elsewhere(rest_settings, monkeypatch):
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    call = twilio_client(rest_settings).calls.create(to=CUSTOMER, from_=SUPPORT_LINE, url=CALLBACK_URL)
    assert call.status == "queued"


def test_unknown_resources_get_twilio_error_json(server):
    response = requests.get(f"{server.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Queues.json",
                            auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert response.status_code == 404
    assert response.json()["code"] == 20404


# Recordings during a call


def test_recording_starts_on_a_live_call_with_the_requested_options(twilio_rest, phone, live_call):
    recording = twilio_rest.calls(live_call.sid).recordings.create(
        recording_status_callback="https://ivr.example.test/voice/recording",
        recording_status_callback_event=["in-progress", "completed"], recording_channels="dual")
    assert re.fullmatch(r"RE[0-9a-f]{32}", recording.sid)
    assert (recording.call_sid, recording.status, recording.channels) == (live_call.sid, "in-progress", 2)
    assert recording.source == "StartCallRecordingAPI"
    [options] = phone.recording_requests
    assert options["RecordingStatusCallbackEvent"] == ["in-progress", "completed"]


def test_recording_a_call_that_is_not_live_is_21220(twilio_rest, ledger, live_call):
    ledger.calls[live_call.sid].status = "completed"
    error = refused(twilio_rest.calls(live_call.sid).recordings.create)
    assert (error.status, error.code) == (400, 21220)


def test_current_recording_pauses_skipping_then_resumes_and_stops(twilio_rest, ledger, live_call):
    started = twilio_rest.calls(live_call.sid).recordings.create()
    current = twilio_rest.calls(live_call.sid).recordings("Twilio.CURRENT")

    paused = current.update(status="paused", pause_behavior="skip")
    assert (paused.sid, paused.status) == (started.sid, "paused")
    assert ledger.recordings[started.sid].pause_behavior == "skip"

    assert current.update(status="in-progress").status == "in-progress"
    assert current.update(status="stopped").status == "stopped"
    assert ledger.recordings[started.sid].status == "stopped"


def test_pause_without_a_behaviour_keeps_silence(twilio_rest, ledger, live_call):
    started = twilio_rest.calls(live_call.sid).recordings.create()
    twilio_rest.calls(live_call.sid).recordings(started.sid).update(status="paused")
    assert ledger.recordings[started.sid].pause_behavior == "silence"


def test_current_recording_without_an_active_one_is_20404(twilio_rest, live_call):
    error = refused(twilio_rest.calls(live_call.sid).recordings("Twilio.CURRENT").update, status="paused")
    assert (error.status, error.code) == (404, 20404)


def test_current_recording_with_two_active_ones_is_16108(twilio_rest, live_call):
    twilio_rest.calls(live_call.sid).recordings.create()
    twilio_rest.calls(live_call.sid).recordings.create()
    error = refused(twilio_rest.calls(live_call.sid).recordings("Twilio.CURRENT").update, status="paused")
    assert (error.status, error.code) == (400, 16108)


def test_stopped_recording_cannot_be_resumed(twilio_rest, live_call):
    started = twilio_rest.calls(live_call.sid).recordings.create()
    twilio_rest.calls(live_call.sid).recordings(started.sid).update(status="stopped")
    error = refused(twilio_rest.calls(live_call.sid).recordings(started.sid).update, status="in-progress")
    assert (error.status, error.code) == (400, 21220)


# Stored recordings


def test_fetched_recording_is_processing_until_stored_then_completed(twilio_rest, ledger, live_call):
    started = twilio_rest.calls(live_call.sid).recordings.create()
    running = twilio_rest.recordings(started.sid).fetch()
    assert (running.status, running.duration) == ("processing", None)

    ledger.complete_recording(started.sid, tone_wav(), duration=4)
    stored = twilio_rest.recordings(started.sid).fetch()
    assert (stored.sid, stored.call_sid) == (started.sid, live_call.sid)
    assert (stored.status, stored.duration) == ("completed", "4")
    assert (stored.source, stored.channels, stored.account_sid) == ("StartCallRecordingAPI", 1, ACCOUNT_SID)
    assert stored.media_url == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{started.sid}"
    assert stored.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{started.sid}.json"


def test_completed_recording_downloads_as_wav_with_basic_auth(twilio_rest, ledger, server, live_call):
    started = twilio_rest.calls(live_call.sid).recordings.create()
    audio = tone_wav()
    ledger.complete_recording(started.sid, audio, duration=1)
    recording = twilio_rest.recordings(started.sid).fetch()

    response = requests.get(media_url(server, recording), auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "audio/x-wav"
    assert response.content == audio
    plain = requests.get(media_url(server, recording, ""), auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert (plain.headers["Content-Type"], plain.content) == ("audio/x-wav", audio)
    with wave.open(io.BytesIO(response.content)) as downloaded:
        assert (downloaded.getnchannels(), downloaded.getframerate()) == (1, 8000)

    assert requests.get(media_url(server, recording), timeout=5).status_code == 401
    mp3 = requests.get(media_url(server, recording, ".mp3"), auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert (mp3.status_code, mp3.json()["code"]) == (404, 20404)


def test_media_is_missing_while_the_recording_runs(twilio_rest, ledger, server, live_call):
    started = twilio_rest.calls(live_call.sid).recordings.create()
    recording = twilio_rest.recordings(started.sid).fetch()
    response = requests.get(media_url(server, recording), auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert (response.status_code, response.json()["code"]) == (404, 20404)


def test_deleted_recording_is_gone_but_its_metadata_is_kept(twilio_rest, ledger, server, live_call):
    started = twilio_rest.calls(live_call.sid).recordings.create()
    ledger.complete_recording(started.sid, tone_wav(), duration=1)
    recording = twilio_rest.recordings(started.sid).fetch()

    assert twilio_rest.recordings(started.sid).delete() is True
    error = refused(twilio_rest.recordings(started.sid).delete)
    assert (error.status, error.code) == (404, 20404)
    assert refused(twilio_rest.recordings(started.sid).fetch).code == 20404
    assert twilio_rest.recordings(started.sid).fetch(include_soft_deleted=True).status == "deleted"
    media = requests.get(media_url(server, recording), auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert media.status_code == 404
    assert ledger.recordings[started.sid].audio == b""


def test_recording_still_running_cannot_be_deleted(twilio_rest, ledger, live_call):
    started = twilio_rest.calls(live_call.sid).recordings.create()
    error = refused(twilio_rest.recordings(started.sid).delete)
    assert (error.status, error.code) == (400, 20009)
    assert ledger.recordings[started.sid].status == "in-progress"


def test_requested_channels_mixes_down_or_refuses_dual_of_a_mono_recording(twilio_rest, ledger, server, live_call):
    """Twilio's RequestedChannels: 1 mixes a dual-channel recording down; 2 of a mono one is 400, 16113."""
    mono = twilio_rest.calls(live_call.sid).recordings.create()
    ledger.complete_recording(mono.sid, tone_wav(), duration=1)
    url = media_url(server, twilio_rest.recordings(mono.sid).fetch())
    refused_dual = requests.get(url + "?RequestedChannels=2", auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert (refused_dual.status_code, refused_dual.json()["code"]) == (400, 16113)
    assert requests.get(url + "?RequestedChannels=1", auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5).content == tone_wav()
    entry = ledger.add_recording(live_call.sid, "StartCallRecordingAPI", 0.0, channels=2)
    left = struct.pack("<4h", 1000, 1000, -2000, 0)  # frames: (1000, 1000), (-2000, 0)
    ledger.complete_recording(entry.sid, wav_of(left, channels=2), duration=1)
    dual_url = media_url(server, twilio_rest.recordings(entry.sid).fetch())
    both = requests.get(dual_url + "?RequestedChannels=2", auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    mixed = requests.get(dual_url + "?RequestedChannels=1", auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    with wave.open(io.BytesIO(both.content)) as as_recorded, wave.open(io.BytesIO(mixed.content)) as down:
        assert (as_recorded.getnchannels(), down.getnchannels()) == (2, 1)
        assert struct.unpack("<2h", down.readframes(2)) == (2000, -2000)


def wav_of(pcm: bytes, channels: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(pcm)
    return buffer.getvalue()


def test_media_redirect_option_sends_media_to_an_unauthenticated_storage_url(ledger):
    """Options.media_redirect (unconfirmed at Twilio): 307 to a storage URL that needs no credentials."""
    entry = ledger.add_recording("CA" + "3" * 32, "StartCallRecordingAPI", 0.0, channels=1)
    ledger.complete_recording(entry.sid, tone_wav(), duration=1)
    with RestServer(rest_api(ledger, AUTH_TOKEN, media_redirect=lambda: True)) as running:
        url = f"{running.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{entry.sid}.wav?RequestedChannels=1"
        answer = requests.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), allow_redirects=False, timeout=5)
        assert answer.status_code == 307 and "/emulated-storage/" in answer.headers["Location"]
        assert requests.get(answer.headers["Location"], timeout=5).content == tone_wav()
