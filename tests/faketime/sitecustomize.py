"""Loaded (through PYTHONPATH) only by the test command's runs under libfaketime.

libfaketime 0.9.10 (Debian 12's `faketime`), with the monotonic clock left real
(FAKETIME_DONT_FAKE_MONOTONIC=1, which threads and timeouts need), turns the absolute monotonic
deadline that Python's time.sleep() passes to clock_nanosleep() into EINVAL. Under faketime only,
time.sleep() waits with select() instead, which takes a relative timeout. Nothing else changes.
"""
import os
import select
import time

if os.environ.get("FAKETIME") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":
    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        select.select([], [], [], seconds)

    time.sleep = _sleep
