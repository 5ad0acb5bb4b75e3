"""Who may open a media stream: the call that is listening now, for the listen it was told about.

The websocket handshake is signed like a webhook, but over a constant URL, so a captured handshake
alone proves nothing about which call a stream belongs to. Each listen therefore gets a token,
an HMAC (keyed with the auth token) of its CallSid and attempt, sent as a <Parameter> of its
<Stream>; the stream's `start` message must bring it back with a well-formed CallSid of a call
waiting at that very listen now. A replayed or forged `start` opens nothing and moves no call.
The call's urgency stream (ivr/speech/urgency.py) is bound the same way, by a token of its CallSid,
to a call at one of the IVR's questions now.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from ivr.runtime import Runtime
from ivr.settings import Settings
from ivr.sids import is_sid
from ivr.speech.listen_results import listening_now
from ivr.speech.urgency import at_a_question, urgency_token

PURPOSE = b"ivr media stream v1"


@dataclass(frozen=True)
class Admitted:
    call_sid: str
    attempt: int
    parameters: dict
    urgency_language: str | None = None  # set for the call's urgency stream (ivr/speech/urgency.py)


def stream_token(settings: Settings, call_sid: str, attempt: int) -> str:
    """The token of one call's listen: only this service (holding the auth token) can make it."""
    key = hmac.new(settings.twilio_auth_token.encode(), PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, f"{call_sid}:{attempt}".encode(), hashlib.sha256).hexdigest()[:40]


def admit(rt: Runtime, start: object) -> Admitted | None:
    """The stream's `start` message checked: a CallSid of the right shape, its listen's token, and
    that call listening at that attempt now. None (refused) otherwise."""
    if not isinstance(start, dict) or not isinstance(start.get("customParameters"), dict):
        return None
    call_sid, parameters = start.get("callSid"), start["customParameters"]
    if parameters.get("listen") == "urgency":
        return _admit_urgency(rt, call_sid, parameters)
    attempt = str(parameters.get("attempt", ""))
    if not is_sid(call_sid, "CA") or not attempt.isdigit() or len(attempt) > 4:
        return None
    expected = stream_token(rt.settings, call_sid, int(attempt))
    if not hmac.compare_digest(str(parameters.get("token", "")).encode(), expected.encode()):
        return None
    if not listening_now(rt, call_sid, int(attempt)):
        return None
    return Admitted(call_sid, int(attempt), parameters)


def _admit_urgency(rt: Runtime, call_sid: object, parameters: dict) -> Admitted | None:
    """The call's urgency stream: its token, and that call at a question where urgency is heard now."""
    if not is_sid(call_sid, "CA"):
        return None
    expected = urgency_token(rt.settings, call_sid)
    if not hmac.compare_digest(str(parameters.get("token", "")).encode(), expected.encode()):
        return None
    state = at_a_question(rt, call_sid)
    if state is None:
        return None
    return Admitted(call_sid, 0, parameters, urgency_language=state.language)
