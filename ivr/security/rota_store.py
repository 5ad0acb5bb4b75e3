"""The rota in the database: written from flows/oncall.yaml at start-up, read when a call needs an
agent, so every web and job process sees the same rota."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ivr.db.models import OncallEntry, OncallPerson
from ivr.flows.rota import Person, Rota, Team


def save_rota(db: Session, rota: Rota) -> None:
    """Replace the stored rota with `rota` (in the caller's transaction)."""
    db.execute(delete(OncallEntry))
    db.execute(delete(OncallPerson))
    for team in rota.teams.values():
        db.add(OncallEntry(team=team.name, kind="team", people=[],
                           detail={"timezone": team.timezone, "regions": list(team.regions),
                                   "language": team.language, "version": rota.version}))
        for person in team.people.values():
            db.add(OncallPerson(team=team.name, key=person.key, name=person.name, phone=person.phone))
        for minute, people in team.handoffs:
            db.add(OncallEntry(team=team.name, kind="handoff", weekday=minute // 1440, minute=minute % 1440,
                               people=list(people), detail={}))
        for start, end, people, reason in team.overrides:
            db.add(OncallEntry(team=team.name, kind="override", starts=start.isoformat(), ends=end.isoformat(),
                               people=list(people), detail={"reason": reason}))
        db.add(OncallEntry(team=team.name, kind="escalation", people=list(team.escalation), detail={}))


def read_rota(db: Session) -> Rota | None:
    """The stored rota, or None if none was loaded."""
    entries = db.scalars(select(OncallEntry).order_by(OncallEntry.id)).all()
    if not entries:
        return None
    people: dict[str, dict[str, Person]] = {}
    for row in db.scalars(select(OncallPerson)).all():
        people.setdefault(row.team, {})[row.key] = Person(row.key, row.name, row.phone)
    teams, version = {}, ""
    for head in (e for e in entries if e.kind == "team"):
        mine = [e for e in entries if e.team == head.team]
        handoffs = tuple(sorted((e.weekday * 1440 + e.minute, tuple(e.people)) for e in mine if e.kind == "handoff"))
        overrides = tuple((datetime.fromisoformat(e.starts), datetime.fromisoformat(e.ends), tuple(e.people),
                           e.detail.get("reason", "")) for e in mine if e.kind == "override")
        escalation = next((tuple(e.people) for e in mine if e.kind == "escalation"), ())
        teams[head.team] = Team(name=head.team, regions=tuple(head.detail["regions"]),
                                timezone=head.detail["timezone"], language=head.detail.get("language", "en"),
                                people=people.get(head.team, {}), handoffs=handoffs, overrides=overrides,
                                escalation=escalation)
        version = head.detail.get("version", "")
    return Rota(teams=teams, version=version)


def sync_rota(sessions, rota: Rota) -> bool:
    """Store `rota` unless the database already holds this version. Returns whether it wrote."""
    with sessions.begin() as db:
        stored = db.scalars(select(OncallEntry).where(OncallEntry.kind == "team").limit(1)).first()
        if stored is not None and stored.detail.get("version") == rota.version:
            return False
        save_rota(db, rota)
        return True
