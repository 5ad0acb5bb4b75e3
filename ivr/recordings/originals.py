"""Keeping the unredacted audio, only when IVR_RECORDINGS_ORIGINAL_KEY is set (off by default):
Twilio's WAV encrypted with AES-256-GCM under that key, stored beside the redacted copy, and
readable only through `ivr recordings export-original`, which notes who took it and why on the
timeline. Without the key nothing unredacted is kept anywhere."""
from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ivr.errors import MediaRefused

MAGIC = b"IVR-ORIGINAL-1\n"
NONCE = 12


def encrypt_file(key_b64: str, source: Path, out: Path, associated: bytes) -> None:
    """`associated` (the RecordingSid) binds the file to its recording: it cannot be swapped."""
    nonce = os.urandom(NONCE)
    sealed = AESGCM(base64.b64decode(key_b64)).encrypt(nonce, source.read_bytes(), associated)
    out.write_bytes(MAGIC + nonce + sealed)


def decrypt(key_b64: str, sealed: bytes, associated: bytes) -> bytes:
    if not sealed.startswith(MAGIC):
        raise MediaRefused("not an encrypted original recording")
    body = sealed[len(MAGIC):]
    try:
        return AESGCM(base64.b64decode(key_b64)).decrypt(body[:NONCE], body[NONCE:], associated)
    except Exception:
        raise MediaRefused("the original could not be decrypted: wrong key, or not this recording's") from None
