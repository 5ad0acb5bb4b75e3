"""<Start><Stream>: the caller's audio sent to the app's websocket over the Media Streams protocol.

connected, start (with the <Parameter>s), media in 20 ms frames of base64 μ-law, stop; the
handshake signed over the wss:// URL like a webhook. The caller's own speech (and the quiet after
it) goes at the pace of real time, as on a phone line; the quiet while the IVR is still talking is
sent as fast as the app takes it, since only the audio's own time matters to a recogniser.
"""
from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import simple_websocket

from ivr.audio import mulaw
from ivr.emulator.sids import new_sid

FRAME_MS = 20
FRAME_BYTES = 160  # 20 ms of 8 kHz μ-law
QUIET = b"\xff" * FRAME_BYTES  # μ-law silence


@dataclass
class MediaStream:
    name: str
    url: str
    parameters: dict[str, str]
    sid: str = field(default_factory=lambda: new_sid("MZ"))
    socket: object = None
    sequence: int = 0
    chunk: int = 0
    sent_ms: int = 0
    last_speech_sent: float | None = None  # monotonic time the caller's last word left (or would have)

    def open(self, session) -> bool:
        """Connect to the app and say hello. False (with a warning) when it cannot be reached."""
        transport = session.twilio.transport
        connect_to = getattr(transport, "connect_to", None)
        if not hasattr(transport, "session"):  # in-process Flask: no sockets to speak over
            session.hear("warning", "media streams need the service over HTTP (ivr call runs one); not streamed")
            return False
        parts = urlsplit(self.url)
        target = self.url
        if connect_to is not None:
            scheme = "wss" if connect_to.scheme == "https" else "ws"
            target = f"{scheme}://{connect_to.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        headers = {"X-Twilio-Signature": session.twilio.sign(self.url, {})}
        try:
            self.socket = simple_websocket.Client.connect(target, headers=headers)
        except Exception as exc:  # refused handshake (403), nothing listening
            session.hear("warning", f"media stream to {self.url} failed: {exc}")
            return False
        call = session.call
        self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"}, numbered=False)
        self._send({"event": "start", "start": {
            "accountSid": session.twilio.account_sid, "streamSid": self.sid, "callSid": call.sid,
            "tracks": ["inbound"], "customParameters": self.parameters,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}})
        return True

    def quiet(self, ms: float, paced: bool = False, stop=lambda: False) -> bool:
        """Send `ms` of silence; True if `stop()` said to stop early."""
        return self.audio(QUIET * max(1, int(ms // FRAME_MS)), paced=paced, stop=stop)

    def audio(self, ulaw: bytes, paced: bool, stop=lambda: False, speech: bool = False) -> bool:
        """Send μ-law audio in 20 ms frames; paced = in real time. True if `stop()` said to stop early."""
        started = time.monotonic()
        if speech and paced:  # when the last voiced frame leaves (or would, if the app cuts in first)
            self.last_speech_sent = started + (_last_voiced_frame(ulaw) + 1) * FRAME_MS / 1000
        for index in range(0, len(ulaw), FRAME_BYTES):
            frame = ulaw[index:index + FRAME_BYTES].ljust(FRAME_BYTES, b"\xff")
            if not self.media(frame):
                return True
            if paced:
                due = started + (index // FRAME_BYTES + 1) * FRAME_MS / 1000
                time.sleep(max(0.0, due - time.monotonic()))
            if index % (FRAME_BYTES * 5) == 0 and stop():
                return True
        return stop()

    def media(self, frame: bytes) -> bool:
        self.chunk += 1
        ok = self._send({"event": "media", "media": {"track": "inbound", "chunk": str(self.chunk),
                                                     "timestamp": str(self.sent_ms),
                                                     "payload": base64.b64encode(frame).decode()}})
        self.sent_ms += FRAME_MS
        return ok

    def close(self, call_sid: str, account_sid: str) -> None:
        if self.socket is None:
            return
        self._send({"event": "stop", "stop": {"accountSid": account_sid, "callSid": call_sid}})
        try:
            self.socket.close()
        except Exception:
            pass
        self.socket = None

    def _send(self, message: dict, numbered: bool = True) -> bool:
        if self.socket is None:
            return False
        if numbered:
            self.sequence += 1
            message = {**message, "sequenceNumber": str(self.sequence), "streamSid": self.sid}
        try:
            self.socket.send(json.dumps(message))
            return True
        except Exception:  # the app closed the stream
            self.socket = None
            return False


def _last_voiced_frame(ulaw: bytes, threshold: int = 400) -> int:
    """The index of the last 20 ms frame with speech in it (RMS of the decoded samples)."""
    last = 0
    for number, index in enumerate(range(0, len(ulaw), FRAME_BYTES)):
        pcm = memoryview(mulaw.decode(ulaw[index:index + FRAME_BYTES])).cast("h")
        if pcm and (sum(x * x for x in pcm) / len(pcm)) ** 0.5 >= threshold:
            last = number
    return last
