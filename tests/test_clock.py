"""Every process takes its time from the service's clock (IVR_CLOCK), never the system clock."""
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from ivr.clock import FileClock, SettableClock, clock_from, system_now
from ivr.errors import SettingsError
from ivr.settings import Settings

pytestmark = pytest.mark.time_sensitive  # hours, the rota, paging, call backs or scheduling

MONDAY = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def test_a_settable_clock_shares_its_time_with_other_processes_through_its_file(tmp_path):
    clock = SettableClock(MONDAY, shared_as=tmp_path / "clock")
    read = "from ivr.clock import clock_from; import sys; print(clock_from(sys.argv[1])().isoformat())"
    other = subprocess.run([sys.executable, "-c", read, clock.spec], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == MONDAY.isoformat()
    clock.advance(minutes=5)
    assert FileClock(tmp_path / "clock")() == MONDAY + timedelta(minutes=5)
    clock.reset()  # back to the system clock, here and in the other processes
    assert abs(FileClock(tmp_path / "clock")() - system_now()) < timedelta(seconds=5)


def test_ivr_clock_names_the_system_a_fixed_moment_or_a_file():
    assert clock_from("system") is system_now
    assert clock_from("fixed:2026-11-30T03:00:00Z")() == MONDAY
    assert isinstance(clock_from("file:/tmp/nowhere"), FileClock)


@pytest.mark.parametrize("value, problem", [
    ("sundial", "IVR_CLOCK must be system, fixed:<ISO time with offset> or file:<path>"),
    ("fixed:yesterday", "is not an ISO time"),
    ("fixed:2026-11-30T03:00", "has no UTC offset"),
])
def test_a_bad_ivr_clock_stops_start_up_with_the_reason(value, problem):
    env = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "3f9a0c1d" * 4, "IVR_CLOCK": value}
    with pytest.raises(SettingsError, match=problem):
        Settings.from_env(env)


def test_settings_given_to_another_process_build_the_same_settings(settings):
    changed = settings.with_(pager_url="https://pager.example.test/hook", pager_secret="pager-secret-0123456789",
                             speech_grammar=frozenset({"ko", "zh"}), callback_amd="async", job_timeout=7)
    assert Settings.from_env(changed.to_env()) == changed
