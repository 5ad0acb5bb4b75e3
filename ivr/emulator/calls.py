"""What an emulated call leaves behind: its transcript (`Heard`, line by line), the requests it made,
how it ended, its recordings and <Dial> legs (`EmulatedCall`)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Heard:
    """One line of what happened on the call, in order."""

    kind: str  # say, play, pause, caller, recording, redirect, dial, queue, hangup, error, stock_error, warning
    text: str = ""
    language: str | None = None
    at: float = 0.0  # seconds since the call was answered (estimated from speech length)


@dataclass
class EmulatedCall:
    sid: str
    to: str
    from_: str
    direction: str = "inbound"
    parent_sid: str | None = None
    transcript: list[Heard] = field(default_factory=list)
    requests: list[tuple[str, dict, int]] = field(default_factory=list)  # (url, params, HTTP status)
    status: str = "in-progress"
    ended_by: str = ""  # ivr-hangup, caller-hangup, no-more-verbs, stock-error, rest, not-answered
    recording_sid: str | None = None
    recording_started_at: float | None = None
    recordings: list[str] = field(default_factory=list)  # every recording SID made on the call
    legs: list[EmulatedCall] = field(default_factory=list)  # <Dial> legs
    bridged_to: list[str] = field(default_factory=list)  # numbers the caller was connected to, in order
    stream_latencies: list[float] = field(default_factory=list)  # caller's last word -> REST update, seconds
    seconds: float = 0.0

    @property
    def said(self) -> list[str]:
        return [h.text for h in self.transcript if h.kind == "say"]

    @property
    def heard_stock_error(self) -> bool:
        return any(h.kind == "stock_error" for h in self.transcript)

    def heard(self, fragment: str) -> bool:
        return any(fragment in text for text in self.said)
