"""What the speech capability does when the engine asks to hear the caller (Listen): choose how
(a media stream to vosk, a recording, Twilio's speech gather), or tell the engine nobody here can
hear this language, so it goes to the keypad."""
from __future__ import annotations

from dataclasses import replace

from ivr.calls.turn import Turn
from ivr.core.actions import HearVia, Listen
from ivr.core.events import Heard
from ivr.speech.hearing import Hearing
from ivr.speech.stream_access import stream_token


def hear(turn: Turn, action: Listen) -> None:
    mode = turn.rt.service(Hearing).mode(turn.flow, action.language)
    if mode == "none":
        turn.answer(Heard("", None, 0.0, source="none"))
        return
    turn.state = turn.state.with_(listening=replace(turn.state.listening, mode=mode))
    token = stream_token(turn.rt.settings, turn.call.call_sid, action.attempt) if mode == "stream" else None
    turn.emit(HearVia(mode, action, turn.flow.language(action.language).speech, stream_token=token))
