"""Urgency at every question with vosk: how many calls two cores can listen to through their prompts.

Each call is a thread with the app's own UrgencyListener (ivr/speech/urgency_listener.py: the
energy gate, a phrase-grammar recogniser over the shipped Korean phrasebook, urgent phrases read
from partial and final results), fed a 20 ms mu-law frame every 20 ms of wall time, as Twilio's
Media Streams deliver them, for the whole IVR part of a call. What the line carries: the caller
listening to prompts (line noise well under the gate, RMS about 100) with, now and then, a
sentence (espeak-ng Korean through the telephone channel; SPEECH_EVERY seconds apart, so about
10 % of the call is speech): everyday questions, and on every fourth call first "계정 이 도용 됐 어요"
(heard as a takeover). "urgent" counts the urgent calls heard; "false" the other calls flagged,
"(sure)" those of them flagged at or above the sure mark (the rest would be asked "press 9 or say yes").

A call "kept up" when no frame was handled more than MAX_LAG after it arrived and it ended less
than END_LAG behind. "cores" is this process's CPU over the run, per call in "core/call";
"MB/stream" is (resident memory with every call live - resident memory after loading) / N.
Each call count runs in a fresh process pinned to two cores; "others" is what the rest of the
machine used meanwhile (on a shared machine calls fall behind when other work takes the cores).
A "quiet" run feeds only line noise: the cost of a call whose caller never speaks.

    .venv/bin/python bench/urgency_streams.py [--seconds 60] [--calls 16,32,64,96] [--quiet 64]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from array import array
from pathlib import Path

from speech_audio import FRAME, RATE, SENTENCES, machine_busy_seconds, rss_mb

from ivr.audio import mulaw
from ivr.core.running import URGENT_SURE
from ivr.emulator.speech import synthesize
from ivr.flows.phrasebooks import load_phrasebooks
from ivr.settings import PROJECT_ROOT, Settings
from ivr.speech.hearing import Hearing
from ivr.speech.urgency_listener import UrgencyListener

CORES = 2
STEP = FRAME / RATE  # 20 ms
MAX_LAG = 1.0  # seconds: the worst any frame may wait before it is handled
END_LAG = 0.5  # seconds: how far behind a call may be when it ends
SPEECH_EVERY = 20.0  # seconds between the caller's sentences (each about two seconds)
URGENT = "계정 이 도용 됐 어요"
EVERYDAY = SENTENCES[1:]  # not urgent: a forgotten password, a withdrawal, log-in trouble, an agent, a deposit


def line_noise(seconds: float, seed: int) -> bytes:
    """The caller's line while they listen: quiet noise (RMS about 100), far under the gate's 400."""
    rng = random.Random(seed)
    pcm = array("h", (int(rng.gauss(0, 100)) for _ in range(int(seconds * RATE))))
    return mulaw.encode(pcm.tobytes())


def call_audio(seconds: float, index: int, quiet: bool) -> bytes:
    """A call's IVR part: line noise, and a sentence every SPEECH_EVERY seconds (urgent on every fourth call)."""
    audio = bytearray(line_noise(seconds, index))
    if not quiet:
        texts = [URGENT] if index % 4 == 0 else []
        texts += [EVERYDAY[(index + n) % len(EVERYDAY)] for n in range(int(seconds // SPEECH_EVERY) + 1)]
        at = 3.0 + (index % 7)  # calls do not all speak at once
        for text in texts:
            spoken = synthesize(text, "ko")
            start = int(at * RATE)
            if start + len(spoken) > len(audio):
                break
            audio[start:start + len(spoken)] = spoken
            at += SPEECH_EVERY
    return bytes(audio[:len(audio) // FRAME * FRAME])


def hearing() -> Hearing:
    flows = PROJECT_ROOT / "flows"
    books, problems = load_phrasebooks(flows)
    if problems:
        sys.exit("\n".join(problems))
    settings = Settings(twilio_account_sid="AC" + "0" * 32, twilio_auth_token="bench", public_url="https://bench",
                        redis_url="redis://localhost", database_url="sqlite://", flows_dir=flows,
                        recordings_dir=Path("/tmp"), secret_key="bench" * 8)
    return Hearing(settings, books)


def run_calls(count: int, seconds: float, quiet: bool) -> dict:
    """In this process: load the model, listen to `count` calls for `seconds`, measure them."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:CORES])
    ears = hearing()
    ears.recognizer("ko", grammar=True)  # loads the model (and builds the grammar) before measuring
    loaded = rss_mb()
    audio = [call_audio(seconds, index, quiet) for index in range(min(count, 12))]
    urgent_calls = {index for index in range(count) if not quiet and index % 4 == 0}
    heard: dict[int, float] = {}  # call -> the surest urgent decision it gave
    listeners = [UrgencyListener(ears, "ko", lambda decision, index=index: _keep(heard, index, decision.confidence))
                 for index in range(count)]
    after_streams = rss_mb()
    lags: list[list[float]] = [[] for _ in range(count)]
    start_at = time.perf_counter() + 0.5

    def live(index: int) -> None:
        stream, listener, lag = audio[index % len(audio)], listeners[index], lags[index]
        begins = start_at + STEP * index / count
        for frame, offset in enumerate(range(0, len(stream), FRAME)):
            arrives = begins + STEP * (frame + 1)
            wait = arrives - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            listener.feed(stream[offset:offset + FRAME])
            lag.append(time.perf_counter() - arrives)
        listener.finish()

    cpu, machine = time.process_time(), machine_busy_seconds()
    threads = [threading.Thread(target=live, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start_at
    busy = (time.process_time() - cpu) / wall
    others = (machine_busy_seconds() - machine) / wall - busy
    every = sorted(value for lag in lags for value in lag)
    fed = sum(listener.fed_ms for listener in listeners) / max(1, sum(listener.audio_ms for listener in listeners))
    return {
        "calls": count, "quiet": quiet,
        "kept_up": all(max(lag, default=0) < MAX_LAG and lag[-1] < END_LAG for lag in lags),
        "lag_p50_ms": 1000 * statistics.median(every), "lag_p99_ms": 1000 * every[int(0.99 * (len(every) - 1))],
        "lag_max_ms": 1000 * every[-1], "cores_busy": busy, "others_busy": max(others, 0.0),
        "per_call_core": busy / count, "rss_loaded_mb": loaded, "rss_calls_mb": rss_mb(),
        "per_stream_mb": (max(rss_mb(), after_streams) - loaded) / count, "fed_share": fed,
        "urgent_said": len(urgent_calls), "urgent_heard": len(heard.keys() & urgent_calls),
        "false_alarms": len(heard.keys() - urgent_calls),
        "false_sure": sum(1 for index, sure in heard.items() if index not in urgent_calls and sure >= URGENT_SURE),
    }


def _keep(heard: dict[int, float], index: int, confidence: float) -> None:
    heard[index] = max(confidence, heard.get(index, 0.0))


def in_fresh_process(count: int, seconds: float, quiet: bool) -> dict:
    argv = [sys.executable, __file__, "--one", str(count), "--seconds", str(seconds)]
    argv += ["--only-quiet"] if quiet else []
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{count} calls failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each call's IVR part lasts")
    parser.add_argument("--calls", default="16,32,64,96", help="call counts to try, speaking now and then")
    parser.add_argument("--quiet", default="64", help="call counts to try with callers who only listen")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: one run, JSON out
    parser.add_argument("--only-quiet", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_calls(args.one, args.seconds, args.only_quiet)))
        return
    print(f"{args.seconds:.0f} s calls, 20 ms frames in real time, one process, one model, pinned to {CORES} "
          f"cores; load average before: {os.getloadavg()[0]:.2f}\n")
    print(f"{'audio':<7}{'calls':>6}{'kept up':>9}{'lag p50':>9}{'p99':>7}{'max':>7}{'cores':>7}{'others':>7}"
          f"{'core/call':>10}{'MB/stream':>10}{'decoded':>8}{'urgent':>8}{'false (sure)':>13}")
    for quiet, counts in ((True, args.quiet), (False, args.calls)):
        for count in (int(n) for n in counts.split(",") if n):
            row = in_fresh_process(count, args.seconds, quiet)
            print(f"{'quiet' if quiet else 'speech':<7}{count:>6}{'yes' if row['kept_up'] else 'NO':>9}"
                  f"{row['lag_p50_ms']:>8.1f}m{row['lag_p99_ms']:>6.0f}m{row['lag_max_ms']:>6.0f}m"
                  f"{row['cores_busy']:>7.2f}{row['others_busy']:>7.2f}{row['per_call_core']:>10.4f}"
                  f"{row['per_stream_mb']:>10.2f}{100 * row['fed_share']:>7.1f}%"
                  f"{row['urgent_heard']:>5}/{row['urgent_said']:<3}{row['false_alarms']:>5}/"
                  f"{count - row['urgent_said']:<3}({row['false_sure']})", flush=True)


if __name__ == "__main__":
    main()
