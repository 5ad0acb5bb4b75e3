"""What the flow engine asks the world to do. The web layer turns these into TwiML and records."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class Say:
    text: str
    language: str  # <Say language=...>
    voice: str | None = None


@dataclass(frozen=True)
class Gather:
    """Collect keys (and speech, where allowed) while speaking `prompts`."""

    step: str
    prompts: tuple[Say, ...]
    timeout: int
    num_digits: int = 1
    speech_language: str | None = None  # set when Twilio's own speech recognition may be used
    hints: str | None = None


@dataclass(frozen=True)
class StartRecording:
    """Start recording the whole call (<Start><Recording>)."""


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Note:
    """One entry on the call's timeline."""

    kind: str
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateTicket:
    changes: Mapping[str, str]


@dataclass(frozen=True)
class ConsentRecorded:
    outcome: str  # "given", "declined" or "notice"
    method: str  # "dtmf", "speech", "timeout" or "notice"
    policy: str  # "all-party" or "one-party"
    language: str
    prompt_keys: tuple[str, ...]
    prompt_version: str  # hash of the exact words the caller heard


Action = Say | Gather | StartRecording | Hangup | Note | UpdateTicket | ConsentRecorded
