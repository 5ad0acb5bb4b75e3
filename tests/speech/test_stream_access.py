"""Issue 13, defect 6: a media stream is bound to the call listening now. A signed handshake alone
opens nothing: the `start` must name a well-formed CallSid of a call waiting at that listen, with
the token its <Stream> was given; otherwise the socket is closed before any audio is heard, and no
call is moved (nor any REST path built from the CallSid)."""
from __future__ import annotations

import json

import pytest
import simple_websocket

from ivr.calls.twiml import render
from ivr.core.actions import HearVia, Listen
from ivr.speech.stream_access import stream_token
from tests.conftest import PUBLIC_URL

WSS = "wss://ivr.example.test/voice/stream"
IDLE = "CA" + "7" * 32


def open_stream(twilio):
    target = f"ws://{twilio.transport.connect_to.netloc}/voice/stream"
    return simple_websocket.Client.connect(target, headers={"X-Twilio-Signature": twilio.sign(WSS, {})})


def start(call_sid, **parameters):
    return json.dumps({"event": "start", "start": {"callSid": call_sid, "streamSid": "MZ" + "1" * 32,
                                                   "customParameters": {"attempt": "0", "language": "ko",
                                                                        **parameters}}})


@pytest.mark.parametrize("call_sid, parameters", [
    ("CA" + "1" * 32 + "/../../IncomingPhoneNumbers/PN" + "2" * 32, {}),  # a bent SID
    (IDLE, {}),  # no token
    (IDLE, {"token": "0" * 40}),  # a made-up token
    (IDLE, "right token, but the call is not listening"),
    (["CA" + "1" * 32], {}),  # not even a string
])
def test_a_stream_start_for_no_listening_call_is_closed_at_once(served, settings, call_sid, parameters):
    twilio = served()
    if isinstance(parameters, str):
        parameters = {"token": stream_token(settings, IDLE, 0)}
    ws = open_stream(twilio)
    ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    ws.send(start(call_sid, **parameters))
    with pytest.raises(simple_websocket.ConnectionClosed):
        for _ in range(50):  # the app closes the socket; before the fix it sat waiting for audio
            ws.receive(timeout=0.2)


def test_each_listen_gets_its_own_token_in_its_stream_parameters(settings):
    listen = Listen("describe", (), "ko", 10, 1)
    token = stream_token(settings, IDLE, 1)
    xml = render([HearVia("stream", listen, stream_token=token)], lambda path: PUBLIC_URL + path)
    assert f'<Parameter name="token" value="{token}" />' in xml
    assert len({token, stream_token(settings, IDLE, 2), stream_token(settings, "CA" + "8" * 32, 1),
                stream_token(settings.with_(twilio_auth_token="another-account-token-0123456789"), IDLE, 1)}) == 4


def test_streams_beyond_the_slots_are_refused_while_webhooks_still_answer(served):
    """Issue 13, defect 9: streams have their own capacity (IVR_STREAM_SLOTS per web worker, on
    threads of their own under `ivr serve`); one more is refused instead of taking a webhook's thread."""
    twilio = served(stream_slots=2)
    streams = [open_stream(twilio) for _ in range(3)]
    # the app takes a slot when it starts serving a stream, in whatever order its threads get there:
    # whichever of the three came last is refused and closed, the other two stay open
    refused = []
    for _ in range(50):
        for ws in streams:
            try:
                ws.receive(timeout=0.05)
            except simple_websocket.ConnectionClosed:
                if ws not in refused:
                    refused.append(ws)
        if refused:
            break
    assert len(refused) == 1
    held = [ws for ws in streams if ws is not refused[0]]
    for ws in held:
        assert ws.receive(timeout=0.2) is None  # still open
    url, params = f"{PUBLIC_URL}/voice/incoming", {"CallSid": "CA" + "9" * 32, "From": "+821012345678",
                                                   "To": "+442079460100", "CallStatus": "ringing"}
    answer = twilio.transport.request("POST", url, params, {"X-Twilio-Signature": twilio.sign(url, params)})
    assert answer.status == 200 and "<Say" in answer.body
    held[0].close()
    for _ in range(50):  # its slot comes back once the app has seen it close
        again = open_stream(twilio)
        try:
            again.receive(timeout=0.2)
        except simple_websocket.ConnectionClosed:
            continue
        break
    else:
        pytest.fail("a closed stream's slot never came back")
    again.close()
    held[1].close()
