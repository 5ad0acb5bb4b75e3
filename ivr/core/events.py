"""The events that move a call: what Twilio, the caller or the app reports. Plain frozen data."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CallStarted:
    """The call has been answered and its ticket is known."""


@dataclass(frozen=True)
class Digits:
    digits: str


@dataclass(frozen=True)
class Speech:
    """Words heard at a question (Twilio's speech gather). The speech capability reads them first:
    `intent` and `intent_confidence` are what it made of them, `urgent` when they name a takeover."""

    text: str
    confidence: float | None = None
    intent: str | None = None
    intent_confidence: float = 0.0
    urgent: bool = False


@dataclass(frozen=True)
class NoInput:
    """A Gather ended with nothing pressed or said."""


@dataclass(frozen=True)
class CallEnded:
    status: str  # Twilio's final CallStatus


@dataclass(frozen=True)
class TransferEnded:
    """One attempt of a warm transfer is over. `outcome`: accepted, not-accepted, no-answer, busy,
    failed, or none-left (the chain is exhausted; nobody was rung)."""

    attempt: int
    outcome: str
    agent: str | None = None


@dataclass(frozen=True)
class Heard:
    """What the caller said at a listen step, as recognised and classified by the app. `source`:
    stream, record, cloud; "none" when no recogniser serves the caller's language."""

    text: str
    intent: str | None
    confidence: float
    urgent: bool = False
    source: str = "stream"
    issue: str | None = None  # the keypad menu's name for the intent


@dataclass(frozen=True)
class QueueLeft:
    """The caller left the agents' queue without pressing a key. `reason`: connected (the
    conversation with the agent is over), rejoin (back in the queue, keeping the place: the agent
    did not answer), full, closed (the desk closed while they waited)."""

    reason: str
    agent: str | None = None


@dataclass(frozen=True)
class CallbackBooked:
    """The app booked the call back a callback_offer step asked for. `when`: soon (within opening
    hours, in about `minutes`), opening (at the next opening, `local` ISO time in the region's
    timezone), or failed."""

    when: str
    minutes: int = 0
    local: str = ""
    request: int | None = None
    keeps_place: bool = False


Event = CallStarted | Digits | Speech | NoInput | CallEnded | TransferEnded | Heard | QueueLeft | CallbackBooked
