"""The emulator against the reference (shared/reference/TWILIO_RQ.md): signatures, parameters,
Gather and Record callbacks, fallback, status callback order, Dial with whisper, queues."""
from __future__ import annotations

import io
import wave

import pytest
import requests

from ivr.emulator import Agent, HangUp, Options, Press, Silence, Speak
from ivr.settings import Settings
from ivr.twilio_rest import twilio_client
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.probe import BASE, CALLER, NUMBER, Probe, twilio_for, twiml

STANDARD = {"CallSid", "AccountSid", "From", "To", "CallStatus", "ApiVersion", "Direction"}
GEOGRAPHIC = {"FromCity", "FromState", "FromZip", "FromCountry", "ToCity", "ToState", "ToZip", "ToCountry"}
LEGACY = {"Caller", "Called", "CallerCity", "CallerState", "CallerZip", "CallerCountry", "CalledCity",
          "CalledState", "CalledZip", "CalledCountry"}


def test_every_request_is_signed_so_request_validator_accepts_it():
    probe = Probe({"/voice": twiml('<Gather action="/menu?step=1" numDigits="1"><Say>Press 1</Say></Gather>'),
                   "/menu": twiml('<Redirect method="GET">/next?a=b</Redirect>'),
                   "/next": twiml("<Say>Bye</Say><Hangup/>")})
    call = twilio_for(probe).call(NUMBER, CALLER, [Press("1")])
    assert [r.path for r in probe.received] == ["/voice", "/menu", "/next", "/status"]
    assert all(r.signature_ok for r in probe.received)
    assert probe.to("/next")[0].method == "GET" and probe.to("/next")[0].params["a"] == "b"
    assert call.ended_by == "ivr-hangup"


def test_a_forged_signature_would_be_caught_by_the_validator():
    probe = Probe({"/voice": twiml("<Hangup/>")})
    probe.validator = type(probe.validator)("another-token")
    twilio_for(probe).call(NUMBER, CALLER)
    assert not any(r.signature_ok for r in probe.received)


def test_requests_carry_standard_geographic_and_legacy_parameters_and_an_idempotency_token():
    probe = Probe({"/voice": twiml("<Say>Hi</Say>")})
    call = twilio_for(probe).call(NUMBER, CALLER, StirVerstat="TN-Validation-Passed-A")
    first = probe.to("/voice")[0]
    assert STANDARD | GEOGRAPHIC | LEGACY <= set(first.params)
    assert first.params["CallSid"] == call.sid and len(call.sid) == 34 and first.params["AccountSid"] == ACCOUNT_SID
    assert first.params["FromCountry"] == first.params["CallerCountry"] == "GB"
    assert first.params["ToCountry"] == "US" and first.params["CallStatus"] == "ringing"
    assert first.params["StirVerstat"] == "TN-Validation-Passed-A"
    assert first.headers["I-Twilio-Idempotency-Token"] and first.headers["User-Agent"] == "TwilioProxy/1.1"
    assert call.ended_by == "no-more-verbs"  # the document ran out of verbs: the call ends


def test_gather_digits_num_digits_and_finish_on_key():
    probe = Probe({"/voice": twiml('<Gather action="/a" finishOnKey="#"><Say>Your ID</Say></Gather>'),
                   "/a": twiml('<Gather action="/b" numDigits="2"/>'), "/b": twiml("<Hangup/>")})
    twilio_for(probe).call(NUMBER, CALLER, [Press("123#9"), Press("4567")])
    assert probe.to("/a")[0].params["Digits"] == "123" and probe.to("/a")[0].params["FinishedOnKey"] == "#"
    assert probe.to("/b")[0].params["Digits"] == "45" and probe.to("/b")[0].params["FinishedOnKey"] == ""


def test_gather_without_input_falls_through_unless_action_on_empty_result():
    probe = Probe({"/voice": twiml('<Gather action="/never"/><Say>Fell through</Say>'
                                   '<Gather action="/empty" actionOnEmptyResult="true"/>'),
                   "/empty": twiml("<Hangup/>")})
    call = twilio_for(probe).call(NUMBER, CALLER, [Silence(), Silence()])
    assert call.heard("Fell through") and not probe.to("/never")
    empty = probe.to("/empty")[0].params
    assert "Digits" not in empty and "SpeechResult" not in empty


def test_gather_without_action_posts_to_the_current_document_and_resolves_relative_urls():
    probe = Probe({"/ivr/voice": twiml('<Gather numDigits="1"/>'), "/ivr/menu": twiml("<Hangup/>")})
    probe.pages["/ivr/voice"] = lambda req: twiml('<Gather numDigits="1"/>') if "Digits" not in req.form \
        else twiml('<Redirect>menu</Redirect>')
    twilio_for(probe, voice="/ivr/voice").call(NUMBER, CALLER, [Press("5")])
    assert [r.path for r in probe.received][:3] == ["/ivr/voice", "/ivr/voice", "/ivr/menu"]
    assert probe.received[1].params["Digits"] == "5"


def test_speech_gather_sends_the_transcript_and_a_keys_only_gather_does_not_hear_speech():
    probe = Probe({"/voice": twiml('<Gather input="speech dtmf" action="/s" language="en-GB"/>'),
                   "/s": twiml('<Gather action="/k" actionOnEmptyResult="true"/>'), "/k": twiml("<Hangup/>")})
    twilio_for(probe).call(NUMBER, CALLER, [Speak("my withdrawal is late", confidence=0.82), Speak("hello")])
    assert probe.to("/s")[0].params["SpeechResult"] == "my withdrawal is late"
    assert probe.to("/s")[0].params["Confidence"] == "0.82"
    assert "SpeechResult" not in probe.to("/k")[0].params


def test_record_sends_a_real_recording_of_what_the_caller_said():
    probe = Probe({"/voice": twiml('<Record action="/done" maxLength="20" recordingStatusCallback="/rec"/>'),
                   "/done": twiml("<Hangup/>")})
    twilio = twilio_for(probe)
    call = twilio.call(NUMBER, CALLER, [Speak("my account was hacked last night", language="en")])
    done = probe.to("/done")[0].params
    assert done["RecordingUrl"].startswith(f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE")
    assert int(done["RecordingDuration"]) >= 1 and "Digits" not in done
    status = probe.to("/rec")[0].params
    assert status["RecordingSource"] == "RecordVerb" and status["RecordingChannels"] == "1"
    assert status["RecordingStatus"] == "completed" and status["RecordingSid"] == call.recordings[0]
    with twilio.serve_rest() as rest:
        media = requests.get(rest.url + done["RecordingUrl"].split("api.twilio.com")[1] + ".wav",
                             auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
        assert requests.get(rest.url + done["RecordingUrl"].split("api.twilio.com")[1], timeout=5).status_code == 401
    assert media.status_code == 200 and media.headers["Content-Type"] == "audio/x-wav"
    with wave.open(io.BytesIO(media.content)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 1)
        frames = wav.readframes(wav.getnframes())
    loud = sum(1 for i in range(0, len(frames), 2) if abs(int.from_bytes(frames[i:i + 2], "little", signed=True)) > 500)
    assert loud > 2000  # real speech, not silence


def test_record_ended_by_a_key_or_a_hang_up():
    probe = Probe({"/voice": twiml('<Record action="/done" finishOnKey="#"/>'),
                   "/done": lambda req: twiml('<Record action="/again"/>') if req.form.get("Digits") == "#"
                   else twiml("<Hangup/>"), "/again": twiml("<Hangup/>")})
    twilio_for(probe).call(NUMBER, CALLER, [Press("#"), HangUp()])
    assert probe.to("/done")[0].params["Digits"] == "#"
    assert probe.to("/again")[0].params["Digits"] == "hangup"


@pytest.mark.parametrize("empty_record, requested", [("action", True), ("fall-through", False)])
def test_a_silent_record_follows_the_configured_behaviour(empty_record, requested):
    probe = Probe({"/voice": twiml('<Record action="/done"/><Say>After the record</Say>')})
    call = twilio_for(probe, options=Options(empty_record=empty_record)).call(NUMBER, CALLER, [Silence()])
    assert bool(probe.to("/done")) == requested and call.heard("After the record") == (not requested)


@pytest.mark.parametrize("page, code", [
    ((500, "text/plain", "boom"), "11200"),
    ((200, "text/xml", "<Response><Say>unclosed</Response>"), "12100"),
    ((200, "application/json", "{}"), "12300"),
])
def test_a_broken_answer_goes_to_the_fallback_with_error_code_and_url(page, code):
    probe = Probe({"/voice": page, "/fallback": twiml("<Say>Sorry, let me help.</Say><Hangup/>")})
    call = twilio_for(probe).call(NUMBER, CALLER)
    fallback = probe.to("/fallback")[0].params
    assert fallback["ErrorCode"] == code and fallback["ErrorUrl"] == BASE + "/voice"
    assert call.heard("Sorry, let me help.") and not call.heard_stock_error


def test_a_slow_answer_counts_as_a_timeout():
    probe = Probe({"/voice": (0.3, "sleep", ""), "/fallback": twiml("<Hangup/>")})
    twilio_for(probe, options=Options(request_budget=0.1)).call(NUMBER, CALLER)
    assert probe.to("/fallback")[0].params["ErrorCode"] == "11205"


def test_without_a_working_fallback_the_caller_hears_the_stock_error():
    probe = Probe({"/voice": (500, "text/plain", "boom"), "/fallback": (500, "text/plain", "also broken")})
    call = twilio_for(probe).call(NUMBER, CALLER)
    assert call.heard_stock_error and call.ended_by == "stock-error"
    call = twilio_for(probe, fallback=None).call(NUMBER, CALLER)
    assert call.heard_stock_error and len(call.requests) == 2  # the voice URL, then the status callback


def test_the_number_status_callback_reports_completion_with_sequence_number_and_duration():
    probe = Probe({"/voice": twiml("<Say>One two three four five six seven eight nine ten</Say>")})
    twilio_for(probe).call(NUMBER, CALLER)
    [status] = probe.to("/status")
    assert status.params["CallStatus"] == "completed" and status.params["SequenceNumber"] == "0"
    assert int(status.params["CallDuration"]) >= 3 and status.params["CallbackSource"] == "call-progress-events"


@pytest.fixture
def rest(request):
    """The fake REST API for a probe's Twilio, and the app's real client pointed at it."""
    def make(twilio):
        server = twilio.serve_rest().__enter__()
        request.addfinalizer(lambda: server.__exit__(None, None, None))
        settings = Settings.from_env({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                                      "IVR_TWILIO_API_URL": server.url})
        return twilio_client(settings)
    return make


@pytest.mark.parametrize("order", ["in-order", "shuffled"])
def test_rest_created_calls_report_each_progress_event_numbered_from_zero(rest, order):
    probe = Probe({"/callback-twiml": twiml("<Say>Hello, this is support calling back.</Say>")})
    twilio = twilio_for(probe, options=Options(callback_order=order, seed=3))
    twilio.person("+14155550123", Agent(presses=()))
    created = rest(twilio).calls.create(to="+14155550123", from_=NUMBER, url=BASE + "/callback-twiml",
                                        status_callback=BASE + "/progress",
                                        status_callback_event=["initiated", "ringing", "answered", "completed"])
    [call] = twilio.wait_outbound()
    assert call.sid == created.sid and call.heard("support calling back") and created.status == "queued"
    progress = probe.to("/progress")
    numbers = [int(r.params["SequenceNumber"]) for r in progress]
    statuses = {r.params["SequenceNumber"]: r.params["CallStatus"] for r in progress}
    assert sorted(numbers) == [0, 1, 2, 3]
    assert statuses == {"0": "initiated", "1": "ringing", "2": "in-progress", "3": "completed"}
    assert (numbers == [0, 1, 2, 3]) == (order == "in-order")
    assert probe.to("/callback-twiml")[0].params["Direction"] == "outbound-api"


def test_a_rest_call_nobody_answers_reports_no_answer(rest):
    probe = Probe()
    twilio = twilio_for(probe)
    rest(twilio).calls.create(to="+14155550123", from_=NUMBER, url=BASE + "/x", status_callback=BASE + "/progress")
    [call] = twilio.wait_outbound()
    assert call.status == "no-answer" and not probe.to("/x")
    assert [r.params["CallStatus"] for r in probe.to("/progress")] == ["no-answer"]


def test_a_rest_update_redirects_the_live_call(rest):
    probe = Probe()
    twilio = twilio_for(probe)
    client = rest(twilio)

    def hold(req):
        if len(probe.to("/hold")) == 2:
            client.calls(req.form["CallSid"]).update(url=BASE + "/agent-free")
        return twiml("<Say>Please hold.</Say>")

    probe.pages.update({"/voice": twiml('<Enqueue waitUrl="/hold" action="/left">support</Enqueue>'),
                        "/hold": hold, "/agent-free": twiml("<Say>An agent is free.</Say><Hangup/>")})
    call = twilio.call(NUMBER, CALLER, [])
    assert call.heard("An agent is free.") and len(probe.to("/hold")) == 2
    first_hold = probe.to("/hold")[0].params
    assert first_hold["QueuePosition"] == "1" and first_hold["QueueSid"].startswith("QU")
    assert not probe.to("/left")  # redirected calls leave the queue without the action


def test_leaving_a_queue_reports_the_result_to_the_action():
    probe = Probe({"/voice": twiml('<Enqueue waitUrl="/hold" action="/left">support</Enqueue>'),
                   "/hold": twiml("<Say>Sorry, everyone is busy.</Say><Leave/>"),
                   "/left": twiml("<Say>We will call you back.</Say>")})
    call = twilio_for(probe).call(NUMBER, CALLER)
    assert probe.to("/left")[0].params["QueueResult"] == "leave" and call.heard("We will call you back.")


def test_a_caller_who_hangs_up_in_the_queue_is_reported_as_hangup():
    probe = Probe({"/voice": twiml('<Enqueue waitUrl="/hold" action="/left">support</Enqueue>'),
                   "/hold": twiml("<Say>Please hold.</Say>")})
    twilio_for(probe, options=Options(queue_poll=0)).call(NUMBER, CALLER, [HangUp()])
    assert probe.to("/left")[0].params["QueueResult"] == "hangup"


WHISPER = twiml('<Gather action="/accept" numDigits="1" timeout="5"><Say>Urgent call. Press 1 to accept.</Say>'
                '</Gather><Hangup/>')


def dial_probe() -> Probe:
    return Probe({
        "/voice": twiml('<Dial action="/dialed" timeout="20"><Number url="/whisper" statusCallback="/leg" '
                        'statusCallbackEvent="initiated ringing answered completed">+14155550111</Number>'
                        '<Number url="/whisper">+14155550122</Number></Dial>'),
        "/whisper": WHISPER,
        "/accept": lambda req: twiml("") if req.form.get("Digits") == "1" else twiml("<Hangup/>"),
        "/dialed": twiml("<Say>Back with the IVR.</Say>")})


@pytest.mark.parametrize("first, second, status, bridged_to", [
    (Agent(), Agent(), "completed", "+14155550111"),
    (Agent(answer="no-answer"), Agent(), "completed", "+14155550122"),
    (Agent(presses=()), Agent(), "completed", "+14155550122"),
    (Agent(answer="busy"), Agent(answer="busy"), "busy", None),
    (Agent(answer="no-answer"), Agent(presses=("2",)), "no-answer", None),
])
def test_dial_rings_agents_with_a_whisper_and_reports_dial_call_status(first, second, status, bridged_to):
    probe = dial_probe()
    twilio = twilio_for(probe)
    twilio.person("+14155550111", first)
    twilio.person("+14155550122", second)
    call = twilio.call(NUMBER, CALLER)
    dialed = probe.to("/dialed")[0].params
    assert dialed["DialCallStatus"] == status
    bridged = [leg for leg in call.legs if leg.sid == dialed.get("DialCallSid") and dialed["DialBridged"] == "true"]
    assert (bridged[0].to if bridged else None) == bridged_to
    whisper = [r.params for r in probe.to("/whisper")]
    assert all(p["Direction"] == "outbound-dial" and p["ParentCallSid"] == call.sid for p in whisper)
    leg_events = [r.params["CallStatus"] for r in probe.to("/leg")]
    assert leg_events[:2] == ["initiated", "ringing"] and leg_events[-1] in ("completed", "busy", "no-answer")
    assert call.heard("Back with the IVR.")


def test_dial_without_action_goes_on_with_the_next_verb():
    probe = Probe({"/voice": twiml("<Dial>+14155550111</Dial><Say>After the dial</Say>")})
    call = twilio_for(probe).call(NUMBER, CALLER)
    assert call.heard("After the dial") and call.legs[0].status == "no-answer"
