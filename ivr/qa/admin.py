"""Managing the QA pages' users, from the command line (`ivr users`) or the Users page (admins):
every change is audited, and disabling a user or resetting their password ends their sessions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ivr.db.models import QaUser
from ivr.errors import AccessRefused, UserError
from ivr.qa import audit, reviewers, users
from ivr.qa.audit import Actor
from ivr.qa.passwords import Passwords
from ivr.qa.reviewers import Reviewer
from ivr.qa.signin import ReviewSessions
from ivr.runtime import Runtime

OPERATOR = Actor("cli", "operator", "local")  # who `ivr users ...` acts as in the audit log


@dataclass(frozen=True)
class UserView:
    id: int
    name: str
    role: str
    regions: str
    active: bool
    created_at: datetime
    last_sign_in_at: datetime | None


def _view(user: QaUser) -> UserView:
    return UserView(user.id, user.name, user.role, user.regions, user.active, user.created_at, user.last_sign_in_at)


def add_user(rt: Runtime, actor: Actor, name: str, role: str, regions: str, password: str) -> UserView:
    chosen = users.parse_regions(regions, rt.flows.flows)
    with rt.sessions.begin() as db:
        user = _view(users.add(db, rt.service(Passwords), name, role, chosen, password, rt.clock()))
    audit.write(rt, "user_added", actor, f"user:{name}", role=role, regions=user.regions)
    return user


def change_user(rt: Runtime, actor: Actor, name: str, role: str | None, regions: str | None) -> UserView:
    chosen = users.parse_regions(regions, rt.flows.flows) if regions is not None else None
    with rt.sessions.begin() as db:
        user = _view(users.change(db, name, role, chosen))
    audit.write(rt, "user_changed", actor, f"user:{name}", role=user.role, regions=user.regions)
    return user


def set_active(rt: Runtime, actor: Actor, name: str, active: bool) -> tuple[UserView, int]:
    """Enable or disable a user; how many sessions disabling ended."""
    with rt.sessions.begin() as db:
        user = _view(users.set_active(db, name, active))
    ended = 0 if active else rt.service(ReviewSessions).end_all(user.id)
    audit.write(rt, "user_enabled" if active else "user_disabled", actor, f"user:{name}", sessions_ended=ended)
    return user, ended


def reset_password(rt: Runtime, actor: Actor, name: str, password: str) -> tuple[UserView, int]:
    with rt.sessions.begin() as db:
        user = _view(users.reset_password(db, rt.service(Passwords), name, password, rt.clock()))
    ended = rt.service(ReviewSessions).end_all(user.id)
    audit.write(rt, "password_reset", actor, f"user:{name}", sessions_ended=ended)
    return user, ended


def every_user(rt: Runtime) -> list[UserView]:
    with rt.sessions() as db:
        return [_view(user) for user in users.every_user(db)]


def users_page(rt: Runtime, reviewer: Reviewer, actor: Actor) -> list[UserView]:
    _admin_only(rt, reviewer, actor, "users")
    audit.write(rt, "users_view", actor, None)
    return every_user(rt)


def set_active_by_admin(rt: Runtime, reviewer: Reviewer, user_id: int, active: bool, actor: Actor) -> UserView:
    _admin_only(rt, reviewer, actor, f"user:{user_id}")
    with rt.sessions() as db:
        user = db.get(QaUser, user_id)
        name = user.name if user else None
    if name is None:
        raise UserError(f"no user {user_id}")
    if name == reviewer.name and not active:
        raise UserError("you cannot disable yourself")
    return set_active(rt, actor, name, active)[0]


def _admin_only(rt: Runtime, reviewer: Reviewer, actor: Actor, target: str) -> None:
    try:
        reviewers.check_admin(reviewer, target)
    except AccessRefused as refused:
        audit.write(rt, "refused", actor, refused.target, reason=refused.reason)
        raise
