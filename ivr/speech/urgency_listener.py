"""The call's urgency stream: voiced audio in, an urgent Decision out whenever the caller names a takeover.

Unlike a listen step's StreamListener, it never decides anything else and never gives up: it runs
through every prompt and question of the IVR part. Only voiced audio (and the short quiet that
ends an utterance) reaches the recogniser, so the prompts a caller listens to in silence cost an
energy check per 20 ms frame; the recogniser is a phrase-grammar one (the phrasebook's words),
several times cheaper than free-form decoding (bench/RESULTS.md). Each utterance is read as a
whole when it ends, and its partial results as they come (an urgent phrase acts mid-sentence);
one utterance moves the call at most once.
"""
from __future__ import annotations

from collections.abc import Callable

from ivr.audio import mulaw
from ivr.speech.hearing import Decision, Hearing
from ivr.speech.listener import VOICED_RMS, rms


class UrgencyListener:
    def __init__(self, hearing: Hearing, language: str, on_urgent: Callable[[Decision], object]):
        self.hearing, self.language, self.on_urgent = hearing, language, on_urgent
        self.recognizer = hearing.recognizer(language, grammar=True)
        self.in_utterance = False
        self.acted = False  # this utterance already moved the call
        self.quiet_ms = 0
        self.audio_ms = 0
        self.fed_ms = 0  # audio the recogniser was given (voiced, and the quiet that ends an utterance)
        self.urgent_heard = 0

    def feed(self, ulaw: bytes) -> None:
        pcm = mulaw.decode(ulaw)
        ms = len(pcm) // 16  # 8 samples per ms, 2 bytes each
        self.audio_ms += ms
        if rms(pcm) >= VOICED_RMS:
            self.in_utterance, self.quiet_ms = True, 0
        elif self.in_utterance:
            self.quiet_ms += ms
        if not self.in_utterance:  # the IVR talking, the caller listening: nothing to decode
            return
        self.fed_ms += ms
        result = self.recognizer.feed_pcm(pcm)
        if result is not None and result.final:
            self._utterance_ends(result.text)
        elif result is not None and not self.acted:
            urgent = self.hearing.urgent_partial(result.text, self.language)
            if urgent is not None:
                self._urgent(Decision(text=result.text, intent=urgent.name, confidence=urgent.confidence,
                                      urgent=True, issue=urgent.issue, decided_by="partial"))
        if self.in_utterance and self.quiet_ms >= self.hearing.settings.speech_end_ms:
            self._utterance_ends(self.recognizer.finish().text)

    def finish(self) -> None:
        """The stream stopped: what the caller was still saying is read too (the call may yet be at a question)."""
        if self.in_utterance:
            self._utterance_ends(self.recognizer.finish().text)

    def _utterance_ends(self, text: str) -> None:
        if text and not self.acted:
            decision = self.hearing.decide(text, self.language, "final")
            if decision.urgent:
                self._urgent(decision)
        self.in_utterance, self.acted, self.quiet_ms = False, False, 0

    def _urgent(self, decision: Decision) -> None:
        self.acted = True
        self.urgent_heard += 1
        self.on_urgent(decision)
