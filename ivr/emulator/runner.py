"""Running emulated calls against the service, for `ivr call` and the scenario tests: in this
process (the clock can be set), or over HTTP against a running service."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from ivr.calls import writer
from ivr.clock import SettableClock
from ivr.db.database import make_engine, make_sessions, upgrade
from ivr.emulator import NumberConfig, Twilio, desk_preset
from ivr.emulator.report import CallReport, build_report, check
from ivr.emulator.rest import RestServer
from ivr.emulator.scenarios import Scenario
from ivr.emulator.transport import HttpTransport
from ivr.flows.loader import FlowSet, load_flows
from ivr.settings import Settings
from ivr.web.app import create_app

WRITER_WAIT = 10.0  # seconds a report over HTTP waits for the service's writer to write the call


@dataclass
class Outcome:
    scenario: Scenario
    report: CallReport
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures


class Dialer:
    """Places emulated calls to the service's numbers, as Twilio would, and reports on them."""

    def __init__(self, settings: Settings, flows: FlowSet, transport, sessions: sessionmaker[Session] | None,
                 clock: SettableClock | None = None, twilio: Twilio | None = None, runtime=None):
        self.settings, self.flows, self.sessions, self.clock = settings, flows, sessions, clock
        self.runtime = runtime or _in_process_runtime(transport, clock, twilio)
        self.twilio = twilio or Twilio(transport, settings.twilio_account_sid, settings.twilio_auth_token, [])
        self.twilio.transport = transport
        self.twilio.numbers.update({n: self._number(n) for flow in flows for n in flow.numbers})

    @classmethod
    def in_process(cls, settings: Settings, database_url: str | None = None) -> Dialer:
        """The service inside this process, on `database_url` (default: the configured database), served
        on a local port (media streams need real sockets), its Twilio REST client pointed at the emulator."""
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the local servers' request lines
        twilio = Twilio(None, settings.twilio_account_sid, settings.twilio_auth_token, [])
        rest = twilio.serve_rest().__enter__()
        settings = settings.with_(database_url=database_url or settings.database_url, twilio_api_url=rest.url)
        upgrade(settings.database_url)
        clock = SettableClock()
        app = create_app(settings, clock=clock)
        runtime = app.extensions["ivr"]
        runtime.redis.ping()  # fail here, in one line, rather than as an apology in every call
        server = RestServer(app).__enter__()
        return cls(settings, runtime.flows, HttpTransport(connect_to=server.url), runtime.sessions, clock, twilio,
                   runtime)

    @classmethod
    def over_http(cls, settings: Settings, url: str) -> Dialer:
        """Against a running service at `url`; requests are signed for IVR_PUBLIC_URL, as Twilio signs them."""
        return cls(settings, load_flows(settings.flows_dir), HttpTransport(connect_to=url),
                   make_sessions(make_engine(settings.database_url)))

    def _number(self, number: str) -> NumberConfig:
        url = self.settings.url_for
        return NumberConfig(number, url("/voice/incoming"), fallback_url=url("/voice/fallback"),
                            status_callback=url("/voice/status"))

    def run(self, scenario: Scenario) -> Outcome:
        spec, problems = scenario.spec.call, []
        if spec.to not in self.twilio.numbers:  # a number of no region: the service must still answer
            self.twilio.numbers[spec.to] = self._number(spec.to)
        in_process = self.clock is not None and self.runtime is not None
        if not in_process and (scenario.spec.desk or scenario.spec.before or scenario.spec.callbacks):
            problems.append("`desk:`, `before:` and `callbacks:` need the service in this process (run without --url)")
        flow = self.flows.for_number(spec.to)
        self._set_clock(spec.to, scenario.spec.before[0].at if scenario.spec.before else spec.at, problems)
        preset = desk_preset.apply(self.runtime, flow.region, scenario.spec.desk, self.clock()) \
            if in_process and flow else desk_preset.Preset()
        try:
            for at, script, agents in scenario.earlier() if in_process else []:
                self._set_clock(spec.to, at, problems)
                self._people(agents)
                self.twilio.call(spec.to, spec.from_, script, **spec.params)
            self._set_clock(spec.to, spec.at, problems)
            self._people(scenario.agents())
            call = self.twilio.call(spec.to, spec.from_, scenario.script(), **spec.params)
            placed = []
            if in_process and scenario.spec.callbacks:
                desk_preset.point_rest_at(self.runtime, self.twilio)
                placed = desk_preset.play_callbacks(self.runtime, self.twilio, self.clock, call.sid, preset)
        finally:
            if in_process:
                desk_preset.clear(self.runtime, preset)
        self._records_written()
        report = build_report(call, self.sessions, placed, self.flows, self.twilio.rung_during(call))
        return Outcome(scenario, report, problems + check(scenario.spec.expect, report))

    def _records_written(self) -> None:
        """The report reads the call's rows: in this process, write what the webhooks handed over
        now; against a running service, give its `ivr writer` a moment to catch up."""
        if self.runtime is not None:
            writer.drain(self.runtime)
            return
        redis = Redis.from_url(self.settings.redis_url, decode_responses=True)
        give_up = time.monotonic() + WRITER_WAIT
        while writer.lag(redis).pending and time.monotonic() < give_up:
            time.sleep(0.1)

    def _set_clock(self, to: str, at: str | None, problems: list[str]) -> None:
        if at:
            if self.clock is None:
                problems.append("`at:` needs the service in this process (run without --url)")
            else:
                flow = self.flows.for_number(to)
                self.clock.set(at, flow.timezone if flow else "UTC")
        elif self.clock is not None:
            self.clock.reset()

    def _people(self, agents) -> None:
        self.twilio.forget_people()
        for number, behaviours in agents.items():
            self.twilio.person(number, *behaviours)


def _in_process_runtime(transport, clock, twilio):
    """The service's runtime when it runs in this process (scenario tests: the emulator knows the
    app it serves, or reaches it through a Flask test client)."""
    app = getattr(twilio, "app", None) or getattr(getattr(transport, "client", None), "application", None)
    return app.extensions.get("ivr") if app is not None and clock is not None else None
