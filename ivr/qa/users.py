"""The QA pages' users: adding them, changing their role or regions, disabling them, resetting a
password, and signing in. Users are never deleted (the audit log names them), only disabled."""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import QaUser
from ivr.errors import UserError
from ivr.qa.passwords import Passwords, check_strength
from ivr.qa.reviewers import EVERY_REGION, ROLES, Reviewer

NAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise UserError(f"a user name is 2 to 64 lower-case letters, digits, '.', '_' or '-', "
                        f"starting with a letter; got {name!r}")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    return role


def parse_regions(text: str, known: Iterable[str]) -> tuple[str, ...]:
    """'us,gb' -> ('gb', 'us'); '*' (or 'all') -> every region. Each must be a configured region."""
    parts = [p.strip().lower() for p in (text or "").split(",") if p.strip()]
    if not parts:
        raise UserError("give at least one region (e.g. --region us,gb, or '*' for every region)")
    if parts in (["*"], ["all"]):
        return (EVERY_REGION,)
    known = set(known)
    unknown = [p for p in parts if p not in known]
    if unknown:
        raise UserError(f"no region {', '.join(repr(u) for u in unknown)}; regions: {', '.join(sorted(known))}")
    return tuple(sorted(set(parts)))


def as_reviewer(user: QaUser) -> Reviewer:
    return Reviewer(id=user.id, name=user.name, role=user.role, regions=tuple(user.regions.split(",")))


def find(db: Session, name: str) -> QaUser | None:
    return db.scalars(select(QaUser).where(QaUser.name == name)).first()


def existing(db: Session, name: str) -> QaUser:
    user = find(db, name)
    if user is None:
        raise UserError(f"no user {name!r} (see `ivr users list`)")
    return user


def add(db: Session, passwords: Passwords, name: str, role: str, regions: tuple[str, ...], password: str,
        now: datetime) -> QaUser:
    check_name(name)
    check_role(role)
    check_strength(password)
    if find(db, name) is not None:
        raise UserError(f"user {name!r} already exists (change it with `ivr users set`)")
    user = QaUser(name=name, role=role, regions=",".join(regions), password_hash=passwords.hash(password),
                  active=True, created_at=now, password_changed_at=now)
    db.add(user)
    db.flush()
    return user


def change(db: Session, name: str, role: str | None, regions: tuple[str, ...] | None) -> QaUser:
    user = existing(db, name)
    if role is not None:
        user.role = check_role(role)
    if regions is not None:
        user.regions = ",".join(regions)
    return user


def set_active(db: Session, name: str, active: bool) -> QaUser:
    user = existing(db, name)
    user.active = active
    return user


def reset_password(db: Session, passwords: Passwords, name: str, password: str, now: datetime) -> QaUser:
    user = existing(db, name)
    user.password_hash = passwords.hash(check_strength(password))
    user.password_changed_at = now
    return user


def every_user(db: Session) -> list[QaUser]:
    return list(db.scalars(select(QaUser).order_by(QaUser.name)))


def active_reviewer(db: Session, user_id: int) -> Reviewer | None:
    """The reviewer as they stand now (role, regions), or None once disabled."""
    user = db.get(QaUser, user_id)
    return as_reviewer(user) if user is not None and user.active else None
