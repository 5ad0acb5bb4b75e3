"""16-bit WAV in and out of memory, and PCM silence."""
from __future__ import annotations

import io
import wave

SAMPLE_WIDTH = 2  # bytes: 16-bit PCM


def wav_bytes(pcm16: bytes, rate: int = 8000, channels: int = 1) -> bytes:
    """A 16-bit WAV file holding little-endian signed 16-bit PCM (interleaved when `channels` > 1)."""
    if len(pcm16) % (SAMPLE_WIDTH * channels):
        raise ValueError(f"16-bit PCM in {channels} channel(s) cannot be {len(pcm16)} bytes long")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(rate)
        out.writeframes(pcm16)
    return buffer.getvalue()


def read_wav(data: bytes) -> tuple[bytes, int]:
    """The PCM and sample rate of a mono 16-bit WAV file; anything else is a ValueError."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            pcm16 = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as error:
        raise ValueError(f"not a readable PCM WAV file: {error}") from None
    if channels != 1 or width != SAMPLE_WIDTH:
        raise ValueError(f"expected mono 16-bit WAV, got {channels} channel(s) of {8 * width}-bit samples")
    return pcm16, rate


def silence(seconds: float, rate: int = 8000) -> bytes:
    """Zeroed 16-bit PCM lasting `seconds`."""
    if seconds < 0:
        raise ValueError(f"silence cannot last a negative time, got {seconds} s")
    return bytes(SAMPLE_WIDTH * round(seconds * rate))
