"""One listen step's Media Stream: audio in, a Decision out as soon as we can tell."""
from __future__ import annotations

import math
import time
from collections.abc import Callable

from ivr.audio import mulaw
from ivr.speech.hearing import Decision, Hearing

VOICED_RMS = 400  # 16-bit PCM: a phone line's noise sits well below, speech well above
# Quiet before speech is not fed at all: any lead-in made the small Korean model less accurate (bench/RESULTS.md).
LEAD_IN_FRAMES = 0


class StreamListener:
    """One listen step's Media Stream: audio in, a Decision out as soon as we can tell.

    A final result from vosk decides; so does an urgent phrase in a partial result (the caller is
    still speaking); so does IVR_SPEECH_END_MS of quiet after speech (we ask vosk for its final
    result then, rather than wait for its own, slower endpointing)."""

    def __init__(self, hearing: Hearing, language: str, on_decision: Callable[[Decision], None],
                 give_up_ms: int | None = None):
        self.hearing, self.language, self.on_decision = hearing, language, on_decision
        self.give_up_ms = give_up_ms  # audio time after which a caller who said nothing is given up on
        self.audio_ms = 0
        self.lead_in: list[bytes] = []  # the last quiet frames before speech, fed once speech starts
        self.recognizer = hearing.recognizer(language)
        self.heard: list[str] = []
        self.decided = False
        self.voiced = False
        self.quiet_ms = 0
        self.last_voiced_at: float | None = None  # monotonic time the last voiced frame arrived

    def feed(self, ulaw: bytes) -> None:
        if self.decided:
            return
        pcm = mulaw.decode(ulaw)
        self.audio_ms += len(pcm) // 16
        if rms(pcm) >= VOICED_RMS:
            if not self.voiced:  # speech starts: give the recogniser the moment before it too
                for frame in self.lead_in:
                    self.recognizer.feed_pcm(frame)
                self.lead_in.clear()
            self.voiced, self.quiet_ms, self.last_voiced_at = True, 0, time.monotonic()
        else:
            self.quiet_ms += len(pcm) // 16  # 8 samples per ms, 2 bytes each
        if not self.voiced:  # long quiet (the IVR still talking) would only skew the recogniser
            self.lead_in = [*self.lead_in, pcm][-LEAD_IN_FRAMES:] if LEAD_IN_FRAMES else []
            self._maybe_give_up()
            return
        result = self.recognizer.feed_pcm(pcm)
        if result is not None and result.final:
            self._final(result.text, "final")
        elif result is not None:
            urgent = self.hearing.urgent_partial(result.text, self.language)
            if urgent is not None:  # a near-exact urgent phrase, not negated: decided by that phrase
                text = " ".join([*self.heard, result.text])
                self._deliver(Decision(text=text, intent=urgent.name, confidence=urgent.confidence, urgent=True,
                                       issue=urgent.issue, decided_by="partial"))
        if not self.decided and self.voiced and self.quiet_ms >= self.hearing.settings.speech_end_ms:
            self._final(self.recognizer.finish().text, "silence")
        self._maybe_give_up()

    def _maybe_give_up(self) -> None:
        if not self.decided and self.give_up_ms and self.audio_ms >= self.give_up_ms and not self.voiced:
            self._decide(" ".join(self.heard), "give_up")

    def finish(self) -> Decision | None:
        """The stream stopped (the call moved on or hung up): decide on whatever was heard."""
        if not self.decided:
            text = self.recognizer.finish().text
            if text:
                self.heard.append(text)
            if self.heard:
                self._decide(" ".join(self.heard), "end")
        return None

    def _final(self, text: str, how: str) -> None:
        if text:
            self.heard.append(text)
        transcript = " ".join(self.heard)
        decision = self.hearing.decide(transcript, self.language, how)
        self.voiced, self.quiet_ms = False, 0
        if decision.intent != "other" or how == "silence":
            self._deliver(decision)

    def _decide(self, transcript: str, how: str) -> None:
        self._deliver(self.hearing.decide(transcript, self.language, how))

    def _deliver(self, decision: Decision) -> None:
        if not self.decided:
            self.decided = True
            self.on_decision(decision)


def rms(pcm: bytes) -> float:
    """The loudness of 16-bit PCM: the energy gate's measure."""
    count = len(pcm) // 2
    if not count:
        return 0.0
    samples = memoryview(pcm).cast("h")
    return math.sqrt(sum(s * s for s in samples) / count)
