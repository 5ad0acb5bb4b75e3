"""The account's call queues (<Enqueue>): who waits where, in order."""
from __future__ import annotations

import threading

from ivr.emulator.sids import new_sid


class Queues:
    def __init__(self):
        self._members: dict[str, list[str]] = {}  # queue name -> CallSids, front first
        self._sids: dict[str, str] = {}
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
