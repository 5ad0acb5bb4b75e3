"""What happens on a call, as records: the call row, its timeline, consents, its ticket. `db` is a
session, or a webhook's ledger (ivr/calls/ledger.py), which hands the records to the writer."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.calls import tickets
from ivr.calls.callers import Caller
from ivr.core.actions import ConsentRecorded, Note, StartRecording, UpdateTicket
from ivr.core.state import CallState
from ivr.db.models import Call, CallEvent, Consent, Ticket
from ivr.redaction.secrets import redact_text

FINAL_STATUSES = ("completed", "busy", "failed", "no-answer", "canceled")


@dataclass(frozen=True)
class Arrival:
    """The facts of an inbound call as Twilio reported them."""

    call_sid: str
    to: str
    caller: Caller
    stir_verstat: str | None = None
    callback: bool = False  # a call back we placed, answered (not a call the caller made)


def find_call(db: Session, call_sid: str) -> Call | None:
    return db.scalars(select(Call).where(Call.call_sid == call_sid)).first()


CALLER_WORDS = ("text", "transcript")  # timeline details that hold what the caller said


def note(db: Session, call: Call, kind: str, now: datetime, **detail) -> None:
    """One entry on the call's timeline. What the caller said is kept only with its secrets (a seed
    phrase, a one-time code, a password...) taken out."""
    for key in CALLER_WORDS:
        if isinstance(detail.get(key), str):
            detail[key] = caller_words(call, detail[key])
    db.add(CallEvent(call=call, at=now, kind=kind, detail=detail))


def caller_words(call: Call, text: str) -> str:
    """`text` as it may be kept: redacted in the call's language (the ticket number read back stays)."""
    known = [call.ticket.reference] if call.ticket is not None else []
    return redact_text(text, call.language or "en", known)


IDENTITY_CHARS = 255  # calls.from_number and to_number: a SIP or client identity can be long
VERSTAT_CHARS = 64


def start_call(db: Session, arrival: Arrival, region: str | None, flow_version: str | None,
               ticket: Ticket | None, now: datetime) -> Call:
    """The call's row. A caller ID or number too long for its column (a SIP URI of any length) is
    clipped, and said so on the timeline, rather than costing the caller their call."""
    caller = arrival.caller
    from_number, to_number = clip(caller.number or caller.raw, IDENTITY_CHARS), clip(arrival.to, IDENTITY_CHARS)
    call = Call(call_sid=arrival.call_sid, ticket=ticket, region=region, from_number=from_number,
                to_number=to_number, caller_country=caller.country, caller_withheld=caller.withheld,
                stir_verstat=clip(arrival.stir_verstat, VERSTAT_CHARS), flow_version=flow_version,
                direction="outbound" if arrival.callback else "inbound", status="in-progress", started_at=now)
    db.add(call)
    clipped = {"clipped": [name for name, kept, given in (("from", from_number, caller.number or caller.raw),
                                                          ("to", to_number, arrival.to)) if kept != given]}
    note(db, call, "answered", now, to=to_number, caller_country=caller.country, withheld=caller.withheld,
         stir_verstat=call.stir_verstat, **(clipped if clipped["clipped"] else {}))
    return call


def clip(value: str | None, chars: int) -> str | None:
    return value[:chars] if value is not None else None


def record_outcome(db: Session, call: Call, state: CallState, actions, now: datetime) -> None:
    """Write the engine's notes, consent, recording start and ticket changes for one step."""
    call.language = state.language
    if call.ticket is not None:
        call.ticket.language = state.language
    for action in actions:
        match action:
            case Note(kind=kind, detail=detail):
                note(db, call, kind, now, **detail)
            case ConsentRecorded():
                _record_consent(db, call, action, now)
            case StartRecording():
                call.recording_started_at = now
                note(db, call, "recording_started", now)
            case UpdateTicket(changes=changes) if call.ticket is not None:
                changed = tickets.update(call.ticket, dict(changes), now)
                note(db, call, "ticket_updated", now, reference=call.ticket.reference, **changed)
                if changed.get("priority") == "P1":
                    note(db, call, "security_brief", now, **security_brief(call, state, now))


def _record_consent(db: Session, call: Call, consent: ConsentRecorded, now: datetime) -> None:
    call.consent = consent.outcome
    db.add(Consent(call=call, ticket_id=call.ticket_id, region=call.region or "", policy=consent.policy,
                   outcome=consent.outcome, method=consent.method, language=consent.language,
                   prompt_keys=",".join(consent.prompt_keys), prompt_version=consent.prompt_version, at=now))
    note(db, call, f"consent_{consent.outcome}", now, method=consent.method, policy=consent.policy,
         prompt_version=consent.prompt_version, language=consent.language)


def security_brief(call: Call, state: CallState, now: datetime) -> dict:
    """What the security team needs first about an urgent call."""
    return {"ticket": call.ticket.reference if call.ticket else None, "region": call.region,
            "language": state.language, "caller": None if call.caller_withheld else call.from_number,
            "caller_country": call.caller_country, "caller_verification": call.stir_verstat,
            "trigger": state.urgent, "transcript": caller_words(call, state.transcript) or None,
            "at": now.isoformat(timespec="seconds")}


def end_call(db: Session, call: Call, status: str, duration: int | None, now: datetime) -> None:
    if call.ended_at is not None:
        return  # a repeated or late final callback changes nothing
    call.status = status
    call.ended_at = now
    call.duration_seconds = duration


E164 = re.compile(r"\+[1-9][0-9]{4,14}")


def caller_number(call: Call) -> str | None:
    """The number to call the caller back on: theirs, in E.164, unless withheld or not a phone."""
    if call.caller_withheld or not E164.fullmatch(call.from_number or ""):
        return None
    return call.from_number
