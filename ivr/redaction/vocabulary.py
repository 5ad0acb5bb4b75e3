"""The words redaction listens for, per language: how digits and letters are spoken, what a
password phrase sounds like, currency words that make a number an amount, fillers, and the
BIP-39 word lists (from the `mnemonic` package). Data only; `redaction` decides."""
from __future__ import annotations

import unicodedata
from functools import cache

from mnemonic import Mnemonic

BIP39_LISTS = {"en": ("english",), "es": ("spanish",), "zh": ("chinese_simplified", "chinese_traditional"),
               "yue": ("chinese_traditional", "chinese_simplified"), "ko": ("korean",)}

DIGITS = {
    "en": {"zero": "0", "oh": "0", "one": "1", "two": "2", "to": "2", "too": "2", "three": "3", "four": "4",
           "for": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "niner": "9"},
    "es": {"cero": "0", "uno": "1", "una": "1", "dos": "2", "tres": "3", "cuatro": "4", "cinco": "5",
           "seis": "6", "siete": "7", "ocho": "8", "nueve": "9"},
    "ko": {"영": "0", "공": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5", "육": "6", "륙": "6",
           "칠": "7", "팔": "8", "구": "9", "하나": "1", "둘": "2", "셋": "3", "넷": "4", "다섯": "5", "여섯": "6",
           "일곱": "7", "여덟": "8", "아홉": "9"},
    "zh": {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
           "五": "5", "六": "6", "七": "7", "八": "8", "九": "9", "拐": "7", "勾": "9"},
}
DIGITS["yue"] = DIGITS["zh"]

_NATO = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
         "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey",
         "xray", "yankee", "zulu")
LETTERS = {
    "en": {**{name: name[0] for name in _NATO}, **{c: c for c in "abcdefghijklmnopqrstuvwxyz"},
           "ay": "a", "bee": "b", "be": "b", "see": "c", "sea": "c", "cee": "c", "dee": "d", "ee": "e", "ef": "f",
           "eff": "f", "gee": "g", "aitch": "h", "eye": "i", "jay": "j", "kay": "k", "el": "l", "ell": "l",
           "em": "m", "en": "n", "pee": "p", "cue": "q", "queue": "q", "are": "r", "ar": "r", "ess": "s",
           "tee": "t", "tea": "t", "you": "u", "vee": "v", "ex": "x", "why": "y", "zed": "z", "zee": "z"},
    "es": {**{c: c for c in "abcdefghijklmnopqrstuvwxyz"}, "be": "b", "ce": "c", "de": "d", "efe": "f",
           "ge": "g", "hache": "h", "jota": "j", "ka": "k", "ele": "l", "eme": "m", "ene": "n", "pe": "p",
           "cu": "q", "erre": "r", "ese": "s", "te": "t", "uve": "v", "ve": "v", "equis": "x", "ye": "y",
           "zeta": "z"},
    "ko": {"에이": "a", "비": "b", "씨": "c", "디": "d", "에프": "f", "지": "g", "에이치": "h", "아이": "i",
           "제이": "j", "케이": "k", "엘": "l", "엠": "m", "엔": "n", "피": "p", "큐": "q", "알": "r", "에스": "s",
           "티": "t", "유": "u", "브이": "v", "더블유": "w", "엑스": "x", "와이": "y", "제트": "z", "지드": "z"},
    "zh": {c: c for c in "abcdefghijklmnopqrstuvwxyz"},
}
LETTERS["yue"] = LETTERS["zh"]
LETTER_CASE = {"capital", "uppercase", "upper", "lowercase", "lower", "small", "big", "mayúscula", "mayuscula",
               "minúscula", "minuscula", "대문자", "소문자", "大写", "小写"}

# "...is": what follows is the password itself. Written without spaces (compared that way).
PASSWORD_PHRASES = {
    "en": ("mypasswordis", "thepasswordis", "mypassphraseis", "mypasscodeis", "mypinis", "thepinis",
           "mypasswordsis", "passwordis"),
    "es": ("micontrasenaes", "lacontrasenaes", "contrasenaes", "miclavees", "laclavees", "mipines"),
    "ko": ("비밀번호는", "비밀번호가", "비밀번호은", "비번은", "비번이", "패스워드는", "패스워드가", "암호는",
           "암호가"),
    "zh": ("我的密码是", "密码是", "口令是", "密码为", "我的密碼是", "密碼是"),
}
PASSWORD_PHRASES["yue"] = PASSWORD_PHRASES["zh"] + ("密碼係", "密码系")
# ...but "my password is not working" talks about the password: these first words say so.
ABOUT_THE_PASSWORD = {
    "en": {"not", "wrong", "incorrect", "invalid", "blocked", "locked", "expired", "changed", "reset", "lost",
           "gone", "compromised", "stolen", "working", "too", "the", "no", "being", "now"},
    "es": {"no", "incorrecta", "incorrecto", "bloqueada", "bloqueado", "erronea", "caducada", "cambiada", "robada"},
    "ko": {"안", "틀렸", "틀려", "바뀌었", "바꿨", "잊어버렸", "몰라", "모르", "잠겼", "변경"},
    "zh": {"不", "错", "错误", "错了", "被", "忘", "忘了", "改", "改了", "没"},
}
ABOUT_THE_PASSWORD["yue"] = ABOUT_THE_PASSWORD["zh"] | {"唔", "錯"}

CURRENCY = {"dollar", "dollars", "usd", "usdt", "usdc", "btc", "bitcoin", "bitcoins", "eth", "ether", "euro", "euros",
            "pound", "pounds", "won", "dólar", "dolar", "dólares", "dolares", "pesos", "peso", "원", "달러", "元",
            "块", "美元", "港元", "港币", "蚊", "percent", "por ciento", "퍼센트", "cents", "centavos", "sats"}
FILLERS = {"um", "uh", "er", "erm", "hmm", "mm", "eh", "este", "pues", "어", "음", "그", "저", "嗯", "呃", "那个",
           "and", "y", "then", "dash", "space", "comma", "guion", "guión"}


def normal(word: str) -> str:
    """Lower case, NFC, no punctuation around; Spanish accents dropped (BIP-39 allows it)."""
    word = unicodedata.normalize("NFC", word.strip().strip(".,;:!?¿¡\"'()[]").lower())
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn") \
        if word.isascii() is False and _latin(word) else word


def _latin(word: str) -> bool:
    return all(c.isascii() or unicodedata.name(c, "").startswith("LATIN") for c in word)


@cache
def bip39_words(language: str) -> frozenset[str]:
    """Every BIP-39 word a caller speaking `language` might read out: their language's lists and English."""
    words: set[str] = set()
    for name in ("english", *BIP39_LISTS.get(language, ())):
        words.update(normal(word) for word in Mnemonic(name).wordlist)
    return frozenset(words)


def single_character_lists(language: str) -> bool:
    """Chinese lists are single characters: a seed phrase is read as separate characters."""
    return language in ("zh", "yue")


def spoken_digits(language: str) -> dict[str, str]:
    return {**DIGITS["en"], **DIGITS.get(language, {})}


def spoken_letters(language: str) -> dict[str, str]:
    return {**LETTERS["en"], **LETTERS.get(language, {})}
