"""The Media Streams websocket: a listen step's audio arrives here (8 kHz μ-law, 20 ms frames) and
feeds a vosk recogniser; as soon as we know what the caller wants, the live call is moved on
through Twilio's REST API (calls(sid).update) to /voice/listen, which tells the engine. A call's
urgency stream (ivr/speech/urgency.py) arrives here too, through the IVR's questions: an urgent
phrase moves the call to /voice/urgency.

The handshake is signed like a webhook: X-Twilio-Signature over the wss:// URL, no parameters;
the stream's `start` must then name a call listening now, with its listen's token
(ivr/speech/stream_access.py), or the socket is closed before any audio is heard. A web worker
holds at most IVR_STREAM_SLOTS streams (`ivr serve` gives it that many threads on top of the
webhooks' own); one more is refused, so streams never starve the webhooks.
"""
from __future__ import annotations

import base64
import json
import logging
import threading

from flask import abort, request
from flask_sock import Sock
from twilio.request_validator import RequestValidator

from ivr.speech import urgency
from ivr.speech.hearing import Decision, Hearing, heard_key
from ivr.speech.listener import StreamListener
from ivr.speech.stream_access import admit
from ivr.speech.urgency_listener import UrgencyListener
from ivr.web import runtime
from ivr.web.signature import signed_url

log = logging.getLogger(__name__)
PATH = "/voice/stream"
RECEIVE_TIMEOUT = 30  # seconds without a message before we give up on a stream


def register(app) -> None:
    sock = Sock(app)
    slots = threading.BoundedSemaphore(app.extensions["ivr"].settings.stream_slots)

    @app.before_request
    def _signed_handshake():
        if request.path != PATH:
            return None
        rt = runtime()
        url = signed_url(rt.settings.public_base)
        wss = "wss://" + url.split("://", 1)[1] if url.startswith("https") else "ws://" + url.split("://", 1)[1]
        validator = RequestValidator(rt.settings.twilio_auth_token)
        signature = request.headers.get("X-Twilio-Signature", "")
        # Twilio signs the wss:// URL; its docs also suggest trying with a trailing slash
        if signature and any(validator.validate(u, {}, signature) for u in (wss, wss + "/", url)):
            return None
        rt.metrics.signature_failures.labels("media_stream").inc()
        log.warning("refused a media stream: bad or missing X-Twilio-Signature")
        abort(403)

    @sock.route(PATH)
    def stream(ws):
        rt = runtime()
        if not slots.acquire(blocking=False):  # every slot taken: refuse, and keep the thread for webhooks
            rt.metrics.streams_refused.inc()  # an urgency stream refused: keys still work for that call
            log.warning("refused a media stream: all %d stream slots are taken", rt.settings.stream_slots)
            ws.close(reason=1013, message="try again later")
            return
        listener: StreamListener | UrgencyListener | None = None
        call_sid, attempt = None, 0
        try:
            while True:
                raw = ws.receive(timeout=RECEIVE_TIMEOUT)
                if raw is None:
                    break
                message = json.loads(raw)
                event = message.get("event")
                if event == "start":
                    admitted = admit(rt, message.get("start"))
                    if admitted is None:
                        rt.metrics.signature_failures.labels("media_stream_start").inc()
                        log.warning("refused a media stream: not a call listening now, or a wrong token",
                                    extra={"call_sid": str((message.get("start") or {}).get("callSid"))[:64]})
                        break
                    call_sid, attempt, params = admitted.call_sid, admitted.attempt, admitted.parameters
                    if admitted.urgency_language is not None:  # the call's urgency stream, through its questions
                        rt.metrics.urgency_streams.inc()
                        listener = UrgencyListener(rt.service(Hearing), admitted.urgency_language,
                                                   lambda decision, sid=call_sid: urgency.act(rt, sid, decision))
                        continue
                    listener = StreamListener(rt.service(Hearing), str(params.get("language", "en")),
                                              lambda decision, sid=call_sid, n=attempt: _act(rt, sid, n, decision),
                                              give_up_ms=_whole(params.get("give_up_ms")))
                elif event == "media" and listener is not None:
                    listener.feed(base64.b64decode(message["media"]["payload"]))
                elif event == "stop":
                    break
        except Exception:  # a broken stream must not take the call down: the Pause ends, /voice/listen goes on
            log.exception("media stream failed", extra={"call_sid": call_sid})
        finally:
            slots.release()
            if listener is not None:
                listener.finish()


def _whole(value) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and 0 < int(text) < 10 * 60 * 1000 else None


def _act(rt, call_sid: str, attempt: int, decision: Decision) -> None:
    """Keep the decision for /voice/listen and move the live call there, unless the listen is already over."""
    if not rt.redis.set(heard_key(call_sid, attempt), decision.to_json(), nx=True, ex=rt.settings.call_state_ttl):
        return  # /voice/listen already closed this listen (the pause ran out)
    rt.metrics.speech_decisions.labels(decision.decided_by).inc()
    try:
        rt.twilio.calls(call_sid).update(url=rt.url_for(f"/voice/listen?attempt={attempt}"), method="POST")
    except Exception:  # the Pause still ends and its Redirect brings the call to /voice/listen
        log.exception("could not move the call on after it was heard", extra={"call_sid": call_sid})
