"""Test audio for the speech benchmarks: a Korean caller describing account problems, as the
phone network delivers it (8 kHz mu-law), with the pauses a real caller leaves between sentences."""
from __future__ import annotations

import os
from itertools import cycle

from ivr.emulator.speech import synthesize

FRAME = 160  # bytes of mu-law in one 20 ms Media Streams message
RATE = 8000
PAUSE = b"\xff" * RATE  # one second of silence between sentences

# Spoken naturally; GRAMMAR holds the same sentences written with the model's word splits.
SENTENCES = ["계정이 해킹 당했어요", "비밀번호를 잊어버렸어요", "출금이 안 돼요", "로그인 할 수 없어요",
             "상담원 연결해 주세요", "입금이 되지 않았어요"]
GRAMMAR = ["계정 이 해킹 당했 어요", "비밀번호 를 잊어버렸 어요", "출금 이 안 돼요", "로그인 할 수 없 어요",
           "상담원 연결 해 주세요", "입금 이 되지 않았 어요"]


def utterances(texts: list[str] = SENTENCES) -> list[bytes]:
    """Each sentence alone, then a second of silence."""
    return [synthesize(text, "ko") + PAUSE for text in texts]


def caller_audio(seconds: float, start: int = 0) -> bytes:
    """Sentences and pauses, round and round, for `seconds`; `start` picks the first sentence."""
    spoken = utterances()
    audio = bytearray()
    for sentence in cycle(spoken[start % len(spoken):] + spoken[:start % len(spoken)]):
        if len(audio) >= seconds * RATE:
            break
        audio += sentence
    return bytes(audio[:int(seconds * RATE) // FRAME * FRAME])


def speech_share() -> float:
    """How much of caller_audio is speech rather than pause."""
    spoken = utterances()
    return sum(len(sentence) - len(PAUSE) for sentence in spoken) / sum(map(len, spoken))


def rss_mb() -> float:
    """Resident memory of this process now, from /proc/self/status."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has spent so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
