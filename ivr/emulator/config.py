"""How the emulated account is set up: each number's Voice settings (`NumberConfig`), and the
behaviour the Twilio reference leaves unconfirmed plus the emulator's own limits (`Options`)."""
from __future__ import annotations

from dataclasses import dataclass

STOCK_ERROR = "We are sorry, an application error has occurred. Goodbye."


@dataclass(frozen=True)
class NumberConfig:
    """A phone number's Voice settings, as set in the Twilio console."""

    number: str
    voice_url: str
    fallback_url: str | None = None
    status_callback: str | None = None
    voice_method: str = "POST"


@dataclass(frozen=True)
class Options:
    """Behaviour the reference leaves unconfirmed, and the emulator's own limits."""

    stock_error: str = STOCK_ERROR
    callback_order: str = "in-order"  # or "shuffled": status callbacks arrive out of order
    seed: int = 0  # for the shuffle
    empty_record: str = "action"  # a silent <Record>: "action" (RecordingDuration 0) or "fall-through"
    whisper_hangup_status: str = "no-answer"  # DialCallStatus when the whisper hangs up on the agent
    request_budget: float = 15.0  # seconds a webhook may take before it counts as a timeout (11205)
    queue_poll: float = 0.2  # real seconds between hold loops in a queue, so other processes can act
    max_queue_loops: int = 50  # then the caller gives up and hangs up
    dequeue_wait: float = 120.0  # real-time bound on a <Dial><Queue> waiting for a live call to join its queue
    max_documents: int = 200  # TwiML documents per call before the emulator calls it a loop
    # Whether recording media answers with a redirect to storage (the reference cannot confirm it):
    # False serves the WAV from the API URL; True answers 307 to an unauthenticated, short-lived
    # storage URL on the same server, as Twilio does for message media.
    media_redirect: bool = False

    def __post_init__(self):
        if self.callback_order not in ("in-order", "shuffled"):
            raise ValueError("callback_order must be in-order or shuffled")
        if self.empty_record not in ("action", "fall-through"):
            raise ValueError("empty_record must be action or fall-through")
