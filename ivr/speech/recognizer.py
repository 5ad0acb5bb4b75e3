"""Speech to text with vosk, for live phone audio (8 kHz mu-law) and recorded WAV files.

One Recognizer per audio stream (one call leg); the model it reads is loaded once
(ivr.voice_models.load_model) and shared by every recogniser in the process.

Grammars. Given a list of phrases, vosk does not match whole phrases: it builds a bigram
language model from them, so what comes back is a run of the phrases' words in any order that
model allows. Audio the model hears well gives one whole phrase; poor audio gives a jumble of
the grammar's commonest words (espeak's "계정이 해킹 당했어요" comes back as "없 어요"). And the
model has no word for "none of these" unless it has an "[unk]" word: the Korean model does not,
so a grammar forces every sound, a cough included, onto its words. Callers therefore need a
catch-all of their own: compare the text with the expected phrases and treat a poor match as
"not understood" (and offer the keypad). Words the model does not know are left out of the
grammar here (vosk would otherwise print a warning per word and drop them the same way); they
are listed in `Recognizer.unknown_words`. Korean phrases are written with the model's word
splits, particles apart: "계정 이 해킹 당했 어요".
"""
from __future__ import annotations

import io
import json
import unicodedata
import wave
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import vosk

from ivr.audio import mulaw

PHONE_RATE = 8000
CHUNK_SECONDS = 0.5  # how much recorded audio to hand vosk at once


@dataclass(frozen=True)
class Result:
    """Recognised text: `final` at the end of an utterance, else a partial guess that may change."""

    text: str
    final: bool


@dataclass(frozen=True)
class Grammar:
    """The phrases vosk will be given, and the words left out because the model does not know them."""

    phrases: tuple[str, ...]
    unknown_words: tuple[str, ...]


def grammar_for(model: vosk.Model, phrases: Sequence[str]) -> Grammar:
    """The phrases with every word the model lacks removed; a ValueError if none is left."""
    kept: dict[str, None] = {}
    unknown: dict[str, None] = {}
    for phrase in phrases:
        words = unicodedata.normalize("NFC", phrase).split()
        known = [word for word in words if model.vosk_model_find_word(word) >= 0]
        unknown.update(dict.fromkeys(word for word in words if word not in known))
        if known:
            kept[" ".join(known)] = None
    if not kept:
        raise ValueError(f"no word of the grammar is in the model's vocabulary: {', '.join(phrases)}")
    return Grammar(tuple(kept), tuple(unknown))


class Recognizer:
    """Streaming recognition of one call's audio: feed it chunks, collect Results."""

    def __init__(self, model: vosk.Model, grammar: Sequence[str] | None = None,
                 sample_rate: int = PHONE_RATE, partials: bool = True):
        self.grammar = grammar_for(model, grammar) if grammar is not None else None
        if self.grammar is None:
            self._vosk = vosk.KaldiRecognizer(model, float(sample_rate))
        else:
            phrases = json.dumps(list(self.grammar.phrases), ensure_ascii=False)
            self._vosk = vosk.KaldiRecognizer(model, float(sample_rate), phrases)
        self._partials = partials
        self._partial = ""

    @property
    def unknown_words(self) -> tuple[str, ...]:
        return self.grammar.unknown_words if self.grammar else ()

    def feed_ulaw(self, chunk: bytes) -> Result | None:
        """Take mu-law audio (a Media Streams payload); a Result when there is something new to say."""
        return self.feed_pcm(mulaw.decode(chunk))

    def feed_pcm(self, pcm16: bytes) -> Result | None:
        """Like feed_ulaw, for 16-bit little-endian PCM at the recogniser's sample rate."""
        if self._vosk.AcceptWaveform(pcm16):  # vosk heard the utterance end (trailing silence)
            self._partial = ""
            return Result(_text(self._vosk.Result()), final=True)
        if not self._partials:
            return None
        partial = json.loads(self._vosk.PartialResult())["partial"]
        if not partial or partial == self._partial:
            return None
        self._partial = partial
        return Result(partial, final=False)

    def finish(self) -> Result:
        """The final text of whatever audio is still pending (the caller stopped or hung up)."""
        self._partial = ""
        return Result(_text(self._vosk.FinalResult()), final=True)


def transcribe_ulaw(model: vosk.Model, ulaw: bytes, grammar: Sequence[str] | None = None) -> str:
    """All the text in a stretch of 8 kHz mu-law audio, utterances joined by spaces."""
    return transcribe_pcm(model, mulaw.decode(ulaw), PHONE_RATE, grammar)


def transcribe_wav(model: vosk.Model, wav_bytes: bytes, grammar: Sequence[str] | None = None) -> str:
    """All the text in a 16-bit PCM WAV recording; of a two-channel one, the first channel."""
    pcm16, rate = first_channel(wav_bytes)
    return transcribe_pcm(model, pcm16, rate, grammar)


def transcribe_pcm(model: vosk.Model, pcm16: bytes, sample_rate: int,
                   grammar: Sequence[str] | None = None) -> str:
    recognizer = Recognizer(model, grammar, sample_rate, partials=False)
    step = 2 * round(sample_rate * CHUNK_SECONDS)
    results = [recognizer.feed_pcm(pcm16[start:start + step]) for start in range(0, len(pcm16), step)]
    results.append(recognizer.finish())
    return " ".join(result.text for result in results if result and result.text)


def first_channel(wav_bytes: bytes) -> tuple[bytes, int]:
    """16-bit PCM of a WAV file's first channel (a Twilio dual-channel recording's first leg), and its rate."""
    try:
        with wave.open(io.BytesIO(wav_bytes), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as error:
        raise ValueError(f"not a readable PCM WAV file: {error}") from None
    if width != 2:
        raise ValueError(f"expected 16-bit samples, got {8 * width}-bit")
    if channels == 1:
        return frames, rate
    samples = array("h", frames)  # byte order does not matter: whole samples are picked, not read
    return samples[0::channels].tobytes(), rate


def _text(result_json: str) -> str:
    return json.loads(result_json).get("text", "")
