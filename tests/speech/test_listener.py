"""The stream listener's decisions from what the recogniser says, frame by frame: the real
phrasebooks and n-gram models, with the recogniser's results scripted (what vosk makes of a given
voice varies; the end-to-end tests with real audio are in test_speech.py)."""
from __future__ import annotations

import math
import struct

from ivr.audio import mulaw
from ivr.speech.hearing import Hearing
from ivr.speech.intent import load_phrasebooks
from ivr.speech.listener import StreamListener
from ivr.speech.recognizer import Result
from tests.conftest import FLOWS_DIR

SPEECH = mulaw.encode(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / 8000)))
                               for n in range(160)))  # 20 ms, loud enough for the energy gate
QUIET = b"\xff" * 160


class ScriptedRecognizer:
    """Says `results` in turn, one per voiced frame (None: nothing new), then nothing."""

    def __init__(self, results: list[Result | None], last: str = ""):
        self.results, self.last = list(results), last

    def feed_pcm(self, pcm: bytes) -> Result | None:
        return self.results.pop(0) if self.results else None

    def finish(self) -> Result:
        return Result(self.last, final=True)


def listener_for(settings, results, last: str = ""):
    books, problems = load_phrasebooks(FLOWS_DIR)
    assert not problems
    hearing = Hearing(settings, books)
    hearing.recognizer = lambda language, grammar=None: ScriptedRecognizer(results, last)
    decisions = []
    return StreamListener(hearing, "ko", decisions.append), decisions


def test_an_urgent_phrase_in_a_partial_result_decides_while_the_caller_is_still_speaking(settings):
    listener, decisions = listener_for(settings, [
        Result("계정 이", final=False), None, Result("계정 이 해킹 당했 어요", final=False),
        Result("계정 이 해킹 당했 어요 그래서 로그인", final=False)])
    for _ in range(2):
        listener.feed(QUIET)  # the prompt still playing: not fed to the recogniser at all
    listener.feed(SPEECH)
    listener.feed(SPEECH)
    assert decisions == []
    listener.feed(SPEECH)  # the third voiced frame's partial holds the phrase
    [decision] = decisions
    assert (decision.intent, decision.urgent, decision.decided_by) == ("account_takeover", True, "partial")
    listener.feed(SPEECH)
    listener.finish()
    assert len(decisions) == 1  # decided once


def test_a_negated_urgent_phrase_in_a_partial_decides_nothing_and_quiet_after_speech_ends_it(settings):
    listener, decisions = listener_for(settings, [Result("해킹 안 당했 어요", final=False),
                                                  Result("해킹 안 당했 어요 비밀번호 를 잊어버렸 어요", final=False)],
                                       last="해킹 안 당했 어요 비밀번호 를 잊어버렸 어요")
    listener.feed(SPEECH)
    listener.feed(SPEECH)
    assert decisions == []
    for _ in range(settings.speech_end_ms // 20 + 1):
        listener.feed(QUIET)
    [decision] = decisions
    assert decision.decided_by == "silence" and not decision.urgent and decision.intent == "cannot_login"
