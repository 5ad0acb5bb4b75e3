"""A call's timeline as a QA reviewer reads it: each event the call left (ivr/calls/records.py and
the capabilities' notes) as one line in words, with its time from the start of the call, grouped
by what it is about (consent, menus, speech, transfers, the queue, call backs, recording).

An event kind not known here still shows, as its name and details, so nothing a capability notes
is ever hidden from review; every phone number in it is masked.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ivr.db.models import CallEvent
from ivr.qa.masking import mask_numbers_in

HIDDEN_DETAIL = {"url", "path", "agent_call"}  # long and of no use to a reviewer (the path is on the diagram)


@dataclass(frozen=True)
class TimelineEntry:
    id: int
    at: datetime
    offset_seconds: int
    kind: str
    topic: str  # call, consent, menu, speech, security, transfer, queue, callback, recording, ticket, flow, error
    text: str
    detail: str  # the event's other facts, masked


def _quote(text) -> str:
    return f"“{text}”" if text else "nothing"


def _step(d: dict) -> str:
    return f" at {d['step']}" if d.get("step") else ""


def _recording(status: str) -> Callable[[dict], str]:
    def say(d: dict) -> str:
        seconds = f", {d['duration']} s" if d.get("duration") else ""
        return f"Recording {d.get('recording_sid') or ''} {status}{seconds}".replace("  ", " ")
    return say


def _size(d: dict) -> str:
    size = d.get("bytes")
    return f"{size / 1024:.0f} KiB" if isinstance(size, int) else "size unknown"


def _redacted(d: dict) -> str:
    kinds = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(d.items())
                      if k not in ("recording_sid", "spans") and isinstance(v, int))
    return f"Recording redacted: {d.get('spans')} span(s) toned out" + (f" ({kinds})" if kinds else "")


def _by(d: dict) -> str:
    return (f" by {d['by']}" if d.get("by") else "") + (f": {d['reason']}" if d.get("reason") else "")


SENTENCES: dict[str, tuple[str, Callable[[dict], str]]] = {
    "answered": ("call", lambda d: "Answered" + (f" (a call back to {d['to']})" if d.get("callback") else "")
                 + (f"; caller ID verification {d['stir_verstat']}" if d.get("stir_verstat") else "")),
    "unsupported_number": ("call", lambda d: f"Dialed {d.get('to')}: no region answers this number"),
    "region": ("flow", lambda d: f"Region {d.get('region')}, flow version {d.get('flow_version')}"),
    "hours": ("flow", lambda d: {"open": "Open", "closed": "Closed", "holiday": f"Closed: {d.get('holiday')}"}
              .get(d.get("state"), str(d.get("state"))) + f" (local time {d.get('local_time', '')[11:16]})"),
    "language": ("menu", lambda d: f"Language {d.get('language')} chosen by {d.get('method')}"),
    "ticket_opened": ("ticket", lambda d: f"Ticket {d.get('reference')} opened"),
    "ticket_joined": ("ticket", lambda d: f"Rejoined ticket {d.get('reference')}"),
    "ticket_updated": ("ticket", lambda d: "Ticket " + ", ".join(f"{k} {v}" for k, v in d.items() if k != "reference")),
    "consent_given": ("consent", lambda d: f"Consent given by {d.get('method')} ({d.get('policy')} policy, "
                                          f"in {d.get('language')}, prompts {d.get('prompt_version')})"),
    "consent_declined": ("consent", lambda d: f"Consent declined by {d.get('method')} ({d.get('policy')} policy, "
                                              f"in {d.get('language')}, prompts {d.get('prompt_version')})"),
    "consent_notice": ("consent", lambda d: f"Told the call is recorded ({d.get('policy')} policy, "
                                            f"in {d.get('language')}, prompts {d.get('prompt_version')})"),
    "recording_started": ("recording", lambda d: "Recording started"),
    "recording_refused": ("recording", lambda d: f"Recording refused{_step(d)}: consent {d.get('consent')}"),
    "route": ("flow", lambda d: f"Route{_step(d)}: branch {d.get('branch')} → {d.get('next')}"),
    "menu": ("menu", lambda d: f"Pressed {d.get('key') or 'nothing'}{_step(d)}"
                               + "".join(f"; {k} = {v}" for k, v in (d.get("set") or {}).items())),
    "key": ("menu", lambda d: f"Pressed {d.get('key')}{_step(d)} → {d.get('next')}"),
    "keypad_chosen": ("menu", lambda d: f"Chose the keypad{_step(d)}"),
    "no_input": ("menu", lambda d: f"No answer{_step(d)} (attempt {d.get('attempt')})"),
    "invalid_choice": ("menu", lambda d: f"Wrong key {d.get('digits') or ''}{_step(d)} (attempt {d.get('attempt')})"),
    "gave_up": ("menu", lambda d: f"Gave up{_step(d)}"),
    "intent": ("speech", lambda d: f"Heard {_quote(d.get('text'))} → {d.get('intent')} "
                                   f"(confidence {d.get('confidence')}, {d.get('source')})"),
    "intent_unsure": ("speech", lambda d: f"Unsure of {_quote(d.get('text'))} → {d.get('intent')} "
                                          f"(confidence {d.get('confidence')}): asked to confirm"),
    "intent_confirmed": ("speech", lambda d: f"Caller confirmed {d.get('intent')} by {d.get('method')}"),
    "intent_rejected": ("speech", lambda d: f"Caller said it was not {d.get('intent')} ({d.get('method')})"),
    "not_understood": ("speech", lambda d: f"Not understood: {_quote(d.get('text'))} "
                                           f"(confidence {d.get('confidence')})"),
    "listen_unavailable": ("speech", lambda d: "No recogniser for this language: on to the keypad"),
    "urgent": ("security", lambda d: f"Urgent path ({d.get('trigger', '').replace('_', ' ')})"
                                     + (f" from {d['from_step']}" if d.get("from_step") else "")),
    "security_brief": ("security", lambda d: f"Security brief: ticket {d.get('ticket')}, {d.get('region')}, "
                       f"{d.get('language')}, trigger {d.get('trigger')}"
                       + (f", said {_quote(d.get('transcript'))}" if d.get("transcript") else "")),
    "transfer_ringing": ("transfer", lambda d: f"Ringing {d.get('agent')} ({d.get('team')}), "
                                               f"attempt {d.get('attempt')}"),
    "transfer_attempt": ("transfer", lambda d: f"Agent {d.get('agent')}: {d.get('outcome')} "
                                               f"(attempt {d.get('attempt')})"),
    "transfer_accepted": ("transfer", lambda d: f"Agent accepted (attempt {d.get('attempt')})"),
    "transfer_declined": ("transfer", lambda d: f"Agent declined (attempt {d.get('attempt')})"),
    "transfer_unanswered": ("transfer", lambda d: f"Nobody accepted after {d.get('attempts')} attempts"),
    "freeze_requested": ("security", lambda d: "Account freeze requested"),
    "page_opened": ("security", lambda d: f"Paged {d.get('team')}"),
    "queue_joined": ("queue", lambda d: f"Joined {d.get('desk')} at place {d.get('position')} ({d.get('band')})"),
    "queue_rejoined": ("queue", lambda d: f"Back in {d.get('desk')} at place {d.get('position')}"),
    "queue_full": ("queue", lambda d: f"{d.get('desk')} was full"),
    "queue_closed": ("queue", lambda d: f"{d.get('desk')} had closed"),
    "queue_agent_free": ("queue", lambda d: f"{d.get('agent')} free after {d.get('waited')} s waiting"),
    "agent_missed": ("queue", lambda d: f"{d.get('agent')} missed the call ({d.get('status')})"),
    "agent_conversation": ("queue", lambda d: f"Talked with {d.get('agent')} for {d.get('seconds')} s"),
    "queue_left": ("queue", lambda d: f"Left the queue ({d.get('reason')})"),
    "queue_hangup": ("queue", lambda d: "Hung up while waiting"),
    "callback_chosen": ("callback", lambda d: "Chose a call back"),
    "callback_booked": ("callback", lambda d: f"Call back booked for {d.get('when')}"),
    "callback_requested": ("callback", lambda d: f"Call back requested ({d.get('priority')})"),
    "callback_cancelled": ("callback", lambda d: "Pending call backs cancelled"),
    "callback_number_refused": ("callback", lambda d: f"Call back number refused: {d.get('problem')}"),
    "recording_stored": ("recording", lambda d: f"Recording stored ({_size(d)}, {d.get('format') or 'audio'}, "
                                                f"{d.get('storage')} store"
                                                + (", the original kept encrypted)" if d.get("encrypted_original")
                                                   else ")")),
    "recording_transcribed": ("recording", lambda d: f"Recording transcribed: {d.get('channels')} channel(s), "
                                                     f"{d.get('words')} words"),
    "recording_not_transcribed": ("recording", lambda d: f"Recording not transcribed ({d.get('reason')}): "
                                                         "not redacted"),
    "recording_redacted": ("recording", _redacted),
    "recording_failed": ("recording", lambda d: f"Recording could not be stored: {d.get('reason')}"),
    "recording_deleted_at_twilio": ("recording", lambda d: "Twilio's copy of the recording deleted"
                                    + (" (already gone)" if d.get("already_gone") else "")),
    "recording_purged": ("recording", lambda d: f"Recording purged{_by(d)}"),
    "recording_deleted": ("recording", lambda d: f"Recording deleted on request{_by(d)}"),
    "original_exported": ("recording", lambda d: f"Unredacted original exported{_by(d)}"),
    "legal_hold_placed": ("recording", lambda d: f"Legal hold placed on the ticket{_by(d)}"),
    "legal_hold_released": ("recording", lambda d: f"Legal hold released{_by(d)}"),
    "end": ("call", lambda d: f"Ended: {d.get('status')}" + (f" at {d['step']}" if d.get("step") else "")),
    "webhook_error": ("error", lambda d: "An error: the caller heard the apology"),
}


def timeline(events: Sequence[CallEvent], started_at: datetime) -> list[TimelineEntry]:
    """The call's events in words. A transfer attempt names the agent as the ringing did."""
    ringing = {e.detail.get("attempt"): e.detail.get("agent") for e in events if e.kind == "transfer_ringing"}
    entries = []
    for event in events:
        detail = dict(event.detail or {})
        if event.kind == "transfer_attempt" and ringing.get(detail.get("attempt")):
            detail["agent"] = ringing[detail["attempt"]]
        entries.append(entry(event, detail, started_at))
    return entries


def entry(event: CallEvent, detail: dict, started_at: datetime) -> TimelineEntry:
    """One event; its details are listed as well when it is of a kind this module has no words for."""
    kind = event.kind
    rest = ""
    if kind in SENTENCES:
        topic, say = SENTENCES[kind]
        text = say(detail)
    elif kind.startswith("recording_"):
        topic, text = "recording", _recording(kind.removeprefix("recording_").replace("-", " "))(detail)
    elif kind.startswith("freeze_"):
        topic, text = "security", f"Account freeze {kind.removeprefix('freeze_')}"
    else:
        topic, text = "other", kind.replace("_", " ").capitalize()
        rest = "; ".join(f"{k}: {v}" for k, v in sorted(detail.items())
                         if k not in HIDDEN_DETAIL and v not in (None, ""))
    offset = int((_comparable(event.at) - _comparable(started_at)).total_seconds())
    return TimelineEntry(id=event.id, at=event.at, offset_seconds=max(offset, 0), kind=kind, topic=topic,
                         text=mask_numbers_in(text), detail=mask_numbers_in(rest)[:400])


def _comparable(moment: datetime) -> datetime:
    """Naive UTC (SQLite gives times back without their zone; they were written in UTC)."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)
