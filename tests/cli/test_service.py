"""The service as an operator runs it: `ivr serve` (gunicorn) answering emulated calls over real HTTP."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ivr.emulator import NumberConfig, Press, Silence, Twilio
from ivr.emulator.transport import HttpTransport
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, FLOWS_DIR
from tests.ports import free_port

PUBLIC = "https://ivr.example.test"  # what Twilio signs; the test reaches gunicorn over plain http
IVR = Path(sys.executable).with_name("ivr")


def service_env(redis_url, database_url, port, flows_dir=FLOWS_DIR) -> dict:
    return {**os.environ, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "IVR_PUBLIC_URL": PUBLIC, "IVR_BIND": f"127.0.0.1:{port}", "IVR_WEB_WORKERS": "1",
            "IVR_REDIS_URL": redis_url, "IVR_DATABASE_URL": database_url, "IVR_FLOWS_DIR": str(flows_dir),
            "IVR_SECRET_KEY": "service-test-secret-key-0123456789abcdef"}


@pytest.fixture
def service(redis_url, database_url, sessions):
    port = free_port()
    process = subprocess.Popen([str(IVR), "serve"], env=service_env(redis_url, database_url, port),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    give_up = time.monotonic() + 120  # loading the speech models takes a while on a busy machine
    while True:
        try:
            if requests.get(base + "/healthz", timeout=5).ok:
                break
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a worker still booting
            time.sleep(0.1)
        if time.monotonic() > give_up or process.poll() is not None:
            os.killpg(process.pid, signal.SIGKILL)  # gunicorn and the workers too, or the pipe stays open
            pytest.fail("service did not start:\n" + process.communicate()[0])
    yield base
    process.terminate()
    process.wait(20)


def test_served_app_takes_a_whole_call_behind_a_tls_proxy(service):
    number = NumberConfig("+442079460100", f"{PUBLIC}/voice/incoming", f"{PUBLIC}/voice/fallback",
                          f"{PUBLIC}/voice/status")
    twilio = Twilio(HttpTransport(connect_to=service), ACCOUNT_SID, AUTH_TOKEN, [number])
    call = twilio.call("+442079460100", "+447700900123", [Silence(), Press("1"), Press("5")])
    assert all(status in (200, 204) for _, _, status in call.requests), call.requests
    assert not call.heard_stock_error and call.recording_sid
    assert requests.get(service + "/readyz", timeout=5).json()["ready"]


def test_ivr_call_drives_the_running_service_over_http(service, redis_url, database_url):
    scenario = Path(__file__).parent.parent.parent / "scenarios" / "common" / "unsupported_number.yaml"
    env = service_env(redis_url, database_url, free_port())
    result = subprocess.run([str(IVR), "call", "--url", service, str(scenario)], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 0 failed" in result.stdout
    spoken = subprocess.run([str(IVR), "call", "--url", service, "--to", "+442079460100", "--silence", "--press", "1",
                             "--hangup"], env=env, capture_output=True, text=True, timeout=60)
    assert spoken.returncode == 0 and "IVR [en-GB]   Welcome to United Kingdom customer support." in spoken.stdout
    assert "Ended:    the caller hung up" in spoken.stdout


def test_service_refuses_to_start_on_a_broken_flow(redis_url, database_url):
    broken = Path(__file__).parent.parent / "broken_flows"
    result = subprocess.run([str(IVR), "serve"], env=service_env(redis_url, database_url, free_port(), broken),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "refusing to start" in result.stderr
    assert "records_early.yaml: step 'record': can start a recording before consent" in result.stderr
