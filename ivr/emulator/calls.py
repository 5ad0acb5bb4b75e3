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
    # (time.monotonic(), seconds) as each webhook was requested: maps a moment of the real world (a
    # REST call created while the app answered one of them) onto this call's own time
    fetched: list[tuple[float, float]] = field(default_factory=list)
    created_wall: float = 0.0  # time.monotonic() when a REST-created call was created
    offset: float = 0.0  # the account's time when this call started (a REST call created during another's webhook)
    ended_wall: float = 0.0  # time.monotonic() when the call ended

    @property
    def now(self) -> float:
        """The account's time on this call: its start (`offset`) plus its own seconds."""
        return self.offset + self.seconds

    def seconds_at(self, wall: float) -> float:
        """This call's time at the real moment `wall`: the time of the last webhook asked before it."""
        earlier = [seconds for at, seconds in self.fetched if at <= wall]
        return earlier[-1] if earlier else 0.0

    @property
    def said(self) -> list[str]:
        return [h.text for h in self.transcript if h.kind == "say"]

    @property
    def heard_stock_error(self) -> bool:
        return any(h.kind == "stock_error" for h in self.transcript)

    def story(self) -> str:
        """The transcript, a line a step: what a failing test prints to say what happened."""
        return "\n".join(f"{h.kind}: {h.text}" for h in self.transcript)

    def heard(self, fragment: str) -> bool:
        return any(fragment in text for text in self.said)
