"""How long from the urgent trigger (9 pressed) to the first agent's phone ringing.

Runs whole emulated calls (press 9 at the greeting; the on-call agent answers and accepts) against
the app in process, with a real Redis and SQLite and the emulator's REST API. The agent is called
through the REST API (Calls.create) while the app answers the webhook that carries Digits=9, so:
"from 9 to ringing" is the real time from that request leaving the emulated Twilio to the REST
call reaching it, and the caller's own (emulated speech) time from the key press to the ring.
The caller hears the connecting words, ticket number and reminder while the agent's phone rings.

    .venv/bin/python bench/urgent_path.py [calls]
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.service import service  # noqa: E402
from ivr.emulator import Agent, Press, Silence  # noqa: E402

CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 50


def main() -> None:
    with service() as (twilio, clock):
        clock.set("2026-12-25T03:00", "Europe/London")  # a holiday, 3 a.m.: closed, but not for this path
        twilio.person("+447700900213", Agent())  # Grace, Christmas cover
        to_ring, caller_seconds, bridged_after = [], [], []
        for i in range(CALLS):
            call = twilio.call("+442079460100", f"+4477009{i:05d}", [Press("9"), Silence()])
            assert call.bridged_to == ["+447700900213"], call.transcript
            [agent] = twilio.rung_during(call)
            nine = next(n for n, (_, params, _) in enumerate(call.requests) if params.get("Digits") == "9")
            sent_at = call.fetched[nine][0]
            pressed = next(h.at for h in call.transcript if h.kind == "caller" and "presses 9" in h.text)
            to_ring.append(agent.created_wall - sent_at)
            caller_seconds.append(call.seconds_at(agent.created_wall) - pressed)
            bridged = next(h.at for h in call.transcript if h.kind == "dial" and "connected" in h.text)
            bridged_after.append(bridged - pressed)
    print(f"urgent path, {CALLS} calls: from the request carrying 9 to the agent's call created (REST), real time: "
          f"p50 {statistics.median(to_ring) * 1000:.1f} ms, p95 {_p95(to_ring) * 1000:.1f} ms, "
          f"max {max(to_ring) * 1000:.1f} ms")
    print(f"caller's time from 9 to the agent's phone ringing (emulator): max {max(caller_seconds):.1f} s; "
          f"to being put through to the agent who accepts: {statistics.median(bridged_after):.1f} s")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


if __name__ == "__main__":
    main()
