"""Real-time factor of one live stream: CPU seconds spent per second of phone audio.

Feeds 8 kHz mu-law in 20 ms frames (one Media Streams message each) to one Recognizer on one
core, free-form and with the support-desk grammar, with and without partial results; then short
utterances with a fresh recogniser each (the recorded-message path). Also prints how many of the
spoken sentences come back word for word, since the same run decodes them.

    .venv/bin/python bench/stream_rtf.py [--seconds 60]
"""
from __future__ import annotations

import argparse
import os
import time

from speech_audio import (
    FRAME,
    GRAMMAR,
    RATE,
    SENTENCES,
    caller_audio,
    machine_busy_seconds,
    rss_mb,
    speech_share,
    utterances,
)

from ivr.speech.recognizer import Recognizer, transcribe_ulaw
from ivr.speech.voice_models import load_model


def stream(model, audio: bytes, grammar, partials: bool) -> dict:
    recognizer = Recognizer(model, grammar, partials=partials)
    finals = 0
    started = time.process_time()
    for offset in range(0, len(audio), FRAME):
        result = recognizer.feed_ulaw(audio[offset:offset + FRAME])
        finals += bool(result and result.final)
    tail = time.perf_counter()
    recognizer.finish()
    latency = time.perf_counter() - tail
    rtf = (time.process_time() - started) / (len(audio) / RATE)
    return {"rtf": rtf, "finals": finals, "finish_ms": 1000 * latency}


def fresh_per_utterance(model, spoken: list[bytes], grammar) -> tuple[float, list[str]]:
    started = time.process_time()
    texts = [transcribe_ulaw(model, audio, grammar) for audio in spoken]
    return (time.process_time() - started) / (sum(map(len, spoken)) / RATE), texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the continuous stream")
    seconds = parser.parse_args().seconds
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core: the RTF of one stream
    before, machine, cpu, wall = rss_mb(), machine_busy_seconds(), time.process_time(), time.perf_counter()
    started = time.perf_counter()
    model = load_model("ko")
    print(f"model: loaded in {time.perf_counter() - started:.2f} s, resident +{rss_mb() - before:.0f} MB")
    audio = caller_audio(seconds)
    print(f"stream: {len(audio) / RATE:.0f} s of 8 kHz mu-law, {speech_share():.0%} speech, fed in 20 ms frames\n")
    print(f"{'mode':<28}{'RTF':>7}{'finals':>8}{'finish() ms':>13}")
    for name, grammar, partials in (("free-form", None, True), ("free-form, no partials", None, False),
                                    ("grammar", GRAMMAR, True), ("grammar, no partials", GRAMMAR, False)):
        row = stream(model, audio, grammar, partials)
        print(f"{name:<28}{row['rtf']:>7.3f}{row['finals']:>8}{row['finish_ms']:>13.0f}")
    print("\nshort utterances, a fresh recogniser each (the recorded path); word for word = the grammar phrase:")
    natural, spaced = utterances(), utterances(GRAMMAR)
    heard = {}
    for name, audio, grammar in (("free-form", natural, None), ("grammar", natural, GRAMMAR),
                                 ("grammar, spoken as split", spaced, GRAMMAR)):
        rtf, heard[name] = fresh_per_utterance(model, audio, grammar)
        exact = sum(text == target for text, target in zip(heard[name], GRAMMAR))
        print(f"  {name:<26} RTF {rtf:.3f}   word for word {exact}/{len(GRAMMAR)}")
    print()
    for row, said in enumerate(SENTENCES):
        print(f"  {said}")
        for name, texts in heard.items():
            print(f"      {name}: {texts[row] or '(nothing)'}")
    elapsed = time.perf_counter() - wall
    others = (machine_busy_seconds() - machine - (time.process_time() - cpu)) / elapsed
    print(f"\nother processes kept {others:.2f} of the machine's {os.cpu_count()} cores busy during this run")

if __name__ == "__main__":
    main()
