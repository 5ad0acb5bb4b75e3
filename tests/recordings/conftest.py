"""The recordings tests' world: the app in process behind emulated Twilio (voice and its REST API,
which serves the media and takes the deletes), a real Redis, database and RQ worker, and a
moto S3 server on a local port for the S3 store."""
from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from sqlalchemy import select

from ivr.db.models import Call, Recording
from ivr.emulator import HangUp, Press, Silence, Speak
from tests.callback_world import make_world, wait_for
from tests.conftest import real_time_env, run_jobs
from tests.ports import free_port

GB, KR = "+442079460100", "+8225550100"
CONSENT = [Silence(), Press("1"), Press("2"), Silence()]  # gb: consent given, then the issue menu
DECLINE = [Silence(), Press("2"), Press("2"), Silence()]
KOREAN = [Silence(), Speak("로그인 할 수 없 어요", language="ko"), HangUp()]


@dataclass
class RecordingsWorld:
    world: object
    rest: object

    @property
    def rt(self):
        return self.world.rt

    @property
    def twilio(self):
        return self.world.twilio

    def call(self, caller: str, script=CONSENT, to: str = GB):
        return self.twilio.call(to, caller, list(script))

    def work(self) -> None:
        run_jobs(self.rt)

    def recording(self, call_sid: str) -> Recording | None:
        with self.world.sessions() as db:
            found = db.scalars(select(Recording).join(Call).where(Call.call_sid == call_sid)).first()
            if found is not None:
                _ = list(found.transcripts)
            return found

    def events(self, call_sid: str) -> list[tuple[str, dict]]:
        with self.world.sessions() as db:
            call = db.scalars(select(Call).where(Call.call_sid == call_sid)).one()
            return [(e.kind, e.detail) for e in call.events]

    def at_twilio(self, recording_sid: str) -> str:
        return self.twilio.ledger.recordings[recording_sid].status

    @property
    def env(self) -> dict:
        return self.world.env


def make_recordings_world(settings, clock, sessions, **overrides) -> RecordingsWorld:
    world, rest = make_world(settings, clock, sessions, recordings_retry_seconds=1, **overrides)
    return RecordingsWorld(world, rest)


@pytest.fixture
def recorded(settings, clock, sessions):
    made = make_recordings_world(settings, clock, sessions)
    clock.set("2026-11-24T10:00", "Europe/London")
    yield made
    made.rest.__exit__(None, None, None)


@dataclass
class S3Server:
    url: str
    process: subprocess.Popen | None = None
    port: int = 0

    def start(self) -> None:
        binary = Path(sys.executable).with_name("moto_server")
        self.process = subprocess.Popen([str(binary if binary.exists() else shutil.which("moto_server")), "-H",
                                         "127.0.0.1", "-p", str(self.port)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, env=real_time_env())
        assert wait_for(self._up, timeout=20), "moto_server did not start"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def _up(self) -> bool:
        try:
            self.client().list_buckets()
            return True
        except Exception:
            return False

    def client(self):
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="testing",
                            aws_secret_access_key="testing")


@pytest.fixture
def s3(monkeypatch):
    """moto's standalone S3 server on a free local port (real HTTP), and boto3's usual variables
    pointing at it, for this process and the ones it starts."""
    port = free_port()
    server = S3Server(f"http://127.0.0.1:{port}", port=port)
    for name, value in {"AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    server.start()
    server.client().create_bucket(Bucket="ivr-recordings")
    yield server
    server.stop()
