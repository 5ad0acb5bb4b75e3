"""One call being run: fetch TwiML like Twilio, run its verbs top to bottom, play the scripted side.

A handler for each verb returns None to go on with the next verb, or a `Jump` (fetch a URL, or
run a document a REST update supplied) that leaves the current document.
"""
from __future__ import annotations

import random
import time
import uuid
import xml.etree.ElementTree as ET
from email.utils import formatdate
from urllib.parse import urljoin

from ivr.audio import mulaw
from ivr.audio.timing import speaking_seconds
from ivr.emulator.calls import Heard
from ivr.emulator.geography import geographic_params
from ivr.emulator.ledger import API_VERSION
from ivr.emulator.legs import dial, enqueue
from ivr.emulator.recorder import CallerAudio, Recorder
from ivr.emulator.script import CallerAction, HangUp, Press, Silence, Speak
from ivr.emulator.streams import MediaStream
from ivr.emulator.transport import TransportError, with_query
from ivr.emulator.twiml_doc import Jump, parse_twiml, parse_xml

FINAL = ("completed", "busy", "failed", "no-answer", "canceled")


class Session:
    """Runs one call. `script` is what the person on this end does, one item per question;
    when it runs out the caller hangs up (`then="hangup"`) or an agent just listens (`then="silence"`)."""

    def __init__(self, twilio, call, script: list[CallerAction], *, extra: dict | None = None,
                 fallback_url: str | None = None, status_callback: str | None = None,
                 callback_events: tuple[str, ...] = ("completed",), then: str = "hangup"):
        self.twilio, self.call, self.script = twilio, call, script
        self.options = twilio.options
        self.extra = extra or {}
        self.fallback_url = fallback_url
        self.status_callback = status_callback
        self.callback_events = callback_events
        self.then = then
        self.in_fallback = False
        self.sequence = 0
        self.held: list[tuple[str, dict]] = []  # callbacks kept back to deliver out of order
        self.audio = CallerAudio(self)
        self.recorder = Recorder(self)
        self.language = "en-US"  # the language of the last thing the IVR said
        self.streams: dict = {}  # name -> MediaStream, while <Start><Stream>s run

    # -- requests -------------------------------------------------------------------------------

    def base_params(self, status: str) -> dict[str, str]:
        call = self.call
        params = {"CallSid": call.sid, "AccountSid": self.twilio.account_sid, "From": call.from_, "To": call.to,
                  "CallStatus": status, "ApiVersion": API_VERSION, "Direction": call.direction,
                  "Caller": call.from_, "Called": call.to}
        if call.parent_sid:
            params["ParentCallSid"] = call.parent_sid
        params.update(geographic_params(call.from_, call.to))
        params.update(self.extra)
        return params

    def post(self, url: str, params: dict[str, str], method: str = "POST"):
        """Send one signed request; returns (reply, None) or (None, Twilio error code)."""
        signed_url = with_query(url, params) if method == "GET" else url
        headers = {"X-Twilio-Signature": self.twilio.sign(signed_url, {} if method == "GET" else params),
                   "I-Twilio-Idempotency-Token": str(uuid.uuid4()), "User-Agent": "TwilioProxy/1.1",
                   "Accept": "*/*"}
        started = time.monotonic()
        self.call.fetched.append((started, self.call.seconds))
        self.twilio.posting(self, True)
        try:
            reply = self.twilio.transport.request(method, url, params, headers)
        except TransportError as exc:
            self.call.requests.append((url, params, 0))
            return None, exc.code
        finally:
            self.twilio.posting(self, False)
        self.call.requests.append((url, params, reply.status))
        if time.monotonic() - started > self.options.request_budget:
            self.hear("warning", f"{url} took longer than {self.options.request_budget:.0f} s")
            return None, 11205
        return reply, None

    def fetch(self, url: str, method: str = "POST", extra: dict | None = None) -> tuple[ET.Element | None, str]:
        """Request TwiML; on any failure, go to the fallback URL (or the stock error)."""
        status = "ringing" if not self.call.requests and self.call.direction == "inbound" else "in-progress"
        reply, error = self.post(url, {**self.base_params(status), **(extra or {})}, method)
        if reply is not None:
            document, error = parse_twiml(reply)
            if document is not None:
                return document, url
        return self.fail(error, url)

    def fail(self, code: int, url: str) -> tuple[ET.Element | None, str]:
        self.hear("error", f"error {code} fetching {url}")
        if self.in_fallback or not self.fallback_url:
            self.hear("stock_error", self.options.stock_error)
            self.end_as("stock-error")
            return None, url
        self.in_fallback = True
        return self.fetch(self.fallback_url, "POST", {"ErrorCode": str(code), "ErrorUrl": url})

    def callback(self, url: str, params: dict, method: str = "POST") -> None:
        """An asynchronous notification: its answer is ignored; may be held back to arrive out of order."""
        if self.options.callback_order == "shuffled":
            self.held.append((url, params))
        else:
            self.post(url, params, method)

    # -- the call -------------------------------------------------------------------------------

    def run(self, url: str, method: str = "POST") -> None:
        self.twilio.register(self.call.sid, self)
        try:
            self.status_event("initiated", "initiated")
            self.status_event("ringing", "ringing")
            self.status_event("answered", "in-progress")
            self.run_documents(*self.fetch(url, method))
        finally:
            self.twilio.unregister(self.call.sid)
            self.end()

    def run_documents(self, document: ET.Element | None, url: str) -> None:
        for _ in range(self.options.max_documents):
            if document is None or self.call.status != "in-progress":
                return
            jump = self.execute(document, url)
            if jump is None:
                return
            document, url = self.follow(jump, url)
        self.hear("warning", f"more than {self.options.max_documents} TwiML documents: stopped")

    def follow(self, jump: Jump, base: str) -> tuple[ET.Element | None, str]:
        self.in_fallback = False
        if jump.document is not None:
            return jump.document, base
        return self.fetch(urljoin(base, jump.url), jump.method, jump.params)

    def execute(self, document: ET.Element, url: str) -> Jump | None:
        """Run one document's verbs; return where to go next, or None when the call ends."""
        for verb in document:
            jump = self.rest_update()
            if jump is not None or self.call.status != "in-progress":
                return jump
            handler = getattr(self, f"verb_{verb.tag.lower()}", None)
            if handler is None or verb.tag[0].islower():
                self.hear("warning", f"<{verb.tag}> is not a TwiML verb Twilio knows here; skipped")
                continue
            jump = handler(verb, url)
            if jump is not None:
                return jump
        if self.call.status == "in-progress":
            self.end_as("no-more-verbs")
        return None

    def rest_update(self) -> Jump | None:
        """A REST update to this call takes over between verbs (and during waits)."""
        pending = self.twilio.ledger.take_pending(self.call.sid, self.call.now)
        if pending is None:
            return None
        kind = pending[0]
        self.hear("redirect", f"REST update: {kind} {pending[1]}")
        if kind == "status":
            self.end_as("rest")
            return None
        if kind == "twiml":
            try:
                return Jump(url="", document=parse_xml(pending[1]))
            except ValueError:
                self.fail(12100, "REST Twiml")
                return None
        return Jump(url=pending[1], method=pending[2])

    # -- verbs -------------------------------------------------------------------------------------

    def verb_say(self, verb, url):
        text = (verb.text or "").strip()
        self.language = verb.get("language", "en-US")
        self.hear("say", text, self.language)
        self.advance(_speaking_time(text))
        for stream in self.streams.values():  # the caller listens quietly: the stream carries that quiet
            stream.quiet(_speaking_time(text) * 1000)

    def verb_play(self, verb, url):
        self.hear("play", (verb.text or "").strip())
        self.advance(2.0)

    def verb_pause(self, verb, url):
        length = float(verb.get("length", "1"))
        if self.streams:
            return self.speak_into_streams(length)
        self.advance(length)

    def verb_hangup(self, verb, url):
        self.hear("hangup", "the IVR hung up")
        self.end_as("ivr-hangup")

    def verb_reject(self, verb, url):
        self.hear("hangup", "the IVR rejected the call")
        self.end_as("ivr-hangup", "busy" if verb.get("reason") == "busy" else "failed")

    def verb_redirect(self, verb, url):
        target = (verb.text or "").strip() or url
        self.hear("redirect", target)
        return Jump(target, verb.get("method", "POST"), {})

    def verb_start(self, verb, url):
        for child in verb:
            if child.tag == "Recording":
                self.recorder.start(child, url)
            elif child.tag == "Stream":
                self.start_stream(child, url)
            else:
                self.hear("warning", f"<Start><{child.tag}> is not emulated; the call goes on")

    def verb_stop(self, verb, url):
        for child in verb:
            if child.tag == "Recording":
                self.recorder.stop()
            elif child.tag == "Stream":
                stream = self.streams.pop(child.get("name", ""), None)
                if stream is not None:
                    stream.close(self.call.sid, self.twilio.account_sid)

    def start_stream(self, element, url) -> None:
        params = {p.get("name"): p.get("value", "") for p in element if p.tag == "Parameter"}
        stream = MediaStream(name=element.get("name") or "", url=urljoin(url, element.get("url", "")),
                             parameters=params)
        if stream.open(self):
            self.streams[stream.name or stream.sid] = stream
            self.hear("stream", f"media stream to {stream.url}")

    def speak_into_streams(self, length: float):
        """A pause while the app listens: the caller's next words (or quiet) go down the stream until
        the app moves the call on through the REST API, or the pause ends."""
        stream = next(iter(self.streams.values()))
        entry = self.twilio.ledger.calls.get(self.call.sid)

        def moved_on() -> bool:
            return entry is not None and entry.pending is not None

        nxt = self.script[0] if self.script else None
        if isinstance(nxt, HangUp):
            self.script.pop(0)
            self.caller_hangs_up()
            return None
        spoken_ms = 0.0
        if isinstance(nxt, Speak):
            self.script.pop(0)
            self.hear("caller", f"says “{nxt.text}”" if nxt.text else f"speaks ({nxt.wav})")
            pcm = self.audio.pcm(nxt)
            if self.recorder.live_entry() is not None and pcm:
                self.audio.segments.append((self.call.seconds, pcm))
            stream.audio(mulaw.encode(pcm), paced=True, stop=moved_on, speech=True)
            spoken_ms = len(pcm) / 16
        elif isinstance(nxt, Silence):
            self.script.pop(0)
            self.hear("caller", "stays silent")
        # keys pressed during a pause reach nobody: they stay in the script for the next question
        quiet_ms = max(0.0, length * 1000 - spoken_ms)
        stream.quiet(quiet_ms, paced=spoken_ms > 0, stop=moved_on)
        # the quiet went faster than real time: give the app as long to catch up (decode, decide, move the
        # call through the REST API) as the quiet would have lasted on a real call, at least 2 s; a busy
        # machine otherwise outruns the app and the call goes on as if it had heard nothing
        deadline = time.monotonic() + max(2.0, quiet_ms / 1000)
        while not moved_on() and time.monotonic() < deadline and stream.socket is not None:
            time.sleep(0.02)
        waited = (stream.sent_ms - spoken_ms) / 1000 if moved_on() else quiet_ms / 1000
        self.advance(spoken_ms / 1000 + min(waited, quiet_ms / 1000))
        if moved_on() and stream.last_speech_sent is not None and entry.pending_at is not None:
            self.call.stream_latencies.append(entry.pending_at - stream.last_speech_sent)
        return self.rest_update()

    def verb_connect(self, verb, url):
        self.hear("warning", "<Connect> is not emulated yet; the call goes on after it")
        if verb.get("action"):
            return Jump(verb.get("action"), verb.get("method", "POST"), {})
        return None

    def verb_gather(self, verb, url):
        for child in verb:
            if child.tag in ("Say", "Play", "Pause"):
                getattr(self, f"verb_{child.tag.lower()}")(child, url)
        action = self.next_action()
        if isinstance(action, Speak) and self.streams and "speech" not in verb.get("input", "dtmf").split():
            # a keys-only question while a <Start><Stream> runs: the words go down the stream (the
            # app may move the call on through the REST API); unanswered, the Gather times out
            self.script.insert(0, action)
            jump = self.speak_into_streams(float(verb.get("timeout", "5")))
            if jump is not None or self.call.status != "in-progress":
                return jump
            if verb.get("actionOnEmptyResult") != "true":
                return None
            return Jump(verb.get("action") or url, verb.get("method", "POST"), {"msg": "Gather End"})
        params = self.gather_answer(verb, action)
        if params is None:
            return None  # hung up, or nothing gathered and no actionOnEmptyResult: fall through
        return Jump(verb.get("action") or url, verb.get("method", "POST"), params)

    def gather_answer(self, verb, action: CallerAction) -> dict | None:
        inputs = verb.get("input", "dtmf").split()
        timeout = float(verb.get("timeout", "5"))
        if isinstance(action, HangUp):
            self.caller_hangs_up()
            return None
        if isinstance(action, Press) and "dtmf" in inputs:
            digits, finished = _collect(action.digits, verb)
            self.hear("caller", f"presses {action.digits}")
            self.advance(0.3 * len(action.digits))
            if digits or finished:
                return {"Digits": digits, "FinishedOnKey": finished, "msg": "Gather End"}
        elif isinstance(action, Speak) and "speech" in inputs:
            self.hear("caller", f"says “{action.text}”")
            self.audio.speak(action)
            return {"SpeechResult": action.text, "Confidence": f"{action.confidence:.2f}", "msg": "Gather End"}
        elif isinstance(action, Speak):
            self.hear("caller", f"says “{action.text}” (not heard: this question takes keys only)")
            self.audio.speak(action)
        elif isinstance(action, Press):
            self.hear("caller", f"presses {action.digits} (ignored: this question takes speech only)")
        else:
            self.hear("caller", "stays silent")
        self.advance(timeout)
        if verb.get("actionOnEmptyResult") == "true":
            return {"msg": "Gather End"}
        return None

    def verb_record(self, verb, url):
        return self.recorder.record_verb(verb, url)

    def verb_dial(self, verb, url):
        return dial(self, verb, url, Session)

    def verb_enqueue(self, verb, url):
        return enqueue(self, verb, url)

    def verb_leave(self, verb, url):
        self.hear("warning", "<Leave> outside a queue's wait music does nothing")

    # -- the scripted side -----------------------------------------------------------------------

    def next_action(self) -> CallerAction:
        if self.script:
            return self.script.pop(0)
        return HangUp() if self.then == "hangup" else Silence()

    def caller_hangs_up(self) -> None:
        self.hear("caller", "hangs up")
        self.end_as("caller-hangup")

    def advance(self, seconds: float) -> None:
        self.call.seconds += seconds

    # -- ending --------------------------------------------------------------------------------

    def end_as(self, how: str, status: str = "completed") -> None:
        if self.call.status == "in-progress":
            self.call.status = status
            self.call.ended_by = how

    def status_event(self, event: str, status: str) -> None:
        if not self.status_callback or event not in self.callback_events:
            return
        params = {**self.base_params(status), "Timestamp": formatdate(usegmt=True),
                  "CallbackSource": "call-progress-events", "SequenceNumber": str(self.sequence)}
        if event == "completed":
            params.update({"CallDuration": str(int(self.call.seconds)),
                           "Duration": str(int(self.call.seconds // 60) + 1)})
        self.sequence += 1
        self.callback(self.status_callback, params)

    def end(self) -> None:
        call = self.call
        for stream in self.streams.values():
            stream.close(call.sid, self.twilio.account_sid)
        self.streams.clear()
        if call.status == "in-progress":
            self.end_as("no-more-verbs")
        call.ended_wall = time.monotonic()
        self.recorder.finish()
        entry = self.twilio.ledger.calls.get(call.sid)
        if entry is not None:
            entry.status, entry.duration = call.status, int(call.seconds)
        self.status_event("completed", call.status)
        if self.held:
            random.Random(self.options.seed).shuffle(self.held)
            for url, params in self.held:
                self.post(url, params)
            self.held.clear()

    def hear(self, kind: str, text: str = "", language: str | None = None) -> None:
        self.call.transcript.append(Heard(kind, text, language, round(self.call.seconds, 1)))

    # -- REST hooks ----------------------------------------------------------------------------

    def start_recording_from_rest(self, form: dict):
        return self.recorder.start_from_rest(form)


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


_speaking_time = speaking_seconds
