"""The step kinds a flow file may use. Each is a small frozen model; the `kind` field picks it.

A new kind slots in as one more model in `Step` and one more handler in the engine; nothing else
in a flow file changes.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DIGIT_KEYS = frozenset("0123456789*#")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_digit_keys(options: dict) -> dict:
    for key in options:
        if len(key) != 1 or key not in DIGIT_KEYS:
            raise ValueError(f"option key {key!r} is not a single keypad key (0-9, * or #)")
    return options


class SayStep(_Model):
    """Speak prompts, then go on. With `keys` (or `interruptible`), the caller may press a key while
    it speaks or within `wait` seconds after: a listed key goes to its step, the flow's urgent key
    to the urgent path; anything else, or nothing, goes on to `next`."""

    kind: Literal["say"]
    keys_only: str | None = None  # why this question hears keys only where the region could hear words
    prompts: list[str] = Field(min_length=1)
    next: str
    keys: dict[str, str] = {}
    interruptible: bool = False
    wait: int = Field(default=1, ge=1, le=10)

    _keys = field_validator("keys")(_check_digit_keys)

    @property
    def listens(self) -> bool:
        return bool(self.keys) or self.interruptible


class LanguageStep(_Model):
    """The language menu: each option is announced in its own language."""

    kind: Literal["language"]
    keys_only: str | None = None  # why this question hears keys only where the region could hear words
    options: dict[str, str] = Field(min_length=1)  # key -> language code
    next: str
    timeout: int = Field(default=5, ge=1, le=30)

    _keys = field_validator("options")(_check_digit_keys)


class MenuOption(_Model):
    next: str
    set: dict[str, str] = {}


class MenuStep(_Model):
    """A keypad menu. Wrong keys and silence are retried, then the flow goes to `on_fail`."""

    kind: Literal["menu"]
    keys_only: str | None = None  # why this question hears keys only where the region could hear words
    prompts: list[str] = Field(min_length=1)
    options: dict[str, MenuOption] = Field(min_length=1)
    retries: int = Field(default=2, ge=0, le=5)
    timeout: int = Field(default=6, ge=1, le=30)
    on_fail: str

    _keys = field_validator("options")(_check_digit_keys)


class ConsentStep(_Model):
    """Recording consent: an explicit opt-in (all-party regions) or a notice (one-party regions)."""

    kind: Literal["consent"]
    keys_only: str | None = None  # why this question hears keys only where the region could hear words
    ask: list[str] = ["consent_request"]
    notice: list[str] = ["recording_notice"]
    given: str
    declined: str
    retries: int = Field(default=1, ge=0, le=3)
    timeout: int = Field(default=6, ge=1, le=30)


class Condition(_Model):
    """Every field given must match. Lists mean 'any of'."""

    hours: Literal["open", "closed", "holiday", "not_open"] | None = None
    language: str | list[str] | None = None
    intent: str | list[str] | None = None
    consent: Literal["given", "declined", "notice", "recording", "not_recording"] | None = None
    vars: dict[str, str | list[str]] = {}


class Branch(_Model):
    when: Condition
    next: str


class RouteStep(_Model):
    """Branch on hours, language, intent, consent or variables; the first match wins."""

    kind: Literal["route"]
    branches: list[Branch] = Field(min_length=1)
    default: str


class TicketStep(_Model):
    """Update the call's ticket. Values starting with '$' name a call variable."""

    kind: Literal["ticket"]
    update: dict[Literal["status", "category", "priority"], str] = Field(min_length=1)
    next: str


class StartRecordingStep(_Model):
    """Start recording the call (refused at run time, and by the linter, before consent)."""

    kind: Literal["start_recording"]
    next: str


class HangupStep(_Model):
    """Optionally speak, then end the call."""

    kind: Literal["hangup"]
    prompts: list[str] = []


class GotoStep(_Model):
    kind: Literal["goto"]
    next: str


class ListenStep(_Model):
    """"In a few words, tell us what happened": the caller's words become an intent (offline with
    vosk where the language has a model, or Twilio's speech recognition where the region allows it).
    Unsure: confirm. Not understood: ask once more. Then, or with no recogniser at all: `on_fail`."""

    kind: Literal["listen"]
    prompts: list[str] = ["describe_problem"]
    again: list[str] = ["describe_again"]
    max_seconds: int = Field(default=10, ge=3, le=60)
    retries: int = Field(default=1, ge=0, le=3)
    confirm_below: float = Field(default=0.75, ge=0, le=1)
    next: str  # usually a route on `intent`
    on_fail: str  # usually the keypad menu


INTENT_PROMPTS = ("intent_cannot_login", "intent_two_factor", "intent_kyc", "intent_deposit", "intent_withdrawal",
                  "intent_trading", "intent_api_keys", "intent_agent")


class TransferStep(_Model):
    """Warm transfer to the on-call security team: each person in the rota's chain is rung in turn
    (the first at once, as the step starts) and hears a spoken brief with "press 1 to accept"; the
    caller hears `prompts` while the first rings and `hold` between attempts, waiting in a security
    queue of their own until an agent accepts. `freeze_key`, pressed while `prompts` play, asks for
    an account freeze (`received` / `confirmed` said) without stopping the ring."""

    kind: Literal["transfer"]
    prompts: list[str] = []  # said once, while the first agent's phone rings
    hold: list[str] = ["transfer_hold"]
    freeze_key: str | None = None
    received: list[str] = ["freeze_received"]
    confirmed: list[str] = ["freeze_confirmed"]
    ring_seconds: int = Field(default=20, ge=5, le=60)
    accept_seconds: int = Field(default=10, ge=3, le=30)
    connected: str  # after the conversation with the agent ends
    unanswered: str  # when nobody in the chain accepted


class FreezeStep(_Model):
    """Ask the exchange's account system to freeze the caller's account; say it was received (or,
    when the system confirms at once, that it is done)."""

    kind: Literal["freeze"]
    received: list[str] = ["freeze_received"]
    confirmed: list[str] = ["freeze_confirmed"]
    next: str


class CallbackStep(_Model):
    """Record a request to call the caller back (urgent ones first), and optionally page the team."""

    kind: Literal["callback"]
    priority: Literal["urgent", "normal"] = "normal"
    page: bool = False
    next: str


QUEUE_PROMPTS = ("queue_position", "queue_next", "queue_wait", "queue_wait_short", "queue_offer", "queue_connecting")


class QueueStep(_Model):
    """Wait for an agent in the region's queue (its desk in flows/desks/). The caller hears their
    place and the estimated wait on joining and every `announce_every` seconds, with hold music
    (or quiet) in between. Pressing `offer_key` books a call back without losing the place; the
    offer is announced once the estimated wait passes `offer_over` seconds or the caller has waited
    `offer_after` seconds. Callers matching any of `first` wait ahead of the others. A full queue
    (`max_size`), or a desk that has closed, sends the caller to `overflow`."""

    kind: Literal["queue"]
    prompts: list[str] = ["queue_joining"]  # said once, on joining
    announce_every: int = Field(default=45, ge=10, le=600)
    hold_music: str | None = None  # a URL Twilio can <Play>; none: quiet between announcements
    offer_key: str = Field(default="1", pattern=r"^[0-8*#]$")
    offer_over: int = Field(default=300, ge=0, le=7200)
    offer_after: int = Field(default=180, ge=0, le=7200)
    max_size: int = Field(default=25, ge=1, le=1000)
    first: list[Condition] = []
    connected: str  # after the conversation with the agent
    callback: str  # the caller pressed offer_key: usually a callback_offer step
    overflow: str  # the queue is full or the desk has closed


CALLBACK_PROMPTS = ("callback_confirm_number", "callback_key_number", "callback_number_unusable",
                    "callback_number_invalid", "callback_number_premium", "callback_number_foreign",
                    "callback_booked_soon", "callback_booked_opening", "callback_keep_place", "weekdays")


class CallbackOfferStep(_Model):
    """Book a call back. The caller confirms the number they are calling from or keys in another,
    which must be a valid number, not premium rate, in the region's own country or one of
    `countries` (else they hear why and may try again, `retries` times). Then they hear when to
    expect the call: as soon as it is their turn within opening hours, or the next opening."""

    kind: Literal["callback_offer"]
    keys_only: str | None = None  # why this question hears keys only where the region could hear words
    countries: list[str] = []  # ISO codes callbacks may also go to, besides the region's own country
    retries: int = Field(default=2, ge=0, le=5)
    timeout: int = Field(default=10, ge=3, le=30)
    booked: str
    declined: str  # no number was agreed


class CancelCallbackStep(_Model):
    """Cancel the caller's pending call backs (their number, their ticket) and say so."""

    kind: Literal["cancel_callback"]
    prompts: list[str] = ["callback_cancelled"]
    next: str


Step = Annotated[
    SayStep | LanguageStep | MenuStep | ConsentStep | RouteStep | TicketStep | StartRecordingStep | HangupStep
    | GotoStep | TransferStep | FreezeStep | CallbackStep | ListenStep | QueueStep | CallbackOfferStep
    | CancelCallbackStep,
    Field(discriminator="kind"),
]
STEP_KINDS = ("say", "language", "menu", "consent", "route", "ticket", "start_recording", "hangup", "goto",
              "transfer", "freeze", "callback", "listen", "queue", "callback_offer", "cancel_callback")


def exits(step) -> list[tuple[str, str]]:
    """Every (label, target step) edge leaving a step, for linting and graph walks."""
    match step:
        case MenuStep():
            return [(f"option {k}", o.next) for k, o in step.options.items()] + [("on_fail", step.on_fail)]
        case ConsentStep():
            return [("given", step.given), ("declined", step.declined)]
        case RouteStep():
            return [(f"branch {i + 1}", b.next) for i, b in enumerate(step.branches)] + [("default", step.default)]
        case HangupStep():
            return []
        case SayStep() if step.keys:
            return [(f"key {k}", target) for k, target in step.keys.items()] + [("next", step.next)]
        case TransferStep():
            return [("connected", step.connected), ("unanswered", step.unanswered)]
        case ListenStep():
            return [("next", step.next), ("on_fail", step.on_fail)]
        case QueueStep():
            return [("connected", step.connected), ("callback", step.callback), ("overflow", step.overflow)]
        case CallbackOfferStep():
            return [("booked", step.booked), ("declined", step.declined)]
        case _:
            return [("next", step.next)]


def prompt_keys(step) -> list[str]:
    """Every prompt key a step may speak (language menus use 'language_option' in each language)."""
    match step:
        case SayStep() | MenuStep() | HangupStep() | CancelCallbackStep():
            return list(step.prompts)
        case QueueStep():
            return [*step.prompts, *QUEUE_PROMPTS]
        case CallbackOfferStep():
            return list(CALLBACK_PROMPTS)
        case TransferStep():
            return [*step.prompts, *step.hold, *((*step.received, *step.confirmed) if step.freeze_key else ())]
        case FreezeStep():
            return [*step.received, *step.confirmed]
        case ListenStep():
            return [*step.prompts, *step.again, "confirm_intent", "confirm_urgent", *INTENT_PROMPTS]
        case ConsentStep():
            return [*step.ask, *step.notice]
        case LanguageStep():
            return ["language_option"]
        case _:
            return []
