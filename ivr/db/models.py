"""Durable records: tickets, calls, each call's timeline, and consents; the capabilities' own
records (the rota, call backs, pages, freeze requests, recordings with their transcripts); and the
QA reviewers' (users, scores, the hash-chained audit log)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    region: Mapped[str] = mapped_column(String(8))
    caller_number: Mapped[str | None] = mapped_column(String(32))
    caller_country: Mapped[str | None] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(32), default="open")
    category: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(8), default="P3")
    language: Mapped[str | None] = mapped_column(String(8))
    caller_verification: Mapped[str | None] = mapped_column(String(64))  # Twilio's StirVerstat
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    legal_hold: Mapped[dict | None] = mapped_column(JSON)  # {by, at, reason} while held: nothing is purged or deleted

    calls: Mapped[list[Call]] = relationship(back_populates="ticket", order_by="Call.started_at")

    __table_args__ = (Index("ix_tickets_caller_open", "caller_number", "status", "updated_at"),)


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(34), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    region: Mapped[str | None] = mapped_column(String(8))
    from_number: Mapped[str | None] = mapped_column(String(255))  # E.164, or a SIP/client identity (clipped)
    to_number: Mapped[str] = mapped_column(String(255))
    direction: Mapped[str | None] = mapped_column(String(16), default="inbound")  # or outbound (a call back)
    caller_country: Mapped[str | None] = mapped_column(String(2))
    caller_withheld: Mapped[bool] = mapped_column(Boolean, default=False)
    stir_verstat: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    flow_version: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="in-progress")
    consent: Mapped[str | None] = mapped_column(String(16))
    recording_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    rev: Mapped[int | None] = mapped_column(Integer)  # its webhook's count: an older copy never overwrites

    ticket: Mapped[Ticket | None] = relationship(back_populates="calls")
    events: Mapped[list[CallEvent]] = relationship(back_populates="call", order_by="CallEvent.id")
    consents: Mapped[list[Consent]] = relationship(back_populates="call", order_by="Consent.id")

    __table_args__ = (  # for finding calls to review (ivr/qa/search.py; migrations 0006 and 0007)
        Index("ix_calls_started", "started_at", "id"),
        Index("ix_calls_region_started", "region", "started_at"),
        Index("ix_calls_from_number", "from_number"),
        Index("ix_calls_ticket", "ticket_id"),
    )


class CallEvent(Base):
    """One line of a call's timeline."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    call: Mapped[Call] = relationship(back_populates="events")


class Consent(Base):
    """What the caller was told about recording, and what they answered."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    region: Mapped[str] = mapped_column(String(8))
    policy: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    prompt_keys: Mapped[str] = mapped_column(Text)
    prompt_version: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    call: Mapped[Call] = relationship(back_populates="consents")


class OncallPerson(Base):
    """Someone on a security team's rota, as loaded from flows/oncall.yaml."""

    __tablename__ = "oncall_people"

    id: Mapped[int] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ux_oncall_people_team_key", "team", "key", unique=True),)


class OncallEntry(Base):
    """One line of a team's rota: a weekly handoff, a dated override, or the escalation list."""

    __tablename__ = "oncall_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # team, handoff, override, escalation
    weekday: Mapped[int | None] = mapped_column(Integer)  # handoff: 0 = Monday
    minute: Mapped[int | None] = mapped_column(Integer)  # handoff: minutes after local midnight
    starts: Mapped[str | None] = mapped_column(String(32))  # override: local ISO time
    ends: Mapped[str | None] = mapped_column(String(32))
    people: Mapped[list] = mapped_column(JSON, default=list)  # keys, in calling order
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # team: timezone, regions, language, version


ACTIVE_CALLBACK = ("pending", "calling")  # statuses of a call back still to be made (see ivr/callbacks/booking.py)


class CallbackRequest(Base):
    """A caller to be called back. Urgent security requests go first. At most one active request
    per number and ticket (a unique partial index): asking again updates it."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(32))  # names it in RQ jobs and Twilio URLs (unique)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))  # the call that asked for it
    region: Mapped[str] = mapped_column(String(8))
    desk: Mapped[str | None] = mapped_column(String(64))  # the queue the call back joins
    language: Mapped[str | None] = mapped_column(String(8))
    number: Mapped[str | None] = mapped_column(String(32))
    caller_id: Mapped[str | None] = mapped_column(String(32))  # our number the call back comes from
    priority: Mapped[int] = mapped_column(Integer)  # 0 = urgent security, then by order
    reason: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, calling, completed, failed, cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    last_outcome: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    attempts_made: Mapped[list[CallbackAttempt]] = relationship(back_populates="request",
                                                                  order_by="CallbackAttempt.attempt")

    __table_args__ = (
        Index("ix_callback_requests_due", "status", "priority", "due_at"),
        Index("ux_callback_requests_key", "key", unique=True),
        Index("ux_callback_requests_active", "number", "ticket_id", unique=True,
              sqlite_where=text("status IN ('pending', 'calling')"),
              postgresql_where=text("status IN ('pending', 'calling')")),
    )


class CallbackAttempt(Base):
    """One outbound call placed for a call back. `idempotency_key` makes placing it happen once:
    whoever inserts the row places the call; whoever finds it checks the call records first."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("callback_requests.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)  # 1, 2, ...
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    call_sid: Mapped[str | None] = mapped_column(String(34), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="placing")  # placing, placed, then Twilio's status
    answered_by: Mapped[str | None] = mapped_column(String(32))  # Twilio's AMD result
    outcome: Mapped[str | None] = mapped_column(String(32))  # answered, machine, no-answer, busy, failed
    owner: Mapped[str | None] = mapped_column(String(64))  # who is placing it (an RQ job), under a lease
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    placed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    request: Mapped[CallbackRequest] = relationship(back_populates="attempts_made")

    __table_args__ = (Index("ux_callback_attempts_request_attempt", "request_id", "attempt", unique=True),)


class Page(Base):
    """An alert to a security team, delivered by webhook (and SMS), until acknowledged or escalated."""

    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    team: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64))
    # pending, delivered, acknowledged, escalated, failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    level: Mapped[int] = mapped_column(Integer, default=0)  # 0 = on-call people, 1 = escalation list
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FreezeRequest(Base):
    """A caller's request to freeze their account, sent to the exchange's account system."""

    __tablename__ = "freeze_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)  # one per ticket: idempotent
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    caller_number: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="requested")  # requested, received, frozen, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


RECORDING_STATUSES = ("pending", "stored", "failed", "deleted")


class Recording(Base):
    """A call's recording: fetched from Twilio, checked, redacted, stored with its ticket. The
    two hashes are of Twilio's original (never kept unless encrypted) and of the stored copy."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sid: Mapped[str] = mapped_column(String(34), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    region: Mapped[str | None] = mapped_column(String(8))
    language: Mapped[str | None] = mapped_column(String(8))
    channels: Mapped[int] = mapped_column(Integer, default=2)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)  # Twilio's RecordingDuration
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, stored, failed, deleted
    reason: Mapped[str | None] = mapped_column(Text)  # why it failed or was deleted; the last retry's problem
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    storage: Mapped[str | None] = mapped_column(String(8))  # local or s3
    storage_key: Mapped[str | None] = mapped_column(String(255))
    format: Mapped[str | None] = mapped_column(String(16))  # ogg/opus
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    stored_sha256: Mapped[str | None] = mapped_column(String(64))
    source_bytes: Mapped[int | None] = mapped_column(Integer)
    stored_bytes: Mapped[int | None] = mapped_column(Integer)
    original_key: Mapped[str | None] = mapped_column(String(255))  # the encrypted unredacted audio, if kept
    redactions: Mapped[list] = mapped_column(JSON, default=list)  # [{kind, channel, start, end}], no content
    redaction: Mapped[str | None] = mapped_column(String(64))  # done, or why it could not be (no model for ...)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    twilio_deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    call: Mapped[Call] = relationship()
    transcripts: Mapped[list[Transcript]] = relationship(back_populates="recording", order_by="Transcript.channel",
                                                         cascade="all, delete-orphan")

    __table_args__ = (Index("ix_recordings_status_stored", "status", "stored_at"),
                      Index("ix_recordings_call_status", "call_id", "status"))  # the Calls page's "has recording"


class Transcript(Base):
    """One channel of a recording, as text with word timings, already redacted."""

    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    channel: Mapped[int] = mapped_column(Integer)  # 1 the caller, 2 the IVR or agent
    language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))  # done, no_model, failed
    note: Mapped[str | None] = mapped_column(Text)  # e.g. "no model for es"
    text: Mapped[str] = mapped_column(Text, default="")
    words: Mapped[list] = mapped_column(JSON, default=list)  # [[word, start s, end s], ...]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    recording: Mapped[Recording] = relationship(back_populates="transcripts")

    __table_args__ = (Index("ux_transcripts_recording_channel", "recording_id", "channel", unique=True),)


class QaUser(Base):
    """Someone who signs in to the QA pages: a reviewer (`qa`), a `security` reviewer or an `admin`,
    for some regions (`regions`: comma-separated codes, or `*` for every region). Never deleted,
    only disabled, so the audit log's names always mean someone."""

    __tablename__ = "qa_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # qa, security, admin
    regions: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class QaScore(Base):
    """A reviewer's scorecard for one call, on its region's rubric: each item's automatic check
    (where the timeline knows the answer) and the reviewer's score and comment."""

    __tablename__ = "qa_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    region: Mapped[str] = mapped_column(String(8))
    agent: Mapped[str | None] = mapped_column(String(128))  # who took the call; None: the IVR alone
    reviewer: Mapped[str] = mapped_column(String(64))
    rubric: Mapped[str] = mapped_column(String(64))  # the rubric file's name and version
    items: Mapped[dict] = mapped_column(JSON, default=dict)  # item key -> {score, auto, evidence, comment}
    points: Mapped[int] = mapped_column(Integer)
    max_points: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ux_qa_scores_call_reviewer", "call_id", "reviewer", unique=True),
        Index("ix_qa_scores_region_agent", "region", "agent"),
    )


class AuditEntry(Base):
    """One entry of the audit log: who did what, when (the runtime's clock), from where, and the
    hash of the entry before it, so an edited, inserted or deleted entry breaks the chain
    (ivr/qa/audit.py; `ivr audit verify`)."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)  # 1, 2, 3 ... without gaps
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str | None] = mapped_column(String(64), index=True)  # a user's name; None: not signed in
    role: Mapped[str | None] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32), index=True)
    target: Mapped[str | None] = mapped_column(String(128))  # e.g. call:123, user:alice
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    scheme: Mapped[str] = mapped_column(String(16))  # sha256 or hmac-sha256
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The audit log's newest entry, in one row: appending locks this row first, so two entries
    written at once never both follow the same entry (the chain cannot fork)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
