"""Telephone audio: the mu-law codec, WAV helpers, and the scripted caller's voice through
real espeak-ng and sox."""
from __future__ import annotations

import math
import shutil
import subprocess
import time
from array import array
from concurrent.futures import ThreadPoolExecutor

import pytest

from ivr.audio import mulaw
from ivr.audio.wav import read_wav, silence, wav_bytes
from ivr.emulator.speech import AudioToolFailed, AudioToolMissing, from_wav_file, synthesize

RATE = 8000  # telephone samples per second; one mu-law byte each


def pcm_of(samples) -> bytes:
    return array("h", samples).tobytes()


def samples_of(pcm16: bytes) -> array:
    return array("h", pcm16)


def rms(ulaw: bytes) -> float:
    samples = samples_of(mulaw.decode(ulaw))
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def sine(frequency: float, seconds: float, amplitude: int = 20000) -> list[int]:
    return [round(amplitude * math.sin(2 * math.pi * frequency * n / RATE)) for n in range(int(seconds * RATE))]


def make_wav(path, rate: int, channels: int, frequency: int, seconds: float = 1.0):
    subprocess.run(["sox", "-n", "-r", str(rate), "-c", str(channels), "-b", "16", str(path),
                    "synth", str(seconds), "sine", str(frequency), "vol", "0.5"], check=True)
    return path


@pytest.fixture(autouse=True)
def audio_cache(tmp_path, monkeypatch):
    """Every test synthesizes into its own empty cache."""
    cache = tmp_path / "audio-cache"
    monkeypatch.setenv("IVR_AUDIO_CACHE", str(cache))
    return cache


# --- G.711 mu-law ---------------------------------------------------------------------------

def test_sine_wave_survives_round_trip_within_g711_quantisation_error():
    original = sine(440, 0.5) + sine(1000, 0.5, amplitude=300)
    decoded = samples_of(mulaw.decode(mulaw.encode(pcm_of(original))))
    for before, after in zip(original, decoded, strict=True):
        # half a step of the segment the sample falls in: steps double with each segment
        assert abs(after - before) <= (abs(before) + mulaw.BIAS) / 32


def test_known_code_points():
    assert mulaw.encode(pcm_of([0])) == b"\xff"
    assert samples_of(mulaw.decode(bytes([0x00, 0x80, 0xFF, 0x7F]))).tolist() == [-32124, 32124, 0, 0]
    assert mulaw.encode(pcm_of([-32124, 32124, -1])) == bytes([0x00, 0x80, 0x7F])


def test_every_code_decodes_to_a_value_that_encodes_back_to_it():
    codes = bytes(c for c in range(256) if c != 0x7F)  # 0x7F is negative zero; it comes back as 0xFF
    assert mulaw.encode(mulaw.decode(codes)) == codes


def test_positive_and_negative_samples_differ_only_in_the_sign_bit():
    magnitudes = range(1, 32768, 7)
    positive = mulaw.encode(pcm_of(magnitudes))
    negative = mulaw.encode(pcm_of(-m for m in magnitudes))
    assert bytes(p ^ 0x80 for p in positive) == negative


def test_encode_clips_beyond_32635():
    assert mulaw.encode(pcm_of([32635, 32767, -32635, -32768])) == bytes([0x80, 0x80, 0x00, 0x00])


def test_odd_length_pcm_is_refused():
    with pytest.raises(ValueError, match="even number of bytes"):
        mulaw.encode(b"\x00\x01\x02")


def test_sixty_seconds_encode_and_decode_in_well_under_a_second():
    pcm16 = pcm_of(sine(440, 60))
    started = time.perf_counter()
    ulaw = mulaw.encode(pcm16)
    assert len(mulaw.decode(ulaw)) == len(pcm16)
    assert time.perf_counter() - started < 0.5


# --- WAV ------------------------------------------------------------------------------------

def test_wav_round_trip_keeps_pcm_and_rate():
    pcm16 = pcm_of(sine(440, 0.25))
    assert read_wav(wav_bytes(pcm16, rate=16000)) == (pcm16, 16000)


def test_read_wav_refuses_stereo_and_non_wav(tmp_path):
    stereo = make_wav(tmp_path / "stereo.wav", rate=8000, channels=2, frequency=440)
    with pytest.raises(ValueError, match="expected mono 16-bit WAV, got 2 channel"):
        read_wav(stereo.read_bytes())
    with pytest.raises(ValueError, match="not a readable PCM WAV"):
        read_wav(b"this is not audio")


def test_silence_is_zeroed_pcm_of_the_asked_length():
    assert silence(1.5) == bytes(2 * 12000)
    assert silence(0.5, rate=16000) == bytes(2 * 8000)


# --- the scripted caller's voice ------------------------------------------------------------

def test_english_sentence_becomes_a_plausible_second_or_two_of_phone_audio():
    ulaw = synthesize("my account was hacked", "en")
    assert 0.8 <= len(ulaw) / RATE <= 4
    assert rms(ulaw) > 1000  # real speech, not near-silence


@pytest.mark.parametrize("text, language", [("계정이 해킹당했어요", "ko"), ("我的账户被盗了", "zh"),
                                            ("me hackearon la cuenta", "es"), ("我個戶口俾人黑咗", "yue")])
def test_every_language_we_serve_is_spoken(text, language):
    ulaw = synthesize(text, language)
    assert 0.8 <= len(ulaw) / RATE <= 5
    assert rms(ulaw) > 1000


def test_second_synthesis_comes_from_the_cache_unchanged_and_faster(audio_cache):
    started = time.perf_counter()
    first = synthesize("I lost my two factor device", "en")
    uncached = time.perf_counter() - started
    started = time.perf_counter()
    second = synthesize("I lost my two factor device", "en")
    cached = time.perf_counter() - started
    assert second == first
    assert cached < uncached
    assert [p.suffix for p in audio_cache.iterdir()] == [".ulaw"]


def test_parallel_synthesis_of_one_line_leaves_one_whole_cache_file(audio_cache):
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: synthesize("please call me back", "en"), range(4)))
    assert len(set(results)) == 1
    assert [p.read_bytes() for p in audio_cache.iterdir()] == results[:1]


def test_unknown_language_is_a_clear_value_error():
    with pytest.raises(ValueError, match="no voice for language 'xx'.*does not exist"):
        synthesize("hello", "xx")


def test_empty_text_is_refused():
    with pytest.raises(ValueError, match="nothing to say"):
        synthesize("  ", "en")


def test_missing_espeak_ng_names_it_and_how_to_install(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(AudioToolMissing, match="espeak-ng is not installed.*apt-get install espeak-ng sox"):
        synthesize("my account was hacked", "en")
    recording = tmp_path / "recording.wav"
    recording.write_bytes(wav_bytes(pcm_of(sine(440, 0.1))))
    with pytest.raises(AudioToolMissing, match="sox is not installed"):
        from_wav_file(recording)


def test_missing_sox_alone_is_named(tmp_path, monkeypatch):
    only_espeak = tmp_path / "only-espeak"
    only_espeak.mkdir()
    (only_espeak / "espeak-ng").symlink_to(shutil.which("espeak-ng"))
    monkeypatch.setenv("PATH", str(only_espeak))
    with pytest.raises(AudioToolMissing, match="^sox is not installed"):
        synthesize("my account was hacked", "en")


def test_any_wav_file_becomes_8khz_mono_phone_audio(tmp_path):
    ulaw = from_wav_file(make_wav(tmp_path / "hifi.wav", rate=22050, channels=2, frequency=1000))
    assert abs(len(ulaw) - RATE) <= 20  # one second at 8000 bytes per second
    assert rms(ulaw) > 5000


def test_telephone_channel_cuts_hum_below_300_hz(tmp_path):
    voice_band = from_wav_file(make_wav(tmp_path / "tone.wav", rate=22050, channels=2, frequency=1000))
    hum = from_wav_file(make_wav(tmp_path / "hum.wav", rate=22050, channels=2, frequency=100))
    assert rms(hum) < rms(voice_band) / 10


def test_unreadable_wav_is_a_runtime_error_carrying_sox_stderr(tmp_path):
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"not a wav file at all")
    with pytest.raises(AudioToolFailed, match="sox failed .*RIFF header not found") as failure:
        from_wav_file(garbage)
    assert isinstance(failure.value, RuntimeError)
