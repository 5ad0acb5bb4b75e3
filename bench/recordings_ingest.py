"""Ingest of a long dual-channel recording, timed beside a plain ffmpeg encode of the same file.

A 60-minute two-channel recording (a Korean caller on the first channel, the agent on the
second: sentences and pauses, 8 kHz 16-bit PCM as Twilio's WAV) is put in the emulated Twilio
account. The service's own steps are timed, as the ingest job runs them: download from the
emulator's REST API (the safe fetcher, hashing SHA-256 as it reads), check the WAV, decode,
encode to Opus, store in a local folder and read back to verify. In the same run `ffmpeg`
encodes the same WAV to the same format on its own: the overhead is what the service adds over
ffmpeg's own time. Then the transcript's real-time factor on each channel (vosk-ko, word
timings on), on the first --transcript-minutes of each (the factor per second of audio).

    .venv/bin/python bench/recordings_ingest.py [--minutes 60] [--transcript-minutes 5]
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

from pydub import AudioSegment
from speech_audio import RATE, caller_audio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ivr.audio import mulaw
from ivr.audio.wav import wav_bytes
from ivr.emulator import Twilio
from ivr.recordings import audio as sound
from ivr.recordings.ingest import put_verified
from ivr.recordings.storage import LocalStore
from ivr.recordings.transcripts import words_of
from ivr.settings import PROJECT_ROOT, Settings
from ivr.speech.voice_models import load_model
from ivr.twilio_rest import fetch_recording

ACCOUNT_SID, AUTH_TOKEN = "AC" + "0" * 31 + "1", "bench-auth-token-0123456789abcdef"


def two_channels(minutes: float) -> bytes:
    seconds = minutes * 60
    caller = array("h", mulaw.decode(caller_audio(seconds)))
    agent = array("h", mulaw.decode(caller_audio(seconds, start=3)))
    frames = array("h", bytes(4 * min(len(caller), len(agent))))
    frames[0::2], frames[1::2] = caller[:len(frames) // 2], agent[:len(frames) // 2]
    return wav_bytes(frames.tobytes(), rate=RATE, channels=2)


def timed(what: str, times: dict, function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    times[what] = time.perf_counter() - started
    return result


def ingest_steps(settings, store, sid: str, seconds: float, work: Path) -> tuple[dict[str, float], AudioSegment]:
    """The ingest job's steps other than the transcript, timed one by one."""
    source, encoded = work / "twilio.wav", work / "stored.ogg"
    times: dict[str, float] = {}
    with open(source, "wb") as into:
        media = timed("download + SHA-256", times, fetch_recording, settings, sid, into, channels=2,
                      max_bytes=1 << 30, deadline_seconds=600)
    timed("check WAV", times, sound.check_wav, source, 2, round(seconds))
    heard = timed("decode (pydub)", times, AudioSegment.from_wav, str(source))
    timed("encode Opus (pydub + ffmpeg)", times, sound.encode, sound.tone_over(heard, []), encoded)
    timed("probe the encoded file", times, sound.probe_seconds, encoded)
    timed("store + read back + compare", times, put_verified, store, f"kr/2026-11-24/1234567/{sid}.ogg",
          encoded, sound.CONTENT_TYPE)
    assert hashlib.sha256(source.read_bytes()).hexdigest() == media.sha256
    return times, heard


def plain_ffmpeg(work: Path) -> float:
    """The same WAV to the same format, by ffmpeg alone (the file is already on disk)."""
    started = time.perf_counter()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(work / "twilio.wav"), "-c:a", "libopus", "-b:a",
                    sound.BITRATE, "-application", "voip", "-vbr", "on", str(work / "ffmpeg.ogg")], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--transcript-minutes", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's REST server: no request log
    wav = two_channels(options.minutes)
    seconds = (len(wav) - 44) / 4 / RATE
    print(f"recording: {seconds / 60:.1f} min, 2 channels, {len(wav) / 1e6:.1f} MB WAV; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    twilio = Twilio(None, ACCOUNT_SID, AUTH_TOKEN, [])
    entry = twilio.ledger.add_recording("CA" + "2" * 32, "StartCallRecordingAPI", 0.0, channels=2)
    twilio.ledger.complete_recording(entry.sid, wav, round(seconds))
    with twilio.serve_rest() as rest, tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        settings = Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, public_url="http://x",
                            redis_url="redis://127.0.0.1", database_url="sqlite://", flows_dir=PROJECT_ROOT / "flows",
                            recordings_dir=work / "recordings", twilio_api_url=rest.url)
        store = LocalStore(settings.recordings_dir)
        runs, plain_runs = [], []
        for round_ in range(options.rounds):  # in turn, so a busy moment does not favour either side
            if round_ % 2:
                plain_runs.append(plain_ffmpeg(work))
            times, heard = ingest_steps(settings, store, entry.sid, seconds, work)
            runs.append(times)
            if not round_ % 2:
                plain_runs.append(plain_ffmpeg(work))
        times = min(runs, key=lambda t: sum(t.values()))
        total, ffmpeg_seconds = sum(times.values()), min(plain_runs)
        for what, spent in times.items():
            print(f"  {what:<32} {spent:7.2f} s")
        print(f"  {'ingest in all':<32} {total:7.2f} s   ({seconds / total:.0f}x real time; best of {options.rounds})")
        print(f"  {'plain ffmpeg encode':<32} {ffmpeg_seconds:7.2f} s   (best of {options.rounds}: "
              f"{', '.join(f'{t:.1f}' for t in plain_runs)} s)")
        stored = (work / "stored.ogg").stat().st_size
        print(f"overhead over ffmpeg: {100 * (total - ffmpeg_seconds) / ffmpeg_seconds:.0f} %   "
              f"stored {stored / 1e6:.1f} MB ({stored * 8 / seconds / 1000:.0f} kbit/s), "
              f"ffmpeg's {(work / 'ffmpeg.ogg').stat().st_size / 1e6:.1f} MB")
    model = load_model("ko")
    sample = heard[: int(options.transcript_minutes * 60 * 1000)]
    for channel in (1, 2):
        pcm = sound.channel_pcm(sample, channel)
        started, cpu = time.perf_counter(), time.process_time()
        words = words_of(model, pcm, RATE)
        wall, used = time.perf_counter() - started, time.process_time() - cpu
        audio_seconds = len(pcm) / 2 / RATE
        print(f"transcript channel {channel}: {audio_seconds / 60:.0f} min, {len(words)} words, "
              f"real-time factor {wall / audio_seconds:.3f} (wall), {used / audio_seconds:.3f} (CPU)")


if __name__ == "__main__":
    main()
