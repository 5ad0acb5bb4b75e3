"""How long our side takes from the urgent trigger (9 pressed) to the first agent's phone ringing.

Runs whole emulated calls (press 9 at the greeting; the on-call agent answers and accepts) against
the app in process, with a real Redis and SQLite. "Our processing" is the time the app spends
answering the webhooks between the key press and the TwiML that dials the agent: the Gather with
Digits=9, then the end of the short connecting message. The caller also hears about 12 s of
prompts (connecting, ticket number, reminder) in between; that is speech, not processing.

    .venv/bin/python bench/urgent_path.py [calls]
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.service import Timed, service  # noqa: E402
from ivr.emulator import Agent, Press, Silence  # noqa: E402

CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 50


def main() -> None:
    with service() as (twilio, clock):
        twilio.transport = timed = Timed(twilio.transport)
        clock.set("2026-12-25T03:00", "Europe/London")  # a holiday, 3 a.m.: closed, but not for this path
        twilio.person("+447700900213", Agent())  # Grace, Christmas cover
        processing, dial_offsets = [], []
        for i in range(CALLS):
            timed.times.clear()
            call = twilio.call("+442079460100", f"+4477009{i:05d}", [Press("9"), Silence()])
            assert call.bridged_to == ["+447700900213"], call.transcript
            # requests: /incoming (greeting), /gather (Digits=9), /gather (no key: connecting done -> <Dial>)
            gathers = [t for path, t in timed.times if path == "/gather"]
            processing.append(sum(gathers[:2]))
            ring = next(h.at for h in call.transcript if h.kind == "dial")
            pressed = next(h.at for h in call.transcript if h.kind == "caller" and "presses 9" in h.text)
            dial_offsets.append(ring - pressed)
    processing.sort()
    p95 = processing[int(0.95 * (len(processing) - 1))]
    print(f"urgent path, {CALLS} calls: our processing from 9 to <Dial> "
          f"p50 {statistics.median(processing) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
          f"max {processing[-1] * 1000:.1f} ms")
    print(f"caller's time from 9 to the agent's phone ringing (prompts included, emulator estimate): "
          f"{statistics.median(dial_offsets):.1f} s")


if __name__ == "__main__":
    main()
