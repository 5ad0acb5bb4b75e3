"""A recording's audio: checking Twilio's WAV, toning over redacted spans, and the stored format.

Stored format: Opus in an Ogg file, both channels in one stereo file (the caller on the left, the
IVR or agent on the right), 24 kbit/s. Why: Opus is made for speech and is half the size of MP3
at the same quality (a 60-minute call is about 8 MB, where Twilio's WAV is 115 MB); Ogg Opus
carries its own pre-skip, so a player's time 12.34 s is the recording's 12.34 s exactly, which
word timings and redacted spans rely on (MP3's encoder delay is only honoured by some decoders);
and Chromium and Firefox play it with seeking over HTTP Range requests (Safari from version 17).
Both channels in one file keep them in step for the QA player.
"""
from __future__ import annotations

import json
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

from pydub import AudioSegment
from pydub.generators import Sine

from ivr.errors import MediaRefused

FORMAT, EXTENSION, CONTENT_TYPE = "ogg/opus", "ogg", "audio/ogg"
BITRATE = "24k"
TONE_HZ, TONE_DBFS = 1000, -18.0
PAD_SECONDS = 0.1  # the tone starts this much before a redacted word and ends this much after
DURATION_SLACK = 2.0  # seconds a WAV may differ from Twilio's RecordingDuration


@dataclass(frozen=True)
class WavFacts:
    channels: int
    rate: int
    seconds: float


def check_wav(path: Path, channels: int, duration: int | None) -> WavFacts:
    """Twilio's media must be a complete 16-bit PCM WAV with the channels it reported and about
    the duration it reported; anything else is refused with the reason."""
    try:
        with wave.open(str(path), "rb") as wav:
            facts = WavFacts(wav.getnchannels(), wav.getframerate(), wav.getnframes() / wav.getframerate())
            width, frames = wav.getsampwidth(), wav.getnframes()
            declared = frames * width * facts.channels
    except (wave.Error, EOFError) as error:
        raise MediaRefused(f"not a WAV file: {error}") from None
    if width != 2:
        raise MediaRefused(f"expected 16-bit PCM, got {8 * width}-bit")
    if facts.channels != channels:
        raise MediaRefused(f"Twilio reported {channels} channel(s), the file has {facts.channels}")
    if path.stat().st_size < declared + 44:
        raise MediaRefused("the WAV file is cut short (fewer samples than its header says)")
    if duration is not None and abs(facts.seconds - duration) > max(DURATION_SLACK, duration * 0.02):
        raise MediaRefused(f"the WAV lasts {facts.seconds:.1f} s, Twilio reported {duration} s")
    return facts


def channel_pcm(audio: AudioSegment, channel: int) -> bytes:
    """16-bit PCM of one channel (1 the caller, 2 the IVR or agent)."""
    return audio.split_to_mono()[channel - 1].raw_data if audio.channels > 1 else audio.raw_data


def tone_over(audio: AudioSegment, spans: list[tuple[int, float, float]]) -> AudioSegment:
    """`audio` with each (channel, start s, end s) span replaced: a tone on the channel that said
    it and silence on the other (so an echo of the secret on the other leg is gone too)."""
    if not spans:
        return audio
    monos = audio.split_to_mono() if audio.channels > 1 else [audio]
    for channel, start, end in spans:
        begin = max(0, int((start - PAD_SECONDS) * 1000))
        stop = min(len(audio), int((end + PAD_SECONDS) * 1000))
        if stop <= begin:
            continue
        for index, mono in enumerate(monos):
            length = len(mono[begin:stop])
            filler = (Sine(TONE_HZ, sample_rate=mono.frame_rate).to_audio_segment(length, TONE_DBFS)
                      if index == channel - 1 or len(monos) == 1 else AudioSegment.silent(length, mono.frame_rate))
            filler = filler.set_sample_width(mono.sample_width).set_channels(1)
            monos[index] = mono[:begin] + filler + mono[begin + length:]
    return AudioSegment.from_mono_audiosegments(*monos) if len(monos) > 1 else monos[0]


def encode(audio: AudioSegment, out: Path) -> None:
    """The stored format (see the module's docstring)."""
    audio.export(str(out), format="ogg", codec="libopus", bitrate=BITRATE,
                 parameters=["-application", "voip", "-vbr", "on"])


def probe_seconds(path: Path) -> float:
    """How long ffprobe says the stored file plays: a check that it decodes."""
    result = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise MediaRefused(f"the encoded recording does not decode: {result.stderr.strip()[:200]}")
    return float(json.loads(result.stdout)["format"]["duration"])
