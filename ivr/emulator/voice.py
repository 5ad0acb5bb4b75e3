"""The emulated Twilio account: numbers pointed at the app, calls placed to it, people who answer.

Faithful to Twilio's documented behaviour (see shared/reference/TWILIO_RQ.md): every request is
signed over the exact URL with RequestValidator's algorithm, relative URLs resolve against the
current document, a failed fetch goes to the fallback URL with ErrorCode/ErrorUrl, and without one
the caller hears the stock error. What the reference marks unconfirmed is a setting in `Options`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from twilio.request_validator import RequestValidator

from ivr.emulator.ledger import CallEntry, Ledger
from ivr.emulator.queues import Queues
from ivr.emulator.rest import RestServer, rest_api
from ivr.emulator.script import Agent, CallerAction
from ivr.emulator.sids import new_sid

STOCK_ERROR = "We are sorry, an application error has occurred. Goodbye."


@dataclass(frozen=True)
class NumberConfig:
    """A phone number's Voice settings, as set in the Twilio console."""

    number: str
    voice_url: str
    fallback_url: str | None = None
    status_callback: str | None = None
    voice_method: str = "POST"


@dataclass(frozen=True)
class Options:
    """Behaviour the reference leaves unconfirmed, and the emulator's own limits."""

    stock_error: str = STOCK_ERROR
    callback_order: str = "in-order"  # or "shuffled": status callbacks arrive out of order
    seed: int = 0  # for the shuffle
    empty_record: str = "action"  # a silent <Record>: "action" (RecordingDuration 0) or "fall-through"
    whisper_hangup_status: str = "no-answer"  # DialCallStatus when the whisper hangs up on the agent
    request_budget: float = 15.0  # seconds a webhook may take before it counts as a timeout (11205)
    queue_poll: float = 0.2  # real seconds between hold loops in a queue, so other processes can act
    max_queue_loops: int = 50  # then the caller gives up and hangs up
    max_documents: int = 200  # TwiML documents per call before the emulator calls it a loop

    def __post_init__(self):
        if self.callback_order not in ("in-order", "shuffled"):
            raise ValueError("callback_order must be in-order or shuffled")
        if self.empty_record not in ("action", "fall-through"):
            raise ValueError("empty_record must be action or fall-through")


@dataclass
class Heard:
    """One line of what happened on the call, in order."""

    kind: str  # say, play, pause, caller, recording, redirect, dial, queue, hangup, error, stock_error, warning
    text: str = ""
    language: str | None = None
    at: float = 0.0  # seconds since the call was answered (estimated from speech length)


@dataclass
class EmulatedCall:
    sid: str
    to: str
    from_: str
    direction: str = "inbound"
    parent_sid: str | None = None
    transcript: list[Heard] = field(default_factory=list)
    requests: list[tuple[str, dict, int]] = field(default_factory=list)  # (url, params, HTTP status)
    status: str = "in-progress"
    ended_by: str = ""  # ivr-hangup, caller-hangup, no-more-verbs, stock-error, rest, not-answered
    recording_sid: str | None = None
    recording_started_at: float | None = None
    recordings: list[str] = field(default_factory=list)  # every recording SID made on the call
    legs: list["EmulatedCall"] = field(default_factory=list)  # <Dial> legs
    bridged_to: list[str] = field(default_factory=list)  # numbers the caller was connected to, in order
    stream_latencies: list[float] = field(default_factory=list)  # caller's last word -> REST update, seconds
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
    """The emulated account: numbers, the transport to reach the app, the auth token, the people
    who answer dialed numbers, and the fake REST API's ledger of calls and recordings."""

    def __init__(self, transport, account_sid: str, auth_token: str, numbers: list[NumberConfig],
                 options: Options | None = None):
        self.transport = transport
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.validator = RequestValidator(auth_token)
        self.numbers = {n.number: n for n in numbers}
        self.options = options or Options()
        self.ledger = Ledger(account_sid)
        self.queues = Queues()
        self.outbound: list[EmulatedCall] = []
        self._people: dict[str, list[Agent]] = {}
        self._threads: list[threading.Thread] = []
        self._live: dict[str, object] = {}  # CallSid -> running session, for REST recording control
        self._lock = threading.Lock()

    # -- people --------------------------------------------------------------------------------

    def person(self, number: str, *behaviours: Agent) -> None:
        """Who answers `number` when it is dialed or called: one behaviour per call, in order;
        the last one repeats. A number nobody set up does not answer."""
        self._people[number] = list(behaviours)

    def forget_people(self) -> None:
        self._people.clear()

    def next_behaviour(self, number: str) -> Agent:
        with self._lock:
            queue = self._people.get(number)
            if not queue:
                return Agent(answer="no-answer")
            return queue.pop(0) if len(queue) > 1 else queue[0]

    # -- calls ---------------------------------------------------------------------------------

    def call(self, to: str, from_: str, script: list[CallerAction] = (), **extra: str) -> EmulatedCall:
        """Place an inbound call from `from_` to `to`, let the scripted caller act, return what happened."""
        from ivr.emulator.interpreter import Session

        number = self.numbers[to]
        call = EmulatedCall(sid=new_sid("CA"), to=to, from_=from_)
        self.ledger.add_call(CallEntry(sid=call.sid, to=to, from_=from_, direction="inbound", status="in-progress"))
        Session(self, call, list(script), extra=extra, fallback_url=number.fallback_url,
                status_callback=number.status_callback).run(number.voice_url, number.voice_method)
        return call

    def place_outbound(self, entry: CallEntry, form: dict) -> None:
        """A call created through the REST API: ring the callee on a thread, like Twilio would."""
        from ivr.emulator.legs import run_outbound

        thread = threading.Thread(target=run_outbound, args=(self, entry, form), daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def wait_outbound(self, timeout: float = 30.0) -> list[EmulatedCall]:
        """Wait for every REST-created call so far to finish; return them."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        return list(self.outbound)

    # -- the fake REST API ---------------------------------------------------------------------

    def rest_app(self):
        return rest_api(self.ledger, self.auth_token,  # looked up per call, so a test may wrap place_outbound
                        place_call=lambda entry, form: self.place_outbound(entry, form),
                        start_recording=self._rest_start_recording)

    def serve_rest(self, port: int = 0) -> RestServer:
        """The REST API on a local port (use as a context manager); point IVR_TWILIO_API_URL at `.url`."""
        return RestServer(self.rest_app(), port=port)

    def _rest_start_recording(self, call_sid: str, form: dict):
        session = self._live.get(call_sid)
        if session is None:
            return None
        return session.start_recording_from_rest(form)

    def register(self, call_sid: str, session) -> None:
        self._live[call_sid] = session

    def unregister(self, call_sid: str) -> None:
        self._live.pop(call_sid, None)

    def sign(self, url: str, params: dict) -> str:
        return self.validator.compute_signature(url, params)
