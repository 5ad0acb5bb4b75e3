"""Durable records: tickets, calls, each call's timeline, and consents."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    calls: Mapped[list["Call"]] = relationship(back_populates="ticket", order_by="Call.started_at")

    __table_args__ = (Index("ix_tickets_caller_open", "caller_number", "status", "updated_at"),)


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(34), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    region: Mapped[str | None] = mapped_column(String(8))
    from_number: Mapped[str | None] = mapped_column(String(64))
    to_number: Mapped[str] = mapped_column(String(64))
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

    ticket: Mapped[Ticket | None] = relationship(back_populates="calls")
    events: Mapped[list["CallEvent"]] = relationship(back_populates="call", order_by="CallEvent.id")
    consents: Mapped[list["Consent"]] = relationship(back_populates="call", order_by="Consent.id")


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
