"""What the flow engine asks the world to do. The web layer turns these into TwiML and records."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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
    finish_on_key: str | None = None  # Twilio's default '#'
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


@dataclass(frozen=True)
class Transfer:
    """Ring the `attempt`-th person (from 0) of the on-call chain at once, with a whisper asking them
    to accept, while the caller waits hearing `prompts` (listening for one key when `listen`). The
    app resolves who that is from the rota; the result comes back as a TransferEnded event."""

    step: str
    attempt: int
    ring_seconds: int
    accept_seconds: int
    prompts: tuple[Say, ...] = ()
    listen: bool = False


@dataclass(frozen=True)
class WaitForAgent:
    """Keep the caller waiting for the agent of transfer `attempt`, who is being rung already (after
    a key pressed while they waited)."""

    step: str
    attempt: int


@dataclass(frozen=True)
class FreezeRequest:
    """Send the caller's freeze request to the account system; say `confirmed` if it confirms at
    once, otherwise `received`."""

    received: tuple[Say, ...]
    confirmed: tuple[Say, ...]


@dataclass(frozen=True)
class RequestCallback:
    """Record a request to call the caller back on their own number (urgent ones first)."""

    priority: str  # "urgent" or "normal"
    reason: str


@dataclass(frozen=True)
class PageSecurityTeam:
    """Page the region's on-call security team: an urgent call reached nobody."""

    reason: str


@dataclass(frozen=True)
class Listen:
    """Hear the caller describe their problem while (and after) `prompts` play. How (a media stream
    to vosk, a recording, Twilio's speech gather, or not at all) is the app's choice; the answer
    comes back as a Heard event."""

    step: str
    prompts: tuple[Say, ...]
    language: str
    max_seconds: int
    attempt: int


@dataclass(frozen=True)
class HearVia:
    """A Listen the app has decided how to hear: `mode` is stream, record or cloud."""

    mode: str
    listen: Listen
    language_tag: str | None = None  # BCP-47 for Twilio's speech gather (cloud)
    stream_token: str | None = None  # stream: binds the media stream to this call's listen (a <Parameter>)


@dataclass(frozen=True)
class StopStream:
    """End a media stream: a listen step's, or the call's urgency stream."""

    name: str


@dataclass(frozen=True)
class ListenForUrgency:
    """Start the call's urgency stream (<Start><Stream name=...>): while the call is at the IVR's
    questions, its audio goes to the app's websocket, where an urgent phrase moves the call to the
    security path. `token` binds the stream to this call (a <Parameter>)."""

    name: str
    token: str


@dataclass(frozen=True)
class HoldForAgent:
    """A Transfer (or WaitForAgent) the app has rung: the caller hears `prompts` (in a one-key
    Gather when `listen`), then waits in their own security queue `queue` until the agent who
    accepts takes them from it."""

    queue: str
    attempt: int
    prompts: tuple[Say, ...] = ()
    listen: bool = False


@dataclass(frozen=True)
class Redirect:
    """Fetch `path` (one of our webhooks) next."""

    path: str


@dataclass(frozen=True)
class QueueSettings:
    """How a queued caller is kept informed: a queue step's settings, carried to the hold music."""

    announce_every: int = 45
    hold_music: str | None = None
    offer_key: str | None = "1"  # None: no callback offer (a call we placed ourselves)
    offer_over: int = 300
    offer_after: int = 180
    max_size: int = 25


@dataclass(frozen=True)
class JoinQueue:
    """Wait in the region's agents' queue, in `band` "first" (security, VIP) or "normal". Joining
    again keeps the place already held. How the caller leaves comes back as a QueueLeft event (or,
    for keys pressed while holding, Digits)."""

    step: str
    band: str
    settings: QueueSettings


@dataclass(frozen=True)
class LeaveQueue:
    """Take the caller out of the desk's queue order (they left it for the security path)."""

    desk: str


@dataclass(frozen=True)
class EnterQueue:
    """A JoinQueue the app has placed in a desk's queue: <Enqueue> with our hold music."""

    desk: str


@dataclass(frozen=True)
class BookCallback:
    """Book (or update) a call back to `number`; the app decides when it is due and answers with
    a CallbackBooked event. `source`: queue (keeps the caller's place), overflow, closed."""

    number: str
    source: str


@dataclass(frozen=True)
class CancelCallbacks:
    """Cancel the caller's pending call backs (their number, their ticket)."""


Action = (Say | Gather | StartRecording | Hangup | Note | UpdateTicket | ConsentRecorded | Transfer | WaitForAgent
          | FreezeRequest | RequestCallback | PageSecurityTeam | Listen | JoinQueue | LeaveQueue | BookCallback
          | CancelCallbacks)
