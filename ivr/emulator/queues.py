"""The account's call queues (<Enqueue>): who waits where, in order; and the bridge a
<Dial><Queue> makes with the caller at the front."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ivr.emulator.sids import new_sid


@dataclass
class Bridge:
    """A <Dial><Queue> on another call took the caller at the front of the queue. `at`: the
    account's time then, when known; otherwise `ring_wall` (when that call was created, real time)
    and `after` (its own seconds when it took the caller) place it."""

    number: str
    call_sid: str
    ring_wall: float
    after: float
    talk_seconds: float
    at: float | None = None
    taken: threading.Event = field(default_factory=threading.Event)


class Queues:
    def __init__(self):
        self._members: dict[str, list[str]] = {}  # queue name -> CallSids, front first
        self._sids: dict[str, str] = {}
        self._bridges: dict[str, Bridge] = {}  # CallSid of a caller taken from a queue -> the bridge
        self._lock = threading.Lock()

    def join(self, name: str, call_sid: str) -> str:
        with self._lock:
            self._members.setdefault(name, []).append(call_sid)
            return self._sids.setdefault(name, new_sid("QU"))

    def leave(self, name: str, call_sid: str) -> None:
        with self._lock:
            members = self._members.get(name, [])
            if call_sid in members:
                members.remove(call_sid)

    def position(self, name: str, call_sid: str) -> tuple[int, int]:
        """(1-based position of the call, queue size)."""
        with self._lock:
            members = self._members.get(name, [])
            return (members.index(call_sid) + 1 if call_sid in members else 0), len(members)

    def take_front(self, name: str, bridge: Bridge) -> str | None:
        """A <Dial><Queue>: bridge the front caller who is not already taken; their CallSid, or None."""
        with self._lock:
            for call_sid in self._members.get(name, []):
                if call_sid not in self._bridges:
                    self._bridges[call_sid] = bridge
                    return call_sid
            return None

    def bridge_for(self, call_sid: str) -> Bridge | None:
        """The bridge waiting for this queued caller, taken off the list."""
        with self._lock:
            return self._bridges.pop(call_sid, None)

    def bridged(self, call_sid: str) -> bool:
        with self._lock:
            return call_sid in self._bridges

    def join_sid(self, name: str) -> str:
        with self._lock:
            return self._sids.setdefault(name, new_sid("QU"))
