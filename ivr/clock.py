"""Where every process of the service gets the time.

Hours, holidays, the on-call rota, call backs, pages and retention all depend on what time it is,
so no module reads the system clock itself: each takes the runtime's clock. A process's clock is
chosen by IVR_CLOCK:

    system                       the system clock (the default; the only one for a live line)
    fixed:2026-11-24T10:00Z      always that moment (demos, training lines)
    file:/path/to/clock          the moment written in that file (an ISO time), read on every call;
                                 the system clock while the file is missing or empty. Tests and
                                 `ivr call` move it, and every process reading the file (web,
                                 workers, the CLI) sees the same time.

RQ's own bookkeeping (worker heartbeats, job timeouts) runs on the system clock: that is how long
a process has really been silent. When a job is *due* is service time, decided by this clock
(see ivr.jobs and ivr.worker).
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.errors import SettingsError

Clock = Callable[[], datetime]


def system_now() -> datetime:
    return datetime.now(UTC)


class FixedClock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


class FileClock:
    """The time written in a file (by a SettableClock in another process), else the system time."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def __call__(self) -> datetime:
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return system_now()
        return parse_moment(text) if text else system_now()


class SettableClock:
    """A clock someone sets: a test, or `ivr call --at`. With `shared_as`, every change is also
    written to that file, so processes started with IVR_CLOCK=file:<path> keep the same time."""

    def __init__(self, now: datetime | None = None, shared_as: Path | None = None):
        self.shared_as = Path(shared_as) if shared_as else None
        self.now: datetime | None = None
        self.set_moment(now)

    def __call__(self) -> datetime:
        return self.now or system_now()

    def set_moment(self, moment: datetime | None) -> None:
        self.now = moment
        if self.shared_as is not None:
            _write_atomically(self.shared_as, moment.isoformat() if moment else "")

    def set(self, local: str, zone: str) -> None:
        """It is `local` (ISO, without offset) in timezone `zone`."""
        self.set_moment(datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)))

    def advance(self, seconds: float = 0, **delta) -> datetime:
        """Move the clock on (from the system time if it was not set)."""
        self.set_moment(self() + timedelta(seconds=seconds, **delta))
        return self.now

    def reset(self) -> None:
        """Back to the system clock."""
        self.set_moment(None)

    @property
    def spec(self) -> str:
        """The IVR_CLOCK value that gives another process this clock."""
        if self.shared_as is None:
            raise ValueError("this clock is not shared with other processes (no shared_as file)")
        return f"file:{self.shared_as}"


def clock_from(spec: str) -> Clock:
    """The clock an IVR_CLOCK value names (see the module docstring)."""
    kind, _, value = spec.partition(":")
    if kind == "system" and not value:
        return system_now
    if kind == "fixed" and value:
        return FixedClock(parse_moment(value))
    if kind == "file" and value:
        return FileClock(Path(value))
    raise SettingsError(f"IVR_CLOCK must be system, fixed:<ISO time with offset> or file:<path>, got {spec!r}")


def parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SettingsError(f"{text!r} is not an ISO time like 2026-11-24T10:00:00+00:00") from None
    if moment.tzinfo is None:
        raise SettingsError(f"{text!r} has no UTC offset; write it like 2026-11-24T10:00:00+00:00")
    return moment


def _write_atomically(path: Path, text: str) -> None:
    """Readers in other processes never see a half-written time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".clock-")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(temporary, path)
