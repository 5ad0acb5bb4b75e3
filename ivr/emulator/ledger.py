"""What the emulated Twilio account holds: calls and recordings, shared by the voice side and REST."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate

from ivr.emulator.sids import new_sid

API_VERSION = "2010-04-01"


@dataclass
class RecordingEntry:
    sid: str
    call_sid: str
    source: str  # StartCallRecordingAPI, RecordVerb, ...
    status: str = "in-progress"  # in-progress, paused, stopped, completed, absent, deleted
    channels: int = 2
    track: str = "both"  # inbound, outbound, both
    # What the latest REST pause does to the paused span: "skip" (cut it) or "silence"; None until paused.
    pause_behavior: str | None = None
    started_at: float = 0.0
    duration: int | None = None
    audio: bytes = b""  # WAV
    created: str = field(default_factory=lambda: formatdate(usegmt=True))


@dataclass
class CallEntry:
    sid: str
    to: str
    from_: str
    direction: str
    status: str = "queued"
    answered_by: str | None = None
    duration: int | None = None
    created: str = field(default_factory=lambda: formatdate(usegmt=True))
    created_at: float = field(default_factory=time.time)
    created_wall: float = field(default_factory=time.monotonic)
    # A REST update waiting to take over the live call: ("url", url, method) or ("twiml", text) or ("status", s).
    pending: tuple | None = None
    pending_at: float | None = None  # time.monotonic() when the REST update arrived
    # The account's time when it was made (during another call's webhook): it takes effect no earlier
    pending_due: float | None = None
    start: float | None = None  # a REST-created call: the account's time when it was created, if known


class Ledger:
    """Thread-safe store of the account's calls and recordings."""

    def __init__(self, account_sid: str):
        self.account_sid = account_sid
        self.calls: dict[str, CallEntry] = {}
        self.recordings: dict[str, RecordingEntry] = {}
        self.messages: list[dict] = []  # SMS sent through the REST API, oldest first
        self.lock = threading.RLock()

    def add_call(self, entry: CallEntry) -> CallEntry:
        with self.lock:
            self.calls[entry.sid] = entry
        return entry

    def add_recording(self, call_sid: str, source: str, started_at: float, channels: int = 2) -> RecordingEntry:
        entry = RecordingEntry(sid=new_sid("RE"), call_sid=call_sid, source=source, started_at=started_at,
                               channels=channels)
        with self.lock:
            self.recordings[entry.sid] = entry
        return entry

    def complete_recording(self, sid: str, audio: bytes, duration: int) -> RecordingEntry:
        """The recording is stored: its WAV becomes downloadable and it can be deleted."""
        with self.lock:
            entry = self.recordings[sid]
            entry.status, entry.audio, entry.duration = "completed", audio, duration
        return entry

    def current_recording(self, call_sid: str) -> list[RecordingEntry]:
        with self.lock:
            return [r for r in self.recordings.values()
                    if r.call_sid == call_sid and r.status in ("in-progress", "paused")]

    def recording_url(self, sid: str) -> str:
        return f"https://api.twilio.com/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{sid}"

    def take_pending(self, call_sid: str, now: float | None = None) -> tuple | None:
        """The REST update waiting for this call, once the call's time (`now`) has reached it."""
        with self.lock:
            entry = self.calls.get(call_sid)
            if entry is None or entry.pending is None:
                return None
            if now is not None and entry.pending_due is not None and now < entry.pending_due:
                return None
            pending, entry.pending = entry.pending, None
            return pending

    def pending_due(self, call_sid: str) -> float | None:
        """When the REST update waiting for this call takes effect (None: none waiting, or at once)."""
        with self.lock:
            entry = self.calls.get(call_sid)
            return entry.pending_due if entry is not None and entry.pending is not None else None
