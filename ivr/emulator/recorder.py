"""Recordings the emulated call makes: <Start><Recording>, <Record>, and REST-started ones.

The audio is real: what the scripted caller said, through the telephone channel (8 kHz μ-law,
stored as 16-bit PCM WAV like Twilio's media), placed at the moment they said it. The IVR's own
voice is not synthesised; in a dual-channel recording its channel is silent.
"""
from __future__ import annotations

from urllib.parse import urljoin

from ivr.audio import mulaw
from ivr.audio.wav import wav_bytes
from ivr.emulator import speech
from ivr.emulator.script import HangUp, Press, Speak
from ivr.emulator.twiml_doc import Jump

RATE = 8000


class CallerAudio:
    """The caller's speech as phone audio, made only when something is listening (a recording)."""

    def __init__(self, session):
        self.session = session
        self.segments: list[tuple[float, bytes]] = []  # (seconds since answer, pcm16)

    def pcm(self, action: Speak) -> bytes:
        try:
            if action.wav is not None:
                ulaw = speech.from_wav_file(action.wav)
            else:
                ulaw = speech.synthesize(action.text, action.language or _language_code(self.session.language))
        except (speech.AudioToolMissing, RuntimeError, ValueError, OSError) as exc:
            self.session.hear("warning", f"no audio for “{action.text}”: {exc}")
            return b""
        return mulaw.decode(ulaw)

    def speak(self, action: Speak) -> bytes:
        """The caller talks: time passes; a live recording hears it."""
        session = self.session
        recording = session.recorder.live_entry()
        pcm = self.pcm(action) if recording is not None else b""
        seconds = len(pcm) / 2 / RATE if pcm else max(1.0, len(action.text.split()) / 2.5)
        if pcm:
            self.segments.append((session.call.seconds, pcm))
        session.advance(seconds)
        return pcm


class Recorder:
    def __init__(self, session):
        self.session = session
        self.entry = None  # the call recording (<Start><Recording> or REST), at most one
        self.callback: str | None = None
        self.callback_method = "POST"
        self.events: list[str] = []
        self.base_url = ""

    # -- a recording of the whole call -------------------------------------------------------

    def start(self, element, url: str) -> None:
        if self.entry is not None and self.entry.status in ("in-progress", "paused"):
            return
        self._begin(source="StartCallRecordingAPI", channels=2 if element.get("channels", "dual") == "dual" else 1,
                    callback=element.get("recordingStatusCallback"),
                    method=element.get("recordingStatusCallbackMethod", "POST"),
                    events=element.get("recordingStatusCallbackEvent", "completed"), base=url)

    def start_from_rest(self, form: dict):
        if self.entry is not None and self.entry.status in ("in-progress", "paused"):
            return None
        events = form.get("RecordingStatusCallbackEvent", "completed")
        self._begin(source="StartCallRecordingAPI", channels=2 if form.get("RecordingChannels") == "dual" else 1,
                    callback=form.get("RecordingStatusCallback"), method=form.get("RecordingStatusCallbackMethod",
                                                                                   "POST"),
                    events=events if isinstance(events, str) else " ".join(events), base="")
        return self.entry

    def _begin(self, *, source, channels, callback, method, events, base) -> None:
        session = self.session
        call = session.call
        self.entry = session.twilio.ledger.add_recording(call.sid, source, call.seconds, channels=channels)
        self.callback, self.callback_method, self.base_url = callback, method, base
        self.events = events.split()
        call.recordings.append(self.entry.sid)
        if call.recording_sid is None:
            call.recording_sid, call.recording_started_at = self.entry.sid, call.seconds
        session.hear("recording", "recording started")
        if "in-progress" in self.events:
            self._notify(self.entry, "in-progress")

    def live_entry(self):
        entry = self.entry
        return entry if entry is not None and entry.status == "in-progress" else None

    def stop(self) -> None:
        if self.entry is not None and self.entry.status in ("in-progress", "paused"):
            self.entry.status = "stopped"
            self.finish()

    def finish(self) -> None:
        """The call ended (or the recording was stopped): store the audio, send `completed`."""
        entry = self.entry
        if entry is None or entry.status in ("completed", "deleted"):
            return
        session = self.session
        length = max(0.0, session.call.seconds - entry.started_at)
        pcm = _place(session.audio.segments, entry.started_at, length)
        entry.audio = wav_bytes(_dual(pcm) if entry.channels == 2 else pcm, rate=RATE, channels=entry.channels)
        entry.duration = int(round(length))
        entry.status = "completed"
        if "completed" in self.events:
            self._notify(entry, "completed")

    def _notify(self, entry, status: str) -> None:
        if not self.callback:
            return
        session = self.session
        params = {"AccountSid": session.twilio.account_sid, "CallSid": session.call.sid, "RecordingSid": entry.sid,
                  "RecordingUrl": session.twilio.ledger.recording_url(entry.sid), "RecordingStatus": status,
                  "RecordingChannels": str(entry.channels), "RecordingSource": entry.source,
                  "RecordingTrack": "both", "RecordingStartTime": entry.created}
        if status == "completed":
            params["RecordingDuration"] = str(entry.duration)
        session.callback(urljoin(self.base_url, self.callback), params, self.callback_method)

    # -- <Record> ------------------------------------------------------------------------------

    def record_verb(self, verb, url: str):
        session = self.session
        if verb.get("playBeep", "true") == "true":
            session.hear("play", "beep")
        action = session.next_action()
        finish_keys = verb.get("finishOnKey", "1234567890*#")
        max_length = float(verb.get("maxLength", "3600"))
        silence_timeout = float(verb.get("timeout", "5"))
        pcm, digits = b"", None
        if isinstance(action, Speak):
            session.hear("caller", f"says “{action.text}” (recorded)")
            pcm = session.audio.pcm(action)[: int(max_length * RATE) * 2]
            session.advance(len(pcm) / 2 / RATE + silence_timeout)
        elif isinstance(action, Press):
            session.hear("caller", f"presses {action.digits}")
            digits = action.digits[0] if action.digits[0] in finish_keys else None
        elif isinstance(action, HangUp):
            session.caller_hangs_up()
            digits = "hangup"
        else:
            session.hear("caller", "stays silent")
            session.advance(silence_timeout)
        if not pcm and digits != "hangup" and session.options.empty_record == "fall-through":
            return None
        ledger = session.twilio.ledger
        entry = ledger.add_recording(session.call.sid, "RecordVerb", session.call.seconds, channels=1)
        entry.audio, entry.duration, entry.status = wav_bytes(pcm, rate=RATE), int(round(len(pcm) / 2 / RATE)), \
            "completed"
        session.call.recordings.append(entry.sid)
        session.hear("recording", f"recorded {entry.duration} s")
        callback = verb.get("recordingStatusCallback")
        if callback:
            params = {"AccountSid": session.twilio.account_sid, "CallSid": session.call.sid,
                      "RecordingSid": entry.sid, "RecordingUrl": ledger.recording_url(entry.sid),
                      "RecordingStatus": "completed", "RecordingDuration": str(entry.duration),
                      "RecordingChannels": "1", "RecordingSource": "RecordVerb",
                      "RecordingStartTime": entry.created}
            session.callback(urljoin(url, callback), params, verb.get("recordingStatusCallbackMethod", "POST"))
        params = {"RecordingUrl": ledger.recording_url(entry.sid), "RecordingDuration": str(entry.duration),
                  "RecordingSid": entry.sid}
        if digits:
            params["Digits"] = digits
        jump = Jump(verb.get("action") or url, verb.get("method", "POST"), params)
        if digits == "hangup":  # the call is over; Twilio still tells the action, and ignores the answer
            session.post(urljoin(url, jump.url), {**session.base_params("completed"), **params}, jump.method)
            return None
        return jump


def _place(segments: list[tuple[float, bytes]], start: float, length: float) -> bytes:
    """The caller's speech laid on silence, from `start` for `length` seconds."""
    out = bytearray(int(length * RATE) * 2)
    for at, pcm in segments:
        offset = int((at - start) * RATE) * 2
        if offset < 0 or offset >= len(out):
            continue
        chunk = pcm[: len(out) - offset]
        out[offset:offset + len(chunk)] = chunk
    return bytes(out)


def _dual(pcm: bytes) -> bytes:
    """Two channels: the caller on the first, the IVR's (silent here) on the second."""
    out = bytearray(len(pcm) * 2)
    out[0::4], out[1::4] = pcm[0::2], pcm[1::2]
    return bytes(out)


def _language_code(say_language: str) -> str:
    """espeak language for the caller, from the IVR's <Say language>: ko-KR -> ko, cmn-CN -> zh."""
    tag = (say_language or "en-US").lower()
    if tag.startswith(("cmn", "zh")):
        return "zh"
    if tag.startswith("yue"):
        return "yue"
    return tag.split("-")[0]
