"""Transcripts of a whole recording, per channel, offline with vosk and word timings on.

A channel is transcribed where a model serves the call's language (the speech capability's
Hearing service says which); where none does, its transcript says "no model for <language>" and
`ivr recordings transcribe --missing` does it once a model is installed. No grammar here: a
recording is everything that was said, not an answer to one question.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ivr.redaction.secrets import Word
from ivr.speech.hearing import Hearing

CHUNK_SECONDS = 1.0


@dataclass(frozen=True)
class ChannelText:
    channel: int
    language: str | None
    words: list[Word]
    note: str | None = None  # why there is none: "no model for es"

    @property
    def status(self) -> str:
        return "done" if self.note is None else "no_model"


def no_model(language: str | None) -> str:
    return f"no model for {language or 'an unknown language'}"


def transcribe(hearing: Hearing, language: str | None, channel: int, pcm16: bytes, rate: int) -> ChannelText:
    if not hearing.has_model(language):
        return ChannelText(channel, language, [], no_model(language))
    if not any(pcm16):  # a leg with nothing on it at all (no agent, a silent IVR): nothing to hear
        return ChannelText(channel, language, [])
    return ChannelText(channel, language, words_of(hearing.model(language), pcm16, rate))


def words_of(model, pcm16: bytes, rate: int) -> list[Word]:
    """Every word vosk hears in 16-bit PCM, with its start and end in seconds."""
    import vosk  # noqa: PLC0415 (native library: loaded only by processes that transcribe)

    recognizer = vosk.KaldiRecognizer(model, float(rate))
    recognizer.SetWords(True)
    words: list[Word] = []
    step = 2 * int(rate * CHUNK_SECONDS)
    for offset in range(0, len(pcm16), step):
        if recognizer.AcceptWaveform(pcm16[offset:offset + step]):
            words.extend(_words(recognizer.Result()))
    words.extend(_words(recognizer.FinalResult()))
    return words


def _words(result_json: str) -> list[Word]:
    return [Word(item["word"], round(item["start"], 2), round(item["end"], 2), round(item.get("conf", 1.0), 3))
            for item in json.loads(result_json).get("result", [])]
