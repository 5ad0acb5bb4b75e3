"""Shared fixtures: a private real Redis, a migrated real database, the app, a clock, emulated Twilio."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from redis import Redis
from sqlalchemy import delete

from ivr import create_app, worker
from ivr.calls import ids, writer
from ivr.clock import SettableClock
from ivr.db import models
from ivr.db.database import make_engine, make_sessions, upgrade
from ivr.emulator import NumberConfig, Twilio
from ivr.emulator.rest import RestServer
from ivr.emulator.transport import FlaskTransport, HttpTransport
from ivr.settings import PROJECT_ROOT, Settings

pytest_plugins = ["tests.callback_world"]  # the `world` fixture of the queue and call back tests

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
SECRET_KEY = "test-secret-key-for-the-qa-pages-0123456789"
PUBLIC_URL = "https://ivr.example.test"
FLOWS_DIR = PROJECT_ROOT / "flows"


def pytest_addoption(parser):
    parser.addoption("--share", default=None, metavar="K/N",
                     help="run only the K-th of N equal shares of the selected tests (K from 0), by position: "
                          "scripts/test.sh gives each faketime moment one share")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    share = config.getoption("--share")
    if not share:
        return
    try:
        k, n = (int(part) for part in share.split("/"))
        if not 0 <= k < n:
            raise ValueError
    except ValueError:
        raise pytest.UsageError(f"--share {share!r}: give K/N with 0 <= K < N, e.g. 1/3") from None
    kept = [item for index, item in enumerate(items) if index % n == k]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


def pytest_report_header(config):
    url = os.environ.get("IVR_TEST_DATABASE_URL")
    return f"ivr database under test: {url if url else 'SQLite (set IVR_TEST_DATABASE_URL for PostgreSQL)'}"


def real_time_env() -> dict[str, str]:
    """The environment without libfaketime: .ci/run runs the time-sensitive tests under faketime,
    and redis-server misbehaves under it (its own clock is only used for key expiry anyway)."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """IVR_TEST_REDIS_URL if set; otherwise a private redis-server on a unix socket."""
    if os.environ.get("IVR_TEST_REDIS_URL"):
        yield os.environ["IVR_TEST_REDIS_URL"]
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.exit("redis-server is not installed: run the README's test command, which installs it", 2)
    folder = tmp_path_factory.mktemp("redis")
    socket = folder / "redis.sock"
    process = subprocess.Popen([binary, "--port", "0", "--unixsocket", str(socket), "--save", "",
                                "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL,
                               env=real_time_env())
    url = f"unix://{socket}"
    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            break
        except Exception:
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """IVR_TEST_DATABASE_URL (e.g. PostgreSQL) if set; otherwise a SQLite file. Migrated once."""
    url = os.environ.get("IVR_TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'ivr.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def sessions(database_url, redis_url):
    """The tests' sessions. Each opened sees the records the webhooks handed over (a session is
    opened only once the writer has written them all: `drain_records`, deterministic, in this
    process). Tests of the writer itself, or of what SQL holds before it writes, use `raw_sessions`."""
    engine = make_engine(database_url)
    raw = make_sessions(engine)
    redis = Redis.from_url(redis_url, decode_responses=True)
    ids.install(redis, raw)
    yield DrainingSessions(raw, redis)
    engine.dispose()


@pytest.fixture
def raw_sessions(sessions):
    return sessions.raw


class DrainingSessions:
    def __init__(self, raw, redis):
        self.raw, self.redis = raw, redis

    def drain(self) -> int:
        return writer.drain(SimpleNamespace(redis=self.redis, sessions=self.raw,
                                            settings=SimpleNamespace(writer_batch=500)))

    def __call__(self, **kwargs):
        self.drain()
        return self.raw(**kwargs)

    def begin(self):
        self.drain()
        return self.raw.begin()

    def __getattr__(self, name):
        return getattr(self.raw, name)


def drain_records(app_or_rt) -> int:
    """What `ivr writer` does, caught up, in this process: every record handed over is written."""
    rt = app_or_rt.extensions["ivr"] if hasattr(app_or_rt, "extensions") else app_or_rt
    return writer.drain(rt)


@pytest.fixture(autouse=True)
def _clean_stores(request):
    """Every test starts with an empty Redis and empty tables (only for tests that use them)."""
    if "redis_url" in request.fixturenames or "app" in request.fixturenames:
        Redis.from_url(request.getfixturevalue("redis_url")).flushdb()
    if "sessions" in request.fixturenames or "app" in request.fixturenames:
        with request.getfixturevalue("sessions").begin() as db:
            clear_tables(db)


def clear_tables(db) -> None:
    """Empty the records of calls and what hangs off them (the audit log is kept: it is a chain the
    QA tests check at the end of the run)."""
    for model in (models.QaScore, models.QaUser, models.Transcript, models.Recording, models.CallEvent,
                  models.Consent, models.CallbackAttempt, models.CallbackRequest, models.Page, models.FreezeRequest,
                  models.Call, models.Ticket):
        db.execute(delete(model))


TUESDAY = datetime(2026, 11, 24, 17, 0, tzinfo=ZoneInfo("UTC"))


class Clock(SettableClock):
    """The service's clock in tests: a fixed Tuesday unless a test says what time it is locally.
    Shared through a file with every process a test starts (`settings.clock` names it), so a
    worker or a CLI command in another process reads the same time as the app."""

    def reset(self) -> None:
        self.set_moment(TUESDAY)


@pytest.fixture
def clock(tmp_path):
    return Clock(TUESDAY, shared_as=tmp_path / "clock")


@pytest.fixture
def settings(redis_url, database_url, tmp_path, clock):
    return Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, public_url=PUBLIC_URL,
                    redis_url=redis_url, database_url=database_url, flows_dir=FLOWS_DIR,
                    recordings_dir=tmp_path / "recordings", clock=clock.spec, secret_key=SECRET_KEY)


def run_jobs(rt) -> None:
    """What `ivr worker --burst` does, in this process with the app's own runtime (and so its
    clock): a real RQ worker works through every job queued and due, then returns."""
    with worker.keeping_signal_handlers():
        worker.work(rt, burst=True, logging_level="WARNING")


def service_env(settings: Settings) -> dict[str, str]:
    """The environment of another process of the service (`ivr worker`, `ivr ...` commands) built
    from the same settings, the clock included."""
    return {**os.environ, **settings.to_env()}


@pytest.fixture
def app(settings, clock, sessions):
    return create_app(settings, clock=clock)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def twilio(app):
    """Emulated Twilio with every shipped region's numbers pointed at the app, in process."""
    numbers = [NumberConfig(number=number, voice_url=f"{PUBLIC_URL}/voice/incoming",
                            fallback_url=f"{PUBLIC_URL}/voice/fallback", status_callback=f"{PUBLIC_URL}/voice/status")
               for flow in app.extensions["ivr"].flows for number in flow.numbers]
    numbers.append(NumberConfig(number="+15005550006", voice_url=f"{PUBLIC_URL}/voice/incoming",
                                fallback_url=f"{PUBLIC_URL}/voice/fallback",
                                status_callback=f"{PUBLIC_URL}/voice/status"))
    return Twilio(FlaskTransport(app), ACCOUNT_SID, AUTH_TOKEN, numbers)


@pytest.fixture
def served(settings, clock, sessions):
    """The app on a real local port (media streams need sockets), its REST client on the emulator."""
    def serve(**overrides):
        twilio = Twilio(None, ACCOUNT_SID, AUTH_TOKEN, [])
        rest = twilio.serve_rest().__enter__()
        app = create_app(settings.with_(twilio_api_url=rest.url, **overrides), clock=clock)
        server = RestServer(app).__enter__()
        twilio.transport = HttpTransport(connect_to=server.url)
        for flow in app.extensions["ivr"].flows:
            for number in flow.numbers:
                twilio.numbers[number] = NumberConfig(number, f"{PUBLIC_URL}/voice/incoming",
                                                      f"{PUBLIC_URL}/voice/fallback", f"{PUBLIC_URL}/voice/status")
        twilio.app = app
        opened.extend([server, rest])
        return twilio

    opened: list = []
    yield serve
    for server in opened:
        server.__exit__(None, None, None)
