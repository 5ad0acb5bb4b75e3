"""Redaction on transcripts with word timings, every kind of secret in every language listed,
and the near-misses that must stay; and in the audio, a tone exactly where the words were."""
from __future__ import annotations

import pytest
from pydub import AudioSegment

from ivr.audio.wav import wav_bytes
from ivr.emulator import speech
from ivr.recordings import audio as sound
from ivr.redaction.secrets import LABELS, Word, find_secrets, redact, redact_text, text_of

TICKET = "6201906"


def spoken(sentence: str, gap: float = 0.1, length: float = 0.35) -> list[Word]:
    """Words as vosk gives them: each with its start and end in seconds."""
    words, at = [], 0.5
    for text in sentence.split():
        words.append(Word(text, round(at, 2), round(at + length, 2)))
        at += length + gap
    return words


SECRETS = [  # (language, what was said, the kind found, the transcript after)
    ("en", "my words are abandon ability able about above absent absorb abstract bye", "seed_phrase",
     "my words are [seed phrase removed] bye"),
    ("es", "las palabras son ábaco abdomen abeja abierto abogado abono gracias", "seed_phrase",
     "las palabras son [seed phrase removed] gracias"),
    ("zh", "助记词 是 的 一 是 在 不 了 有 和 谢谢", "seed_phrase", "助记词 [seed phrase removed] 谢谢"),
    ("ko", "복구 단어 는 가격 가끔 가난 가능 가득 가방 입니다", "seed_phrase",
     "복구 단어 는 [seed phrase removed] 입니다"),
    ("ko", "abandon ability able about above 입니다", "seed_phrase", "[seed phrase removed] 입니다"),  # English list
    ("en", "the key is x p r v nine s two one z r q q three g h three thanks", "private_key",
     "the key is [private key removed] thanks"),
    ("en", "key alpha four bravo seven charlie one delta nine echo two foxtrot six done", "private_key",
     "key [private key removed] done"),
    ("en", "it is 5f2b8e0c9a7d4e31b6f0a8c2d4e6f8a0 okay", "private_key", "it is [private key removed] okay"),
    ("es", "la clave es a siete be tres ce nueve de uno e cinco efe ocho listo", "private_key",
     "la clave es [private key removed] listo"),
    ("ko", "키 는 에이 일 비 이 씨 삼 디 사 에프 오 엑스 육 입니다", "private_key",
     "키 는 [private key removed] 입니다"),
    ("zh", "私钥 是 a 一 b 二 c 三 d 四 e 五 f 六 好", "private_key", "私钥 是 [private key removed] 好"),
    ("en", "the code is four eight two nine one three", "one_time_code", "the code is [one-time code removed]"),
    ("en", "my code is 482913 right", "one_time_code", "my code is [one-time code removed] right"),
    ("es", "el código es cuatro ocho dos nueve uno tres", "one_time_code",
     "el código es [one-time code removed]"),
    ("ko", "인증 번호 는 사 팔 이 구 일 삼 입니다", "one_time_code", "인증 번호 는 [one-time code removed] 입니다"),
    ("ko", "인증 번호 는 [4] [8] [2] [9] [1] [3] 입니다", "one_time_code",  # how vosk-ko writes digits
     "인증 번호 는 [one-time code removed] 입니다"),
    ("zh", "验证码 是 四 八 二 九 一 三", "one_time_code", "验证码 是 [one-time code removed]"),
    ("zh", "验证码 是 四八二九一三", "one_time_code", "验证码 是 [one-time code removed]"),
    ("en", "card four one one one one one one one one one one one one one one one thanks", "card_number",
     "card [card number removed] thanks"),
    ("en", "it is 4111 1111 1111 1111 yes", "card_number", "it is [card number removed] yes"),
    ("es", "la tarjeta 4111 1111 1111 1111 gracias", "card_number", "la tarjeta [card number removed] gracias"),
    ("ko", "카드 번호 는 4111 1111 1111 1111 입니다", "card_number", "카드 번호 는 [card number removed] 입니다"),
    ("zh", "卡号 4111 1111 1111 1111 谢谢", "card_number", "卡号 [card number removed] 谢谢"),
    ("en", "my password is hunter two please", "password", "my password is [password removed]"),
    ("es", "mi contraseña es gato azul", "password", "mi contraseña es [password removed]"),
    ("ko", "제 비밀번호 는 사과 나무 일 입니다", "password", "제 비밀번호 는 [password removed]"),
    ("zh", "我 的 密码 是 小 猫 咪", "password", "我 的 密码 是 [password removed]"),
]


@pytest.mark.parametrize(("language", "said", "kind", "after"), SECRETS)
def test_every_secret_kind_is_taken_out_of_the_transcript_in_every_language(language, said, kind, after):
    words = spoken(said)
    spans = find_secrets(words, language, known_numbers={TICKET})
    assert [span.kind for span in spans] == [kind]
    redacted = redact(words, spans)
    assert text_of(redacted, language) == after
    [label] = [w for w in redacted if w.text == LABELS[kind]]
    first, last = words[spans[0].first], words[spans[0].last]
    assert (label.start, label.end) == (first.start, last.end)  # the span's times are the words' times


def test_a_password_ends_at_the_pause_after_it():
    words = spoken("my password is tiger seven") + [Word("and", 5.0, 5.2), Word("the", 5.3, 5.4),
                                                     Word("withdrawal", 5.5, 6.0)]
    assert text_of(redact(words, find_secrets(words, "en")), "en") == \
        "my password is [password removed] and the withdrawal"


NEAR_MISSES = [
    ("en", "i sent two five zero zero dollars yesterday"),  # a 4-digit amount
    ("en", "i sent 2500 usdt yesterday"),
    ("en", "i withdrew one two five zero zero zero dollars"),  # a 6-digit amount, with its currency
    ("en", "my ticket number is six two zero one nine zero six"),  # our ticket number read back
    ("ko", "문의 번호 는 [6] [2] [0] [1] [9] [0] [6] 입니다"),
    ("zh", "工单 号 是 六 二 零 一 九 零 六"),
    ("es", "mi número de ticket es seis dos cero uno nueve cero seis"),
    ("en", "i want to buy a new phone because the old one broke and i lost access to my account"),
    ("en", "my account has a problem with access after the update"),
    ("es", "mi cuenta tiene un problema con el acceso desde ayer por la tarde"),
    ("ko", "계정 이 해킹 당했 어요 가격 이 이상 해요"),
    ("zh", "我 想 问 一下 我 的 账户 问题 是 什么"),
    ("en", "my password is not working since yesterday"),  # about the password, not the password
    ("es", "mi contraseña es incorrecta desde ayer"),
    ("zh", "我 的 密码 是 错 的"),
    ("en", "call me on 4111 1111 1111 1112 please"),  # 16 digits, not Luhn-valid: not a card
    ("en", "my uid is 12345678901 okay"),  # 11 digits: an account number, neither code nor card
    ("en", "i see you are there"),  # letter-sounding words in a sentence
]


@pytest.mark.parametrize(("language", "said"), NEAR_MISSES)
def test_near_misses_are_left_alone(language, said):
    words = spoken(said)
    assert find_secrets(words, language, known_numbers={TICKET}) == []


def test_the_redacted_span_is_a_tone_at_the_right_times_and_the_rest_is_untouched(tmp_path):
    """Real speech on the caller's channel; the words of a code said at 1.0-3.0 s are toned over
    (with the pad) on that channel and silenced on the other; speech outside is as it was."""
    voice = AudioSegment(data=speech_pcm(), sample_width=2, frame_rate=8000, channels=1)[:1000]
    caller = AudioSegment.silent(5000, 8000)
    for at in (0, 1000, 2000, 3500):  # speech everywhere, so a tone is not mistaken for silence
        caller = caller.overlay(voice, position=at)
    agent = caller.apply_gain(-6)
    heard = AudioSegment.from_mono_audiosegments(caller, agent)
    words = [Word("code", 0.5, 0.9), *(Word(d, 1.0 + i * 0.4, 1.3 + i * 0.4) for i, d in
                                       enumerate("four eight two nine one three".split()))]
    [span] = find_secrets(words, "en")
    assert (span.kind, span.start, span.end) == ("one_time_code", 1.0, 3.3)
    out = tmp_path / "stored.ogg"
    sound.encode(sound.tone_over(heard, [(1, span.start, span.end)]), out)
    left, right = AudioSegment.from_file(out).set_frame_rate(8000).set_sample_width(2).split_to_mono()
    inside = slice(int((span.start - sound.PAD_SECONDS) * 1000) + 20, int((span.end + sound.PAD_SECONDS) * 1000) - 20)
    assert dominant_hz(left[inside.start:inside.stop]) == pytest.approx(sound.TONE_HZ, abs=15)
    assert left[inside.start:inside.stop].dBFS == pytest.approx(sound.TONE_DBFS - 3, abs=2)  # a sine's RMS
    assert right[inside.start:inside.stop].dBFS < -60  # the other leg is silent there
    for outside in (slice(0, 850), slice(3450, 4500)):  # the speech around it is still speech
        original, stored = caller[outside.start:outside.stop], left[outside.start:outside.stop]
        assert abs(stored.dBFS - original.dBFS) < 3 and dominant_hz(stored) != pytest.approx(sound.TONE_HZ, abs=15)


def speech_pcm() -> bytes:
    from ivr.audio import mulaw

    return mulaw.decode(speech.synthesize("one two three four five six seven", "en"))


def dominant_hz(segment: AudioSegment) -> float:
    """The strongest frequency of a stretch of audio (a plain DFT scan, 50 Hz steps)."""
    import math
    from array import array

    samples = array("h", segment.set_channels(1).raw_data)
    rate = segment.frame_rate
    best, best_power = 0.0, -1.0
    for hz in range(100, 3500, 50):
        re = sum(s * math.cos(2 * math.pi * hz * n / rate) for n, s in enumerate(samples))
        im = sum(s * math.sin(2 * math.pi * hz * n / rate) for n, s in enumerate(samples))
        if re * re + im * im > best_power:
            best, best_power = hz, re * re + im * im
    return best


def test_a_wav_that_is_not_what_twilio_reported_is_refused(tmp_path):
    from ivr.errors import MediaRefused

    path = tmp_path / "twilio.wav"
    path.write_bytes(wav_bytes(b"\0\0" * 8000 * 10, channels=1))  # 10 s, one channel
    assert sound.check_wav(path, 1, 10).seconds == 10
    with pytest.raises(MediaRefused, match="reported 2 channel"):
        sound.check_wav(path, 2, 5)
    with pytest.raises(MediaRefused, match="lasts 10.0 s, Twilio reported 60 s"):
        sound.check_wav(path, 1, 60)
    path.write_bytes(path.read_bytes()[:20000])
    with pytest.raises(MediaRefused, match="cut short"):
        sound.check_wav(path, 1, 10)
    path.write_bytes(b"<html>not audio</html>")
    with pytest.raises(MediaRefused, match="not a WAV"):
        sound.check_wav(path, 1, 10)


def test_a_transcript_without_timings_is_redacted_and_the_ticket_read_back_stays():
    assert redact_text("my password is hunter two", "en") == "my password is [password removed]"
    assert redact_text("the code is 5 5 1 9 0 3 please help", "en") == "the code is [one-time code removed] please help"
    assert redact_text("my ticket is 4 8 2 1 0 3 7", "en", ["4821037"]) == "my ticket is 4 8 2 1 0 3 7"
    assert redact_text("i sent 2500 dollars yesterday", "en") == "i sent 2500 dollars yesterday"
