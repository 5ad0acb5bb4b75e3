"""G.711 mu-law, the 8 kHz codec Twilio carries phone audio in, to and from 16-bit PCM.

PCM is little-endian signed 16-bit. Both directions run at C speed through lookup tables:
decoding translates each code to its low and high PCM byte; encoding indexes a 65536-entry
table by the raw sample, built once on first use.
"""
from __future__ import annotations

import sys
from array import array
from functools import cache

BIAS = 0x84  # 132: shifts every magnitude so each segment's first step lands on a power of two
CLIP = 32635  # the largest magnitude that still fits after adding BIAS


def decode_sample(code: int) -> int:
    """The 16-bit PCM value of one mu-law code."""
    code = ~code & 0xFF
    magnitude = (((code & 0x0F) << 3) + BIAS) << ((code & 0x70) >> 4)
    return BIAS - magnitude if code & 0x80 else magnitude - BIAS


def encode_sample(sample: int) -> int:
    """The mu-law code of one 16-bit PCM value (magnitudes above CLIP are clipped)."""
    sign = 0x80 if sample < 0 else 0x00
    magnitude = min(abs(sample), CLIP) + BIAS
    exponent = max(magnitude.bit_length() - 8, 0)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


_DECODED = [decode_sample(code) & 0xFFFF for code in range(256)]
_LOW_BYTES = bytes(value & 0xFF for value in _DECODED)
_HIGH_BYTES = bytes(value >> 8 for value in _DECODED)


def decode(ulaw: bytes) -> bytes:
    """Mu-law codes to little-endian signed 16-bit PCM, two bytes per code."""
    pcm = bytearray(2 * len(ulaw))
    pcm[0::2] = ulaw.translate(_LOW_BYTES)
    pcm[1::2] = ulaw.translate(_HIGH_BYTES)
    return bytes(pcm)


def encode(pcm16: bytes) -> bytes:
    """Little-endian signed 16-bit PCM to mu-law, one byte per sample."""
    if len(pcm16) % 2:
        raise ValueError(f"16-bit PCM must have an even number of bytes, got {len(pcm16)}")
    samples = array("H", pcm16)  # unsigned: the raw bit pattern indexes the table
    if sys.byteorder == "big":
        samples.byteswap()
    return bytes(map(_encode_table().__getitem__, samples))


@cache
def _encode_table() -> bytes:
    return bytes(encode_sample(raw - 0x10000 if raw & 0x8000 else raw) for raw in range(0x10000))
