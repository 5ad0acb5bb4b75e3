"""Finding calls to review: the Calls page's filters, checked, and one page of matching calls,
newest first, limited to what the reviewer may see (their regions; security tickets only for the
security and admin roles). Kept fast on 100,000 calls by the indexes of migrations 0006 and 0007
(see bench/qa_pages.py). "Has recording" means a recording stored with the call (one that can be
played): an EXISTS on the recordings table, by its (call_id, status) index.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from ivr.db.models import Call, QaScore, Recording, Ticket
from ivr.errors import AccessRefused, FilterError
from ivr.qa import audit
from ivr.qa.audit import Actor
from ivr.qa.masking import mask_number
from ivr.qa.reviewers import SECURITY_PRIORITY, Reviewer, is_security
from ivr.runtime import Runtime

PAGE_SIZE = 50
MAX_PAGE = 2000
CONSENTS = ("given", "declined", "notice", "none")
YES_NO = ("yes", "no")
CODE = re.compile(r"^[a-z_]{1,32}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
TICKET = re.compile(r"^\d{4,12}$")
CALLER = re.compile(r"^\+\d{6,15}$")
MAX_VALUE = 64  # characters of any one filter value


@dataclass(frozen=True)
class CallFilters:
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    region: str | None = None
    language: str | None = None
    intent: str | None = None  # the issue the call's ticket was filed under (from the caller's words or a menu)
    ticket: str | None = None
    caller: str | None = None  # E.164, exact
    consent: str | None = None
    recording: str | None = None  # yes or no: a recording is stored with the call
    scored: str | None = None  # yes or no
    security: str | None = None  # yes or no
    page: int = 1

    @classmethod
    def from_query(cls, query: Mapping[str, str], regions: set[str]) -> CallFilters:
        """The filters in a query string; FilterError names the first that cannot be used."""
        values = {name: (query.get(name) or "").strip()[:MAX_VALUE] for name in
                  ("from", "to", "region", "language", "intent", "ticket", "caller", "consent", "recording", "scored",
                   "security", "page")}
        caller = values["caller"].replace(" ", "").replace("-", "")
        filters = cls(
            date_from=parse_day(values["from"], "from"), date_to=parse_day(values["to"], "to"),
            region=_one_of(values["region"], regions, "region"),
            language=_matching(values["language"], LANGUAGE, "language", "a language code like en"),
            intent=_matching(values["intent"], CODE, "intent", "an issue like withdrawal"),
            ticket=_matching(values["ticket"], TICKET, "ticket", "a ticket number (digits)"),
            caller=_matching(caller, CALLER, "caller", "a whole number in international form, like +447700900123"),
            consent=_one_of(values["consent"], CONSENTS, "consent"),
            recording=_one_of(values["recording"], YES_NO, "recording"),
            scored=_one_of(values["scored"], YES_NO, "scored"),
            security=_one_of(values["security"], YES_NO, "security"),
            page=_page(values["page"]))
        if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
            raise FilterError("to: the last day is before the first")
        return filters

    def as_query(self, **changes) -> dict[str, str]:
        """The filters as query parameters (for links to other pages), without the empty ones."""
        names = {"date_from": "from", "date_to": "to"}
        data = {**asdict(self), **changes}
        return {names.get(k, k): str(v) for k, v in data.items()
                if v not in (None, "") and not (k == "page" and v == 1)}

    def described(self) -> dict[str, str]:
        """What was searched for, for the audit log."""
        return {k: v for k, v in self.as_query().items() if k != "page"}


@dataclass(frozen=True)
class CallRow:
    id: int
    started_at: datetime
    region: str | None
    language: str | None
    caller: str  # masked
    ticket: str | None
    issue: str | None
    consent: str | None
    status: str
    duration_seconds: int | None
    security: bool
    scored: bool
    recorded: bool  # a recording is stored with it


@dataclass(frozen=True)
class CallsPage:
    rows: list[CallRow]
    page: int
    has_next: bool
    first: int  # the number of the first row shown (1-based)


def find_calls(db: Session, reviewer: Reviewer, filters: CallFilters, page_size: int = PAGE_SIZE) -> CallsPage:
    """One page of calls matching the filters that the reviewer may see, newest first."""
    if filters.region and not reviewer.sees_region(filters.region):
        raise AccessRefused(f"region {filters.region} is not one of {reviewer.name}'s regions", "search")
    if filters.security == "yes" and not reviewer.sees_security:
        raise AccessRefused("security tickets: only the security and admin roles see these", "search")
    scored = exists().where(QaScore.call_id == Call.id)
    recorded = exists().where(Recording.call_id == Call.id, Recording.status == "stored")
    query = (select(Call.id, Call.started_at, Call.region, Call.language, Call.from_number, Call.caller_withheld,
                    Call.consent, Call.status, Call.duration_seconds, Ticket.reference, Ticket.category,
                    Ticket.priority, scored.label("scored"))
             .outerjoin(Ticket, Call.ticket_id == Ticket.id))
    for condition in _conditions(reviewer, filters, scored, recorded):
        query = query.where(condition)
    offset = (filters.page - 1) * page_size
    query = query.order_by(Call.started_at.desc(), Call.id.desc()).offset(offset).limit(page_size + 1)
    found = db.execute(query).all()
    recorded_ids = _recorded(db, [r.id for r in found[:page_size]])
    rows = [CallRow(id=r.id, started_at=r.started_at, region=r.region, language=r.language,
                    caller=mask_number(r.from_number, r.caller_withheld), ticket=r.reference, issue=r.category,
                    consent=r.consent, status=r.status, duration_seconds=r.duration_seconds,
                    security=is_security(r.priority), scored=bool(r.scored),
                    recorded=r.id in recorded_ids) for r in found[:page_size]]
    return CallsPage(rows=rows, page=filters.page, has_next=len(found) > page_size, first=offset + 1)


def _recorded(db: Session, call_ids: list[int]) -> set[int]:
    """Which of the page's calls have a stored recording: one lookup by the (call_id, status) index
    (in the row query, PostgreSQL hashes every recording for it, which grows with the recordings)."""
    if not call_ids:
        return set()
    return set(db.scalars(select(Recording.call_id).where(Recording.call_id.in_(call_ids),
                                                          Recording.status == "stored")))


def _conditions(reviewer: Reviewer, f: CallFilters, scored, recorded) -> list:
    not_security = or_(Ticket.priority.is_(None), Ticket.priority != SECURITY_PRIORITY)
    conditions = []
    if not reviewer.every_region:
        # Written so that no index on the region is used for it: a reviewer's regions cover much of the
        # calls, and walking the calls newest first (ix_calls_started) finds a page at once, where
        # taking every call of those regions by region and sorting them takes half a second on
        # 100,000 calls (bench/qa_pages.py). A region filter (below) still uses its index.
        conditions.append(Call.region.concat("").in_(reviewer.regions))
    if not reviewer.sees_security:
        conditions.append(not_security)
    if f.date_from:
        conditions.append(Call.started_at >= _midnight(f.date_from))
    if f.date_to:
        conditions.append(Call.started_at < _midnight(f.date_to + timedelta(days=1)))
    simple = {Call.region: f.region, Call.language: f.language, Ticket.category: f.intent,
              Ticket.reference: f.ticket, Call.from_number: f.caller}
    conditions += [column == value for column, value in simple.items() if value]
    if f.consent:
        conditions.append(Call.consent.is_(None) if f.consent == "none" else Call.consent == f.consent)
    if f.recording:
        conditions.append(recorded if f.recording == "yes" else ~recorded)
    if f.scored:
        conditions.append(scored if f.scored == "yes" else ~scored)
    if f.security == "yes":
        conditions.append(Ticket.priority == SECURITY_PRIORITY)
    elif f.security == "no":
        conditions.append(not_security)
    return [and_(*conditions)] if conditions else []


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def parse_day(value: str, name: str) -> date | None:
    """A filter's day (YYYY-MM-DD), None when blank; FilterError naming the field otherwise."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name}: a day like 2026-11-24, got {value!r}") from None


def _one_of(value: str, allowed, name: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise FilterError(f"{name}: one of {', '.join(sorted(allowed))}, got {value!r}")
    return value


def _matching(value: str, pattern: re.Pattern, name: str, what: str) -> str | None:
    if not value:
        return None
    if not pattern.match(value):
        raise FilterError(f"{name}: {what}, got {value!r}")
    return value


def _page(value: str) -> int:
    if not value:
        return 1
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise FilterError(f"page: a number from 1 to {MAX_PAGE}, got {value!r}")
    return int(value)


def search_calls(rt: Runtime, reviewer: Reviewer, filters: CallFilters, actor: Actor) -> CallsPage:
    """The Calls page: audited as a search (with what was searched for), or as a refusal."""
    try:
        with rt.sessions() as db:
            found = find_calls(db, reviewer, filters)
    except AccessRefused as refused:
        audit.write(rt, "refused", actor, refused.target, reason=refused.reason, filters=filters.described())
        raise
    audit.write(rt, "search", actor, None, filters=filters.described(), page=filters.page, shown=len(found.rows))
    return found


@dataclass(frozen=True)
class FilterChoices:
    """What the Calls page offers in its lists, for the reviewer's regions."""

    regions: list[tuple[str, str]]  # (code, name)
    languages: list[str]
    issues: list[str]
    security: bool


def choices(rt: Runtime, reviewer: Reviewer) -> FilterChoices:
    flows = [flow for flow in rt.flows if reviewer.sees_region(flow.region)]
    issues = {value for flow in flows for step in flow.steps.values() if step.kind in ("menu", "ticket")
              for value in _issues(step)}
    return FilterChoices(regions=[(flow.region, flow.name) for flow in flows],
                         languages=sorted({code for flow in flows for code in flow.language_codes}),
                         issues=sorted(issues), security=reviewer.sees_security)


def _issues(step) -> list[str]:
    if step.kind == "menu":
        return [option.set["issue"] for option in step.options.values() if "issue" in option.set]
    category = step.update.get("category", "")
    return [category] if category and not category.startswith("$") else []
