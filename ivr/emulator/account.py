"""The emulated Twilio account: numbers pointed at the app, calls placed to it, people who answer.

Faithful to Twilio's documented behaviour (see shared/reference/TWILIO_RQ.md): every request is
signed over the exact URL with RequestValidator's algorithm, relative URLs resolve against the
current document, a failed fetch goes to the fallback URL with ErrorCode/ErrorUrl, and without one
the caller hears the stock error. What the reference marks unconfirmed is a setting in `Options`.
"""
from __future__ import annotations

import threading

from twilio.request_validator import RequestValidator

from ivr.emulator.calls import EmulatedCall
from ivr.emulator.config import NumberConfig, Options
from ivr.emulator.interpreter import Session
from ivr.emulator.ledger import CallEntry, Ledger
from ivr.emulator.legs import run_outbound
from ivr.emulator.queues import Queues
from ivr.emulator.rest import RestServer, rest_api
from ivr.emulator.script import Agent, CallerAction
from ivr.emulator.sids import new_sid


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
        self._posting: dict[int, object] = {}  # sessions waiting for the app's answer to a webhook
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
        number = self.numbers[to]
        call = EmulatedCall(sid=new_sid("CA"), to=to, from_=from_)
        self.ledger.add_call(CallEntry(sid=call.sid, to=to, from_=from_, direction="inbound", status="in-progress"))
        Session(self, call, list(script), extra=extra, fallback_url=number.fallback_url,
                status_callback=number.status_callback).run(number.voice_url, number.voice_method)
        return call

    def posting(self, session, waiting: bool) -> None:
        """A session is waiting for (or got) the app's answer to a webhook."""
        with self._lock:
            if waiting:
                self._posting[id(session)] = session
            else:
                self._posting.pop(id(session), None)

    def account_now(self) -> float | None:
        """The account's time of the webhooks the app is answering now (the latest, if several):
        what the app does through the REST API meanwhile happens at that moment."""
        with self._lock:
            times = [session.call.now for session in self._posting.values()]
        return max(times) if times else None

    def place_outbound(self, entry: CallEntry, form: dict) -> None:
        """A call created through the REST API: ring the callee on a thread, like Twilio would."""
        entry.start = self.account_now()
        thread = threading.Thread(target=run_outbound, args=(self, entry, form, Session), daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def rung_during(self, call: EmulatedCall) -> list[EmulatedCall]:
        """The calls the app created through the REST API while it answered `call`'s webhooks (the
        on-call agents rung for it), oldest first."""
        if not call.fetched:
            return []
        first = call.fetched[0][0]
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(30.0)
        last = call.ended_wall or float("inf")
        return sorted((c for c in self.outbound if first <= c.created_wall <= last), key=lambda c: c.created_wall)

    def wait_outbound(self, timeout: float = 120.0) -> list[EmulatedCall]:
        """Wait for every REST-created call so far to finish; return them. `timeout` (real seconds
        per call) only bounds a call that never ends: a busy machine may take its time."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        return list(self.outbound)

    # -- the fake REST API ---------------------------------------------------------------------

    def rest_app(self):
        return rest_api(self.ledger, self.auth_token,  # looked up per call, so a test may wrap place_outbound
                        place_call=lambda entry, form: self.place_outbound(entry, form),
                        start_recording=self._rest_start_recording,
                        media_redirect=lambda: self.options.media_redirect, account_now=self.account_now)

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

    def is_live(self, call_sid: str) -> bool:
        return call_sid in self._live

    def live_besides(self, call_sid: str) -> bool:
        """Whether a call other than `call_sid` is still running (and so may yet join a queue)."""
        return any(sid != call_sid for sid in list(self._live))

    def sign(self, url: str, params: dict) -> str:
        return self.validator.compute_signature(url, params)
