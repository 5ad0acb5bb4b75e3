"""What a scripted caller does, one item per question the IVR asks."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Press:
    """Key in digits (a keypad press ends the prompt early, as on a real phone)."""

    digits: str


@dataclass(frozen=True)
class Speak:
    """Say something. Heard only by a Gather that accepts speech (or, later, a media stream)."""

    text: str
    confidence: float = 0.9


@dataclass(frozen=True)
class Silence:
    """Do nothing until the question times out."""


@dataclass(frozen=True)
class HangUp:
    """Put the phone down at this point."""


CallerAction = Press | Speak | Silence | HangUp
