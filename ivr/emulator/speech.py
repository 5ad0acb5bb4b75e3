"""What the scripted caller says, as the phone network carries it: 8 kHz mono mu-law.

Text is spoken by espeak-ng, then sox band-limits it to the telephone's 300-3400 Hz and
resamples it. Synthesis is cached on disk because tests say the same lines many times.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ivr.errors import AudioToolFailed, AudioToolMissing
from ivr.settings import PROJECT_ROOT

__all__ = ["AudioToolFailed", "AudioToolMissing", "audio_cache_dir", "from_wav_file", "synthesize"]

PIPELINE_VERSION = "1"  # bump whenever the commands below change, so cached audio is remade
VOICES = {"en": "en-us", "es": "es", "zh": "cmn", "yue": "yue", "ko": "ko"}
TELEPHONE_CHANNEL = ("-t", "raw", "-e", "mu-law", "-b", "8", "-r", "8000", "-c", "1", "-",
                     "remix", "-", "sinc", "300-3400", "rate", "8000")


def synthesize(text: str, language: str, cache_dir: Path | None = None) -> bytes:
    """Raw 8 kHz mu-law of `text` spoken in one of our languages (en, es, zh, yue, ko)."""
    if not text.strip():
        raise ValueError("nothing to say: the text is empty")
    cache = cache_dir or audio_cache_dir()
    key = json.dumps([text, language, PIPELINE_VERSION], ensure_ascii=False)
    cached = cache / f"{hashlib.sha256(key.encode()).hexdigest()}.ulaw"
    if cached.is_file():
        return cached.read_bytes()
    ulaw = _telephone(["-t", "wav", "-"], _speak(text, language))
    _write_atomically(cached, ulaw)
    return ulaw


def from_wav_file(path: str | os.PathLike[str]) -> bytes:
    """Raw 8 kHz mu-law of any WAV file (any rate, any number of channels)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no such WAV file: {path}")
    return _telephone(["-t", "wav", os.fspath(path)])


def audio_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where synthesized speech is kept: $IVR_AUDIO_CACHE, else .run/audio-cache in the project."""
    env = os.environ if environ is None else environ
    return Path(env.get("IVR_AUDIO_CACHE") or PROJECT_ROOT / ".run" / "audio-cache")


def _speak(text: str, language: str) -> bytes:
    voice = VOICES.get(language, language)
    try:
        # Text goes in on stdin so a line starting with "-" is never read as an option.
        return _run(["espeak-ng", "-b", "1", "-v", voice, "--stdin", "--stdout"], text.encode())
    except AudioToolFailed as failure:
        if language in VOICES:
            raise
        raise ValueError(f"no voice for language {language!r} (we speak {', '.join(VOICES)}); "
                         f"{failure}") from None


def _telephone(source: list[str], wav: bytes | None = None) -> bytes:
    # -D: no dither, so the same input always gives the same bytes.
    return _run(["sox", "-D", "-V1", *source, *TELEPHONE_CHANNEL], wav)


def _run(argv: list[str], stdin: bytes | None = None) -> bytes:
    program = shutil.which(argv[0])
    if program is None:
        raise AudioToolMissing(argv[0])
    done = subprocess.run([program, *argv[1:]], input=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace").strip()
        raise AudioToolFailed(f"{argv[0]} failed with exit status {done.returncode}: {stderr}")
    return done.stdout


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(data)
    try:
        os.replace(tmp.name, path)  # readers see the old file or the whole new one, never half
    except OSError:
        os.unlink(tmp.name)
        raise
