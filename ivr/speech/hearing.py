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
from dataclasses import dataclass

from ivr.core.flow import Flow
from ivr.settings import Settings
from ivr.speech import intent as intents
from ivr.speech.ngram import MODEL_DIR, load_models
from ivr.speech.voice_models import check_models, load_model, model_paths

log = logging.getLogger(__name__)
HEARD_KEY = "ivr:heard:{sid}:{attempt}"


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
    def from_json(cls, raw: str) -> Decision:
        return cls(**json.loads(raw))


class Hearing:
    """The runtime's speech service (`rt.service(Hearing)`): phrasebooks and installed models."""

    def __init__(self, settings: Settings, books):
        self.settings = settings
        self.books = dict(books)  # language -> Phrasebook, checked with the flows
        self.models = model_paths()
        self.ngrams = load_models(settings.flows_dir / MODEL_DIR)  # language -> NgramModel
        self._grammars: dict[str, list[str]] = {}

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
        return intents.classify(text, book, self.ngrams.get(language)) if book and text.strip() else intents.NOTHING

    def urgent_partial(self, text: str, language: str) -> intents.Intent | None:
        book = self.books.get(language)
        return intents.urgent_partial(text, book) if book and text.strip() else None

    def recognizer(self, language: str, grammar: bool | None = None):
        """A fresh recogniser on the shared model; a closed phrase grammar for IVR_SPEECH_GRAMMAR
        languages (or when `grammar` says so: the urgency stream always takes one)."""
        from ivr.speech.recognizer import Recognizer  # noqa: PLC0415 (vosk, native: loaded only where callers are heard)

        model = load_model(language, self.models)
        with_grammar = language in self.settings.speech_grammar if grammar is None else grammar
        return Recognizer(model, grammar=self.grammar(language) if with_grammar else None)

    def grammar(self, language: str) -> list[str]:
        """The phrasebook's phrases and words, as vosk's phrase list (built once per language)."""
        if language not in self._grammars:
            self._grammars[language] = intents.grammar(self.books[language])
        return self._grammars[language]

    def transcribe_wav(self, language: str, wav: bytes) -> str:
        from ivr.speech.recognizer import transcribe_wav  # noqa: PLC0415 (vosk: as in recognizer())

        grammar = self.grammar(language) if language in self.settings.speech_grammar else None
        return transcribe_wav(load_model(language, self.models), wav, grammar)

    def has_model(self, language: str | None) -> bool:
        return language in self.models

    def model(self, language: str):
        """The shared vosk model for `language` (loaded once per process); for whole-recording
        transcripts with word timings (ivr.recordings), which need no grammar."""
        return load_model(language, self.models)

    def decide(self, text: str, language: str, decided_by: str) -> Decision:
        found = self.classify(text, language)
        return Decision(text=text, intent=found.name, confidence=found.confidence, urgent=found.urgent,
                        issue=found.issue, decided_by=decided_by)

    def check(self, flows) -> list[str]:
        """Every installed model a region's listen step will use must load: a broken one is a
        start-up error, never a crash mid-call. Loads them now, so the first caller does not wait."""
        wanted = {lang for flow in flows for lang in flow.language_codes
                  if flow.urgency_stream or any(step.kind == "listen" for step in flow.steps.values())}
        return check_models(sorted(wanted & set(self.models)), self.models)


def heard_key(call_sid: str, attempt: int) -> str:
    return HEARD_KEY.format(sid=call_sid, attempt=attempt)

