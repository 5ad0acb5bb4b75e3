"""What scripted people do: a caller, one item per question the IVR asks; agents who are dialed."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Press:
    """Key in digits (a keypad press ends the prompt early, as on a real phone)."""

    digits: str


@dataclass(frozen=True)
class Speak:
    """Say something: `text` (synthesised with espeak-ng in `language`, or the question's language)
    or the audio of a WAV file. Twilio's own speech gather hears `text`; recordings and media
    streams get the audio, passed through the telephone channel (8 kHz mono μ-law)."""

    text: str = ""
    language: str | None = None
    wav: Path | None = None
    confidence: float = 0.9


@dataclass(frozen=True)
class Silence:
    """Do nothing until the question times out."""


@dataclass(frozen=True)
class HangUp:
    """Put the phone down at this point."""


CallerAction = Press | Speak | Silence | HangUp


@dataclass(frozen=True)
class Agent:
    """How a dialed person (an on-call agent, or a customer called back) handles one call.

    `answer`: "answer", "no-answer", "busy" or "machine" (an answering machine: Twilio's machine
    detection reports it; it presses nothing). `presses`: the keys pressed at each question the
    whisper (or the outbound call's TwiML) asks; an answered agent with no more keys stays silent.
    `talk_seconds`: how long the bridged conversation lasts."""

    answer: str = "answer"
    presses: tuple[str, ...] = ("1",)
    talk_seconds: int = 60

    def __post_init__(self):
        if self.answer not in ("answer", "no-answer", "busy", "machine"):
            raise ValueError(f"agent answer must be answer, no-answer, busy or machine, not {self.answer!r}")


ANSWERS_AND_ACCEPTS = Agent()
ANSWERING_MACHINE = Agent(answer="machine", presses=())
ANSWERS_BUT_DOES_NOT_ACCEPT = Agent(presses=())
DOES_NOT_ANSWER = Agent(answer="no-answer")
BUSY = Agent(answer="busy")
