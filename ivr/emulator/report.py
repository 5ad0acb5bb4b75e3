"""What one emulated call showed: the conversation, the path through the flow, the ticket, warnings;
printed for a person, and checked against a scenario's expectations."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.audio.timing import speaking_seconds
from ivr.callbacks.booking import utc
from ivr.db.models import Call, CallbackRequest
from ivr.emulator import EmulatedCall
from ivr.emulator.scenarios import Expect

LONG_PROMPT = 30.0  # seconds; a caller stops listening long before this


@dataclass
class CallReport:
    call: EmulatedCall
    region: str | None = None
    language: str | None = None
    consent: str | None = None
    path: list[str] = field(default_factory=list)
    ticket: str | None = None
    ticket_status: str | None = None
    ticket_category: str | None = None
    ticket_priority: str | None = None
    found_in_database: bool = False
    warnings: list[str] = field(default_factory=list)
    callback: dict | None = None  # the call back booked on this call: status, number, attempts, due (local)
    callback_calls: list[EmulatedCall] = field(default_factory=list)  # the calls placed for it
    agent_calls: list[EmulatedCall] = field(default_factory=list)  # agents rung through the REST API for it


def build_report(call: EmulatedCall, sessions: sessionmaker[Session] | None,
                 callback_calls: list[EmulatedCall] = (), flows=None,
                 agent_calls: list[EmulatedCall] = ()) -> CallReport:
    report = CallReport(call=call, callback_calls=list(callback_calls), agent_calls=list(agent_calls))
    if sessions is not None:
        report.callback = _callback(sessions, call, flows)
        with sessions() as db:
            row = db.scalars(select(Call).where(Call.call_sid == call.sid)).first()
            if row is not None:
                report.found_in_database = True
                report.region, report.language, report.consent = row.region, row.language, row.consent
                ends = [e.detail for e in row.events if e.kind == "end" and e.detail.get("path")]
                report.path = list(ends[0]["path"]) if ends else []
                if row.ticket is not None:
                    t = row.ticket
                    report.ticket, report.ticket_status = t.reference, t.status
                    report.ticket_category, report.ticket_priority = t.category, t.priority
    report.warnings = _warnings(call, report)
    return report


def _callback(sessions, call: EmulatedCall, flows) -> dict | None:
    """The newest call back booked on the call (or, for a caller who cancelled, theirs), with its
    due time in the region's timezone when the flows are known."""
    with sessions() as db:
        row = db.scalars(select(Call).where(Call.call_sid == call.sid)).first()
        query = select(CallbackRequest).order_by(CallbackRequest.id.desc())
        request = db.scalars(query.where(CallbackRequest.call_id == row.id)).first() if row else None
        if request is None and row is not None and row.from_number:
            request = db.scalars(query.where(CallbackRequest.number == row.from_number)).first()
        if request is None:
            return None
        flow = flows.flows.get(request.region) if flows is not None else None
        zone = flow.hours.zone if flow is not None else UTC
        return {"id": request.id, "status": request.status, "number": request.number, "attempts": request.attempts,
                "due": utc(request.due_at).astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
                "last_outcome": request.last_outcome}


def _warnings(call: EmulatedCall, report: CallReport) -> list[str]:
    warnings = [h.text for h in call.transcript if h.kind == "warning"]
    for line in call.transcript:
        seconds = speaking_seconds(line.text) if line.kind == "say" else 0
        if seconds > LONG_PROMPT:
            warnings.append(f"a prompt lasts about {seconds:.0f} s (over {LONG_PROMPT:.0f} s): “{line.text[:60]}…”")
    if call.heard_stock_error:
        warnings.append("the caller heard Twilio's stock error message")
    if call.ended_by == "no-more-verbs":
        warnings.append("dead end: the TwiML ran out of verbs and the call dropped without a goodbye")
    if any(h.kind == "error" for h in call.transcript) and not call.heard_stock_error:
        warnings.append("a webhook failed; the fallback URL answered")
    return warnings


ENDINGS = {"ivr-hangup": "the IVR hung up", "caller-hangup": "the caller hung up",
           "no-more-verbs": "the TwiML ran out (dead end)", "stock-error": "Twilio's stock error",
           "rest": "ended through the REST API", "not-answered": "not answered"}


def format_report(report: CallReport, title: str | None = None) -> str:
    call = report.call
    lines = []
    if title:
        lines.append(f"== {title}")
    where = f" ({report.region})" if report.region else ""
    lines.append(f"Call {call.sid} to {call.to}{where} from {call.from_}")
    for h in call.transcript:
        if h.kind == "say":
            who = f"IVR [{h.language}]" if h.language else "IVR"
        elif h.kind == "caller":
            who = "caller"
        else:
            who = h.kind
        lines.append(f"  {h.at:6.1f}s  {who:<13} {h.text}")
    if report.path:
        lines.append(f"Path:     {' > '.join(report.path)}")
    agents = [*call.legs, *report.agent_calls]  # <Dial> legs, and agents rung through the REST API
    for leg in agents:
        for h in leg.transcript:
            if h.kind in ("say", "caller"):
                who = "to agent" if h.kind == "say" else "agent"
                lines.append(f"          {leg.to} {who}: {h.text}")
    if agents:
        lines.append(f"Agents:   rang {', '.join(leg.to for leg in agents)}; connected to "
                     f"{', '.join(call.bridged_to) or 'nobody'}")
    lines.append(f"Ended:    {ENDINGS.get(call.ended_by, call.ended_by)} ({call.status}, {call.seconds:.0f} s)")
    if report.ticket:
        lines.append(f"Ticket:   {report.ticket} (status {report.ticket_status}, category "
                     f"{report.ticket_category or '-'}, priority {report.ticket_priority})")
    elif report.found_in_database:
        lines.append("Ticket:   none")
    else:
        lines.append("Ticket:   unknown (this call is not in the configured database)")
    if report.language or report.consent:
        lines.append(f"Language: {report.language or '-'}   consent: {report.consent or '-'}   "
                     f"recording: {call.recording_sid or 'none'}")
    if report.callback:
        cb = report.callback
        lines.append(f"Call back: {cb['status']}, to {cb['number']}, due {cb['due']} (local), "
                     f"{cb['attempts']} attempt(s)" + (f", last {cb['last_outcome']}" if cb["last_outcome"] else ""))
    for placed in report.callback_calls:
        lines.append(f"  call back {placed.sid} to {placed.to}: {placed.status}")
        for h in placed.transcript:
            if h.kind in ("say", "caller", "amd", "dial", "queue", "ringing"):
                who = "IVR" if h.kind == "say" else h.kind
                lines.append(f"  {h.at:6.1f}s  {who:<13} {h.text}")
    lines.append("Warnings: " + ("none" if not report.warnings else "\n          ".join(report.warnings)))
    return "\n".join(lines)


def check(expect: Expect, report: CallReport) -> list[str]:
    """Every way the call differs from what the scenario expects (empty when it passes)."""
    call = report.call
    failures = []
    said = call.said
    position = 0
    for fragment in expect.heard:
        found = next((i for i in range(position, len(said)) if fragment in said[i]), None)
        if found is None:
            earlier = any(fragment in text for text in said[:position])
            failures.append(f"expected to hear “{fragment}”" + (" later in the call" if earlier else ""))
        else:
            position = found
    for fragment in expect.not_heard:
        if call.heard(fragment):
            failures.append(f"heard “{fragment}”, which should not be said")
    if call.heard_stock_error and expect.ended_by != "stock-error":
        failures.append("the caller heard Twilio's stock error message")
    if expect.ended_by and call.ended_by != expect.ended_by:
        failures.append(f"expected the call to end by {expect.ended_by}, it ended by {call.ended_by}")
    if expect.connected_to is not None:
        got = call.bridged_to[-1] if call.bridged_to else "nobody"
        if got != expect.connected_to:
            failures.append(f"expected the caller to be connected to {expect.connected_to}, got {got}")
    if expect.recording is not None and bool(call.recording_sid) != expect.recording:
        failures.append("expected a recording" if expect.recording else "expected no recording, but one started")
    needs_database = expect.language or expect.consent or expect.ticket or expect.path
    if needs_database and not report.found_in_database:
        failures.append("the call is not in the configured database: cannot check language, consent, ticket, path")
        return failures
    if expect.language and report.language != expect.language:
        failures.append(f"expected language {expect.language}, got {report.language}")
    if expect.consent and report.consent != expect.consent:
        failures.append(f"expected consent {expect.consent}, got {report.consent}")
    if expect.ticket == "none" and report.ticket:
        failures.append(f"expected no ticket, got {report.ticket}")
    elif expect.ticket not in (None, "none"):
        for name in ("status", "category", "priority"):
            wanted, got = getattr(expect.ticket, name), getattr(report, f"ticket_{name}")
            if wanted is not None and wanted != got:
                failures.append(f"expected ticket {name} {wanted}, got {got}")
    failures.extend(_check_callback(expect.callback, report))
    position = 0
    for step in expect.path:
        try:
            position = report.path.index(step, position) + 1
        except ValueError:
            failures.append(f"expected the path to pass {step!r} (path: {' > '.join(report.path) or 'none'})")
            break
    return failures


def _check_callback(expect, report: CallReport) -> list[str]:
    if expect is None:
        return []
    got = report.callback
    if expect == "none":
        return [f"expected no call back, got one to {got['number']} ({got['status']})"] if got else []
    if got is None:
        return ["expected a call back to be booked, none was"]
    failures = [f"expected the call back's {name} to be {wanted}, got {got[name]}"
                for name in ("status", "number", "attempts", "due")
                if (wanted := getattr(expect, name)) is not None and wanted != got[name]]
    said = [h.text for placed in report.callback_calls for h in placed.transcript if h.kind == "say"]
    position = 0
    for fragment in expect.heard:
        found = next((i for i in range(position, len(said)) if fragment in said[i]), None)
        if found is None:
            failures.append(f"expected the person called back to hear “{fragment}”")
        else:
            position = found
    if expect.connected_to is not None:
        reached = [n for placed in report.callback_calls for n in placed.bridged_to]
        if expect.connected_to not in reached:
            failures.append(f"expected the call back to reach {expect.connected_to}, it reached "
                            f"{', '.join(reached) or 'nobody'}")
    return failures
