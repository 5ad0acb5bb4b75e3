"""How many live calls two cores can recognise at once, sharing one loaded model in one process.

Each stream is a thread with its own Recognizer, fed a 20 ms mu-law frame every 20 ms of wall
time, as Twilio's Media Streams deliver them. A stream keeps up when, once SETTLE seconds into
the call, every frame is decoded within MAX_LAG of arriving, and the call ends under END_LAG
behind. The first seconds are judged apart (the "max" lag column): a new free-form recogniser
stalls there for a second or so while it builds its share of the decoding graph.

Three modes: free-form with a new recogniser per call; free-form "reused", with recognisers that
already decoded a call (a pool kept from call to call, which avoids that stall); and "grammar",
the support-desk phrases, a new recogniser per call.

Each stream count runs in a fresh process pinned to two cores, so memory figures are clean:
"MB/stream" is (resident memory with every stream live - resident memory after loading) / N.
"cores" is what that process used, "others" what the rest of the machine used meanwhile: on a
shared machine streams fall behind when other work takes the cores.

    .venv/bin/python bench/concurrent_streams.py [--seconds 20] [--free 1,4,8] [--reused 4,8] [--grammar 8,16]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

from speech_audio import FRAME, GRAMMAR, RATE, caller_audio, machine_busy_seconds, rss_mb, utterances

from ivr.speech.recognizer import Recognizer
from ivr.speech.voice_models import load_model

CORES = 2
STEP = FRAME / RATE  # 20 ms
MAX_LAG = 1.0  # seconds: the worst any frame may wait before it is decoded, once settled
SETTLE = 3.0  # seconds from the start of a call before MAX_LAG applies
END_LAG = 0.5  # seconds: how far behind a stream may be when the caller stops
MODES = ("free-form", "reused", "grammar")


def run_streams(count: int, seconds: float, grammar: list[str] | None, reused: bool) -> dict:
    """In this process: load the model, run `count` live streams for `seconds`, measure them."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:CORES])
    model = load_model("ko")
    loaded = rss_mb()
    audio = [caller_audio(seconds, start=i) for i in range(6)]
    recognizers = [Recognizer(model, grammar) for _ in range(count)]
    if reused:
        _in_threads(lambda index: _previous_call(recognizers[index]), count)
    lags: list[list[float]] = [[] for _ in range(count)]
    start_at = time.perf_counter() + 0.5  # every thread is running by then

    def live(index: int) -> None:
        stream, recognizer, lag = audio[index % len(audio)], recognizers[index], lags[index]
        begins = start_at + STEP * index / count  # calls do not all start on the same 20 ms tick
        for frame, offset in enumerate(range(0, len(stream), FRAME)):
            arrives = begins + STEP * (frame + 1)
            wait = arrives - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            recognizer.feed_ulaw(stream[offset:offset + FRAME])
            lag.append(time.perf_counter() - arrives)
        recognizer.finish()

    cpu, machine = time.process_time(), machine_busy_seconds()
    _in_threads(live, count)
    wall = time.perf_counter() - start_at
    busy = (time.process_time() - cpu) / wall
    others = (machine_busy_seconds() - machine) / wall - busy
    every = sorted(value for lag in lags for value in lag)
    return {
        "streams": count,
        "kept_up": all(max(lag[int(SETTLE / STEP):], default=0) < MAX_LAG and lag[-1] < END_LAG for lag in lags),
        "lag_p50_ms": 1000 * statistics.median(every), "lag_p99_ms": 1000 * every[int(0.99 * (len(every) - 1))],
        "lag_max_ms": 1000 * every[-1], "end_lag_max_ms": 1000 * max(lag[-1] for lag in lags),
        "cores_busy": busy, "others_busy": max(others, 0.0), "rss_loaded_mb": loaded, "rss_streams_mb": rss_mb(),
        "per_stream_mb": (rss_mb() - loaded) / count,
    }


def _previous_call(recognizer: Recognizer) -> None:
    recognizer.feed_ulaw(b"".join(utterances()[:2]))
    recognizer.finish()


def _in_threads(work, count: int) -> None:
    threads = [threading.Thread(target=work, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def in_fresh_process(mode: str, count: int, seconds: float) -> dict:
    argv = [sys.executable, __file__, "--one", str(count), "--mode", mode, "--seconds", str(seconds)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{mode} with {count} streams failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each call lasts")
    parser.add_argument("--free", default="1,4,8", help="stream counts to try free-form, new recognisers")
    parser.add_argument("--reused", default="4,6,8", help="stream counts to try free-form, reused recognisers")
    parser.add_argument("--grammar", default="8,16,24,32", help="stream counts to try with the grammar")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: one run, JSON out
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        grammar = GRAMMAR if args.mode == "grammar" else None
        print(json.dumps(run_streams(args.one, args.seconds, grammar, reused=args.mode == "reused")))
        return
    print(f"{args.seconds:.0f} s calls, 20 ms frames in real time, one process, one model, "
          f"pinned to {CORES} cores; load average before: {os.getloadavg()[0]:.2f}\n")
    print(f"{'mode':<10}{'streams':>8}{'kept up':>9}{'lag p50':>9}{'p99':>7}{'max':>7}{'end':>7}"
          f"{'cores':>7}{'others':>7}{'RSS MB':>8}{'MB/stream':>10}")
    best: dict[str, dict | None] = {}
    for mode, counts in (("free-form", args.free), ("reused", args.reused), ("grammar", args.grammar)):
        for count in (int(n) for n in counts.split(",") if n):
            row = in_fresh_process(mode, count, args.seconds)
            print(f"{mode:<10}{count:>8}{'yes' if row['kept_up'] else 'NO':>9}{row['lag_p50_ms']:>8.0f}m"
                  f"{row['lag_p99_ms']:>6.0f}m{row['lag_max_ms']:>6.0f}m{row['end_lag_max_ms']:>6.0f}m"
                  f"{row['cores_busy']:>7.2f}{row['others_busy']:>7.2f}{row['rss_streams_mb']:>8.0f}"
                  f"{row['per_stream_mb']:>10.1f}", flush=True)
            best.setdefault(mode, None)
            if row["kept_up"]:
                best[mode] = row
    print()
    for mode, row in best.items():
        if row is None:
            print(f"{mode}: none of the stream counts tried kept up")
            continue
        each = row["cores_busy"] / row["streams"]
        print(f"{mode}: up to {row['streams']} streams kept up ({'meets' if row['streams'] >= 8 else 'misses'} "
              f"the goal of 8); {each:.3f} cores each, so at best about {int(CORES / each)} on {CORES} idle cores")

if __name__ == "__main__":
    main()
