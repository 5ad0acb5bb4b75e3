"""How long a text takes to say aloud, roughly: 2.5 words a second, or 4.5 Chinese, Japanese or Korean
characters (syllables) a second."""


def _wide(ch: str) -> bool:
    return ord(ch) > 0x2E80


def speaking_seconds(text: str) -> float:
    wide = sum(1 for ch in text if _wide(ch))
    narrow_words = sum(1 for word in text.split() if not any(_wide(ch) for ch in word))
    return narrow_words / 2.5 + wide / 4.5
