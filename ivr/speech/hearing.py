"""The service's ears: which way a caller's words are heard, and turning audio into an intent.

For a listen step, a language with an installed vosk model (voice_models/) is heard offline: by
a Media Stream to our websocket (`stream`, the fast path) or by a short recording we download
(`record`, the fallback; IVR_SPEECH_PATH). Without a model, a region that allows cloud speech
uses Twilio's speech gather (`cloud`); otherwise the caller gets the keypad menu (`none`).
Models load once per process and are shared by every call.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Callable

from ivr.speech import intent as intents
from ivr.flows.loader import Flow
from ivr.settings import Settings

log = logging.getLogger(__name__)
HEARD_KEY = "ivr:heard:{sid}:{attempt}"
VOICED_RMS = 400  # 16-bit PCM: a phone line's noise sits well below, speech well above
LEAD_IN_FRAMES = 0  # quiet before speech is not fed at all: any lead-in made the small Korean model less accurate (bench/RESULTS.md)


@dataclass(frozen=True)
class Decision:
    """What was understood at a listen step, kept in Redis for the webhook that moves the call on."""

    text: str
    intent: str
    confidence: float
    urgent: bool
    issue: str
    decided_by: str  # final, partial, silence, end

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> "Decision":
        return cls(**json.loads(raw))


class Hearing:
    def __init__(self, settings: Settings, books):
        from ivr.speech.voice_models import model_paths

        self.settings = settings
        self.books = dict(books)  # language -> Phrasebook, checked with the flows
        self.models = model_paths()

    def mode(self, flow: Flow, language: str) -> str:
        """stream, record, cloud or none, for a caller speaking `language` in `flow`'s region."""
        if language in self.models and language in self.books:
            return self.settings.speech_path
        lang = flow.language(language)
        if flow.cloud_speech and lang.speech and language in self.books:
            return "cloud"
        return "none"

    def classify(self, text: str, language: str) -> intents.Intent:
        book = self.books.get(language)
        return intents.classify(text, book) if book and text.strip() else intents.NOTHING

    def urgent_partial(self, text: str, language: str) -> intents.Intent | None:
        book = self.books.get(language)
        return intents.urgent_partial(text, book) if book and text.strip() else None

    def recognizer(self, language: str):
        """A fresh recogniser on the shared model; a closed phrase grammar for IVR_SPEECH_GRAMMAR languages."""
        from ivr.speech.recognizer import Recognizer
        from ivr.speech.voice_models import load_model

        model = load_model(language, self.models)
        grammar = intents.grammar(self.books[language]) if language in self.settings.speech_grammar else None
        return Recognizer(model, grammar=grammar)

    def transcribe_wav(self, language: str, wav: bytes) -> str:
        from ivr.speech.recognizer import transcribe_wav
        from ivr.speech.voice_models import load_model

        grammar = intents.grammar(self.books[language]) if language in self.settings.speech_grammar else None
        return transcribe_wav(load_model(language, self.models), wav, grammar)

    def decide(self, text: str, language: str, decided_by: str) -> Decision:
        found = self.classify(text, language)
        return Decision(text=text, intent=found.name, confidence=found.confidence, urgent=found.urgent,
                        issue=found.issue, decided_by=decided_by)

    def check(self, flows) -> list[str]:
        """Every installed model a region's listen step will use must load: a broken one is a
        start-up error, never a crash mid-call. Loads them now, so the first caller does not wait."""
        from ivr.speech.voice_models import check_models

        wanted = {lang for flow in flows for lang in flow.language_codes
                  if any(step.kind == "listen" for step in flow.steps.values())}
        return check_models(sorted(wanted & set(self.models)), self.models)


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
        from ivr.audio import mulaw

        pcm = mulaw.decode(ulaw)
        self.audio_ms += len(pcm) // 16
        if _rms(pcm) >= VOICED_RMS:
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
            if urgent is not None:
                self._decide(" ".join([*self.heard, result.text]), "partial")
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


def _rms(pcm: bytes) -> float:
    count = len(pcm) // 2
    if not count:
        return 0.0
    samples = memoryview(pcm).cast("h")
    return math.sqrt(sum(s * s for s in samples) / count)


def heard_key(call_sid: str, attempt: int) -> str:
    return HEARD_KEY.format(sid=call_sid, attempt=attempt)

