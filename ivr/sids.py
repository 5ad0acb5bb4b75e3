"""Twilio SIDs, checked by shape in one place before one reaches a URL, a key or a log.

A SID is two letters naming its kind (CA a call, RE a recording, AC an account ...) and 32
lowercase hex digits. Anything else taken from a request (a stream's `start.callSid`, a
RecordingSid) is refused here, so `CAx/../../IncomingPhoneNumbers/PN...` never reaches a REST path.
"""
from __future__ import annotations

import re

from ivr.errors import IvrError

SHAPE = re.compile(r"[A-Z]{2}[0-9a-f]{32}")
KINDS = {"AC": "account", "CA": "call", "RE": "recording", "PN": "phone number", "SM": "message", "MZ": "stream",
         "QU": "queue", "CF": "conference"}


class BadSid(IvrError, ValueError):
    """A value that should be a Twilio SID of some kind is not one."""


def is_sid(value: object, kind: str) -> bool:
    """Whether `value` is a SID of `kind` ('CA', 'RE', 'AC' ...)."""
    return isinstance(value, str) and value.startswith(kind) and SHAPE.fullmatch(value) is not None


def checked_sid(value: object, kind: str) -> str:
    """`value` if it is a SID of `kind`; BadSid (whose message shows a safe prefix of it) if not."""
    if not is_sid(value, kind):
        shown = repr(value)[:40] if isinstance(value, str) else type(value).__name__
        raise BadSid(f"not a {KINDS.get(kind, kind)} SID ({kind} and 32 hex digits): {shown}")
    return value
