"""Running emulated calls against the service, for `ivr call` and the scenario tests: in this
process (the clock can be set), or over HTTP against a running service."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from ivr.callreport import CallReport, build_report, check
from ivr.emulator import NumberConfig, Twilio
from ivr.emulator.rest import RestServer
from ivr.emulator.transport import HttpTransport
from ivr.flows import FlowSet
from ivr.scenarios import Scenario
from ivr.settings import Settings


class SettableClock:
    """The service's clock when calls are tried in process: scenarios say what time it is locally."""

    def __init__(self):
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        return self.now or datetime.now(timezone.utc)

    def set(self, local: str, zone: str) -> None:
        self.now = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone))

    def reset(self) -> None:
        self.now = None


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
                 clock: SettableClock | None = None, twilio: Twilio | None = None):
        self.settings, self.flows, self.sessions, self.clock = settings, flows, sessions, clock
        self.twilio = twilio or Twilio(transport, settings.twilio_account_sid, settings.twilio_auth_token, [])
        self.twilio.transport = transport
        self.twilio.numbers.update({n: self._number(n) for flow in flows for n in flow.numbers})

    @classmethod
    def in_process(cls, settings: Settings, database_url: str | None = None) -> "Dialer":
        """The service inside this process, on `database_url` (default: the configured database), served
        on a local port (media streams need real sockets), its Twilio REST client pointed at the emulator."""
        from ivr import create_app
        from ivr.db import upgrade

        import logging

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
        return cls(settings, runtime.flows, HttpTransport(connect_to=server.url), runtime.sessions, clock, twilio)

    @classmethod
    def over_http(cls, settings: Settings, url: str) -> "Dialer":
        """Against a running service at `url`; requests are signed for IVR_PUBLIC_URL, as Twilio signs them."""
        from ivr.db import make_engine, make_sessions
        from ivr.flows import load_flows

        return cls(settings, load_flows(settings.flows_dir), HttpTransport(connect_to=url),
                   make_sessions(make_engine(settings.database_url)))

    def _number(self, number: str) -> NumberConfig:
        url = self.settings.url_for
        return NumberConfig(number, url("/voice/incoming"), fallback_url=url("/voice/fallback"),
                            status_callback=url("/voice/status"))

    def run(self, scenario: Scenario) -> Outcome:
        spec = scenario.spec.call
        if spec.to not in self.twilio.numbers:  # a number of no region: the service must still answer
            self.twilio.numbers[spec.to] = self._number(spec.to)
        problems = []
        if spec.at:
            if self.clock is None:
                problems.append("`at:` needs the service in this process (run without --url)")
            else:
                flow = self.flows.for_number(spec.to)
                self.clock.set(spec.at, flow.timezone if flow else "UTC")
        elif self.clock is not None:
            self.clock.reset()
        self.twilio.forget_people()
        for number, agents in scenario.agents().items():
            self.twilio.person(number, *agents)
        call = self.twilio.call(spec.to, spec.from_, scenario.script(), **spec.params)
        report = build_report(call, self.sessions)
        return Outcome(scenario, report, problems + check(scenario.spec.expect, report))
