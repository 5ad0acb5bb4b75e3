"""The emulated Twilio Voice: place a call to the app and run the TwiML it answers with.

Faithful to Twilio's documented behaviour (see shared/reference/TWILIO_RQ.md): every request is
signed over the exact URL with RequestValidator's algorithm, relative URLs resolve against the
current document, Gather falls through on silence unless actionOnEmptyResult, a failed fetch goes
to the fallback URL with ErrorCode/ErrorUrl, and without one the caller hears the stock error.
"""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import urljoin

import phonenumbers
from twilio.request_validator import RequestValidator

from ivr.emulator.script import CallerAction, HangUp, Press, Silence, Speak
from ivr.emulator.sids import new_sid
from ivr.emulator.transport import TransportError

STOCK_ERROR = "We are sorry, an application error has occurred. Goodbye."
API_VERSION = "2010-04-01"
MAX_DOCUMENTS = 200  # TwiML documents per call before the emulator calls it a loop


@dataclass(frozen=True)
class NumberConfig:
    """A phone number's Voice settings, as set in the Twilio console."""

    number: str
    voice_url: str
    fallback_url: str | None = None
    status_callback: str | None = None


@dataclass
class Heard:
    """One line of what happened on the call, in order."""

    kind: str  # say, play, pause, caller, recording, redirect, hangup, error, stock_error, warning
    text: str = ""
    language: str | None = None
    at: float = 0.0  # seconds since the call was answered (estimated from speech length)


@dataclass
class EmulatedCall:
    sid: str
    to: str
    from_: str
    transcript: list[Heard] = field(default_factory=list)
    requests: list[tuple[str, dict, int]] = field(default_factory=list)  # (url, params, HTTP status)
    status: str = "in-progress"
    recording_sid: str | None = None
    recording_started_at: float | None = None
    seconds: float = 0.0

    @property
    def said(self) -> list[str]:
        return [h.text for h in self.transcript if h.kind == "say"]

    @property
    def heard_stock_error(self) -> bool:
        return any(h.kind == "stock_error" for h in self.transcript)

    def heard(self, fragment: str) -> bool:
        return any(fragment in text for text in self.said)


class Twilio:
    """The emulated account: numbers pointed at the app, a transport to reach it, the auth token."""

    def __init__(self, transport, account_sid: str, auth_token: str, numbers: list[NumberConfig]):
        self.transport = transport
        self.account_sid = account_sid
        self.validator = RequestValidator(auth_token)
        self.numbers = {n.number: n for n in numbers}

    def call(self, to: str, from_: str, script: list[CallerAction] = (), **extra: str) -> EmulatedCall:
        """Place an inbound call from `from_` to `to`, let the scripted caller act, return what happened."""
        number = self.numbers[to]
        call = EmulatedCall(sid=new_sid("CA"), to=to, from_=from_)
        _Session(self, number, call, list(script), extra).run()
        return call

    def sign(self, url: str, params: dict) -> str:
        return self.validator.compute_signature(url, params)


class _Session:
    """One call being interpreted."""

    def __init__(self, twilio: Twilio, number: NumberConfig, call: EmulatedCall, script: list, extra: dict):
        self.twilio, self.number, self.call, self.script = twilio, number, call, script
        self.extra = extra
        self.in_fallback = False
        self.sequence = 0

    # -- requests -----------------------------------------------------------------------------

    def base_params(self, status: str) -> dict[str, str]:
        call = self.call
        params = {"CallSid": call.sid, "AccountSid": self.twilio.account_sid, "From": call.from_, "To": call.to,
                  "CallStatus": status, "ApiVersion": API_VERSION, "Direction": "inbound",
                  "Caller": call.from_, "Called": call.to}
        for side, number in (("From", call.from_), ("To", call.to)):
            country = _country(number)
            legacy = "Caller" if side == "From" else "Called"
            for suffix, value in (("Country", country), ("City", ""), ("State", ""), ("Zip", "")):
                params[side + suffix] = value
                params[legacy + suffix] = value
        params.update(self.extra)
        return params

    def post(self, url: str, params: dict[str, str]):
        headers = {"X-Twilio-Signature": self.twilio.sign(url, params),
                   "I-Twilio-Idempotency-Token": str(uuid.uuid4()), "User-Agent": "TwilioProxy/1.1",
                   "Accept": "*/*"}
        try:
            reply = self.twilio.transport.post(url, params, headers)
        except TransportError as exc:
            self.call.requests.append((url, params, 0))
            return None, exc.code
        self.call.requests.append((url, params, reply.status))
        return reply, None

    def fetch(self, url: str, extra: dict[str, str] | None = None) -> tuple[ET.Element | None, str]:
        """Request TwiML; on any failure, go to the fallback URL (or the stock error)."""
        status = "ringing" if not self.call.requests else "in-progress"
        reply, error = self.post(url, {**self.base_params(status), **(extra or {})})
        if reply is not None:
            document, error = _parse(reply)
            if document is not None:
                return document, url
        return self.fail(error, url)

    def fail(self, code: int, url: str) -> tuple[ET.Element | None, str]:
        self.hear("error", f"error {code} fetching {url}")
        if self.in_fallback or not self.number.fallback_url:
            self.hear("stock_error", STOCK_ERROR)
            return None, url
        self.in_fallback = True
        return self.fetch(self.number.fallback_url, {"ErrorCode": str(code), "ErrorUrl": url})

    # -- the call -------------------------------------------------------------------------------

    def run(self) -> None:
        document, url = self.fetch(self.number.voice_url)
        for _ in range(MAX_DOCUMENTS):
            if document is None:
                break
            document, url = self.execute(document, url)
        else:
            self.hear("warning", f"more than {MAX_DOCUMENTS} TwiML documents: stopped")
        self.end()

    def execute(self, document: ET.Element, url: str) -> tuple[ET.Element | None, str]:
        """Run one document's verbs top to bottom; return the next document, or None when the call ends."""
        for verb in document:
            if self.call.status != "in-progress":
                return None, url
            handler = getattr(self, f"verb_{verb.tag.lower()}", None)
            if handler is None:
                self.hear("warning", f"<{verb.tag}> is not emulated; skipped")
                continue
            jump = handler(verb, url)
            if jump is not None:
                target, params = jump
                self.in_fallback = False
                return self.fetch(urljoin(url, target), params)
        return None, url  # the document ran out of verbs: Twilio ends the call

    def verb_say(self, verb, url):
        text = (verb.text or "").strip()
        self.hear("say", text, verb.get("language", "en-US"))
        self.call.seconds += _speaking_time(text)

    def verb_play(self, verb, url):
        self.hear("play", (verb.text or "").strip())

    def verb_pause(self, verb, url):
        self.call.seconds += float(verb.get("length", "1"))

    def verb_hangup(self, verb, url):
        self.hear("hangup", "the IVR hung up")
        self.call.status = "completed"

    def verb_reject(self, verb, url):
        self.hear("hangup", "the IVR rejected the call")
        self.call.status = "busy" if verb.get("reason") == "busy" else "failed"

    def verb_redirect(self, verb, url):
        self.hear("redirect", (verb.text or "").strip())
        return (verb.text or "").strip() or url, {}

    def verb_start(self, verb, url):
        for child in verb:
            if child.tag == "Recording":
                self.start_recording(child, url)
            else:
                self.hear("warning", f"<Start><{child.tag}> is not emulated")

    def verb_gather(self, verb, url):
        answer = None
        for child in verb:
            if child.tag == "Say":
                self.verb_say(child, url)
            elif child.tag == "Play":
                self.verb_play(child, url)
            elif child.tag == "Pause":
                self.verb_pause(child, url)
        action = self.script.pop(0) if self.script else HangUp()
        params = self.gather_answer(verb, action)
        if params is None:
            return None  # hung up, or nothing gathered and no actionOnEmptyResult: fall through
        return verb.get("action") or url, params

    def gather_answer(self, verb, action: CallerAction) -> dict | None:
        inputs = verb.get("input", "dtmf").split()
        if isinstance(action, HangUp):
            self.hear("caller", "hangs up")
            self.call.status = "completed"
            return None
        if isinstance(action, Press) and "dtmf" in inputs:
            digits, finished = _collect(action.digits, verb)
            self.hear("caller", f"presses {action.digits}")
            return {"Digits": digits, "FinishedOnKey": finished, "msg": "Gather End"}
        if isinstance(action, Speak) and "speech" in inputs:
            self.hear("caller", f"says “{action.text}”")
            return {"SpeechResult": action.text, "Confidence": f"{action.confidence:.2f}", "msg": "Gather End"}
        if isinstance(action, Speak):
            self.hear("caller", f"says “{action.text}” (not heard: this question takes keys only)")
        elif isinstance(action, Press):
            self.hear("caller", f"presses {action.digits} (ignored: this question takes speech only)")
        else:
            self.hear("caller", "stays silent")
        self.call.seconds += float(verb.get("timeout", "5"))
        if verb.get("actionOnEmptyResult") == "true":
            return {"msg": "Gather End"}
        return None

    def start_recording(self, element, url) -> None:
        if self.call.recording_sid:
            return
        self.call.recording_sid = new_sid("RE")
        self.call.recording_started_at = self.call.seconds
        self.hear("recording", "recording started")
        self.recording_callback = element.get("recordingStatusCallback")
        self.recording_events = element.get("recordingStatusCallbackEvent", "completed").split()
        if "in-progress" in self.recording_events:
            self.send_recording_status("in-progress", url)
        self.recording_document = url

    def send_recording_status(self, status: str, url: str) -> None:
        if not self.recording_callback:
            return
        call = self.call
        params = {"AccountSid": self.twilio.account_sid, "CallSid": call.sid, "RecordingSid": call.recording_sid,
                  "RecordingUrl": f"https://api.twilio.com/{API_VERSION}/Accounts/{self.twilio.account_sid}"
                                  f"/Recordings/{call.recording_sid}",
                  "RecordingStatus": status, "RecordingChannels": "2", "RecordingSource": "StartCallRecordingAPI",
                  "RecordingTrack": "both", "RecordingStartTime": formatdate(usegmt=True)}
        if status == "completed":
            params["RecordingDuration"] = str(int(call.seconds - (call.recording_started_at or 0)))
        self.post(urljoin(url, self.recording_callback), params)

    def end(self) -> None:
        call = self.call
        if call.status == "in-progress":
            call.status = "completed"
        if call.recording_sid and "completed" in self.recording_events:
            self.send_recording_status("completed", self.recording_document)
        if self.number.status_callback:
            params = {**self.base_params(call.status), "CallDuration": str(int(call.seconds)),
                      "Duration": str(int(call.seconds // 60) + 1), "Timestamp": formatdate(usegmt=True),
                      "CallbackSource": "call-progress-events", "SequenceNumber": str(self.sequence)}
            self.sequence += 1
            self.post(self.number.status_callback, params)

    def hear(self, kind: str, text: str = "", language: str | None = None) -> None:
        self.call.transcript.append(Heard(kind, text, language, round(self.call.seconds, 1)))


def _parse(reply) -> tuple[ET.Element | None, int | None]:
    if not 200 <= reply.status < 300:
        return None, 11200
    kind = reply.content_type.split(";")[0].strip().lower()
    if kind not in ("text/xml", "application/xml", "text/html", "text/plain"):
        return None, 12300
    try:
        root = ET.fromstring(reply.body.encode())
    except ET.ParseError:
        return None, 12100
    if root.tag != "Response":
        return None, 12100
    return root, None


def _collect(pressed: str, verb) -> tuple[str, str]:
    """The Digits and FinishedOnKey Twilio reports for keys pressed into a Gather."""
    finish = verb.get("finishOnKey", "#")
    limit = int(verb.get("numDigits", "0") or 0)
    digits = ""
    for key in pressed:
        if finish and key == finish:
            return digits, key
        digits += key
        if limit and len(digits) >= limit:
            break
    return digits, ""


def _country(number: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or ""
    except phonenumbers.NumberParseException:
        return ""


def _speaking_time(text: str) -> float:
    wide = sum(1 for ch in text if ord(ch) > 0x2E80)  # CJK and Hangul: about four characters a second
    return len(text.replace(" ", "")) and (len(text.split()) / 2.5 + wide / 4.0)
