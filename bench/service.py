"""A throwaway service for benchmarks: a private redis-server and SQLite file in a temp folder,
the shipped flows, and the emulated Twilio in front of the app (in process)."""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from redis import Redis

from ivr import create_app
from ivr.clock import SettableClock
from ivr.db.database import upgrade
from ivr.emulator import NumberConfig, Twilio
from ivr.emulator.rest import RestServer
from ivr.emulator.transport import FlaskTransport, HttpTransport
from ivr.settings import PROJECT_ROOT, Settings

ACCOUNT_SID, AUTH_TOKEN, PUBLIC = "AC" + "0" * 31 + "1", "bench-token", "https://ivr.bench.test"


@contextlib.contextmanager
def service(served: bool = False, **overrides):
    """Yields (emulated Twilio, clock); the app's REST client is on the emulator's REST API (the urgent
    path rings agents through it). served=True: the app on a local port, as `ivr call` runs it (media
    streams need real sockets); otherwise called in process."""
    folder = Path(tempfile.mkdtemp(prefix="ivr-bench-"))
    socket = folder / "redis.sock"
    redis = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", "0", "--unixsocket",
                              str(socket), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                Redis(unix_socket_path=str(socket)).ping()
                break
            except Exception:
                time.sleep(0.05)
        settings = Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, public_url=PUBLIC,
                            redis_url=f"unix://{socket}", database_url=f"sqlite:///{folder / 'ivr.db'}",
                            flows_dir=PROJECT_ROOT / "flows", recordings_dir=folder / "recordings").with_(**overrides)
        upgrade(settings.database_url)
        clock = SettableClock()
        twilio = Twilio(None, ACCOUNT_SID, AUTH_TOKEN, [])
        with contextlib.ExitStack() as stack:
            rest = stack.enter_context(twilio.serve_rest())
            settings = settings.with_(twilio_api_url=rest.url)
            app = create_app(settings, clock=clock)
            if served:
                server = stack.enter_context(RestServer(app))
                twilio.transport = HttpTransport(connect_to=server.url)
            else:
                twilio.transport = FlaskTransport(app)
            for flow in app.extensions["ivr"].flows:
                for n in flow.numbers:
                    twilio.numbers[n] = NumberConfig(n, f"{PUBLIC}/voice/incoming", f"{PUBLIC}/voice/fallback",
                                                     f"{PUBLIC}/voice/status")
            yield twilio, clock
    finally:
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


class Timed:
    """Wraps a transport and keeps how long each request to the app took, by path."""

    def __init__(self, inner):
        self.inner = inner
        self.times: list[tuple[str, float]] = []

    def request(self, method, url, params, headers):
        started = time.perf_counter()
        try:
            return self.inner.request(method, url, params, headers)
        finally:
            self.times.append((url.split("?")[0].rsplit("/voice", 1)[-1], time.perf_counter() - started))
