"""Signing in to the QA pages: the password check, limits on failed attempts (per user and per
address, in Redis), and the sessions a sign-in opens (in Redis, so signing out or disabling a user
ends them at once), which end when idle too long or too old, on the runtime's clock.

The browser holds only a random token inside Flask's signed session cookie; Redis holds a hash of
it, so a copy of Redis does not sign anyone in.
"""
from __future__ import annotations

import hashlib
import json
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis import Redis

from ivr.clock import parse_moment
from ivr.errors import SignInRefused
from ivr.qa import audit, users
from ivr.qa.audit import Actor
from ivr.qa.passwords import Passwords
from ivr.qa.reviewers import Reviewer
from ivr.runtime import Runtime

SESSION_KEY = "ivr:qa:session:{digest}"
USER_SESSIONS_KEY = "ivr:qa:user-sessions:{user}"
FAILURES_KEY = "ivr:qa:signin:{who}:{bucket}"
MAX_NAME = 64  # longer "names" are refused without looking anything up


@dataclass(frozen=True)
class Visit:
    """A signed-in session: whose, and when it began and was last used."""

    user_id: int
    name: str
    signed_in_at: datetime
    seen_at: datetime


class SessionEnded(Exception):  # noqa: N818 (a state, not a fault)
    """The session is over: `reason` is signed_out (or never existed), idle or too_old."""

    def __init__(self, reason: str, visit: Visit | None = None):
        self.reason, self.visit = reason, visit
        super().__init__(reason)


class ReviewSessions:
    def __init__(self, redis: Redis, idle: timedelta, lifetime: timedelta):
        self.redis, self.idle, self.lifetime = redis, idle, lifetime

    def open(self, user_id: int, name: str, now: datetime) -> str:
        token = secrets.token_urlsafe(32)
        key = SESSION_KEY.format(digest=_digest(token))
        value = json.dumps({"user": user_id, "name": name, "in": now.isoformat(), "seen": now.isoformat()})
        pipe = self.redis.pipeline()
        pipe.set(key, value, ex=self._keep_seconds)
        pipe.sadd(USER_SESSIONS_KEY.format(user=user_id), key)
        pipe.expire(USER_SESSIONS_KEY.format(user=user_id), self._keep_seconds)
        pipe.execute()
        return token

    def resume(self, token: str | None, now: datetime) -> Visit:
        """The session this token opened, marked as used now; SessionEnded if it is over."""
        raw = self.redis.get(SESSION_KEY.format(digest=_digest(token))) if token else None
        if raw is None:
            raise SessionEnded("signed_out")
        data = json.loads(raw)
        visit = Visit(data["user"], data["name"], parse_moment(data["in"]), parse_moment(data["seen"]))
        if now - visit.signed_in_at >= self.lifetime:
            self.end(token)
            raise SessionEnded("too_old", visit)
        if now - visit.seen_at >= self.idle:
            self.end(token)
            raise SessionEnded("idle", visit)
        data["seen"] = now.isoformat()
        self.redis.set(SESSION_KEY.format(digest=_digest(token)), json.dumps(data), ex=self._keep_seconds)
        return visit

    def end(self, token: str | None) -> None:
        if token:
            self.redis.delete(SESSION_KEY.format(digest=_digest(token)))

    def end_all(self, user_id: int) -> int:
        """End every session of a user (disabled, password reset); how many there were."""
        index = USER_SESSIONS_KEY.format(user=user_id)
        keys = self.redis.smembers(index)
        ended = self.redis.delete(*keys) if keys else 0
        self.redis.delete(index)
        return ended

    @property
    def _keep_seconds(self) -> int:
        """How long Redis keeps a session record: only a clean-up (expiry is decided on the runtime's
        clock, above), so generous."""
        return int(self.lifetime.total_seconds()) + 3600


class SignInLimits:
    """Failed sign-ins counted per user name and per address over a sliding window (two fixed
    buckets, the older one weighted by how much of it still falls in the window)."""

    def __init__(self, redis: Redis, per_user: int, per_address: int, window: timedelta):
        self.redis, self.per_user, self.per_address = redis, per_user, per_address
        self.window = int(window.total_seconds())

    def retry_after(self, name: str, ip: str, now: datetime) -> int | None:
        """Seconds until another attempt is allowed, if this user or address has had too many."""
        for who, limit in ((f"user:{name}", self.per_user), (f"ip:{ip}", self.per_address)):
            if self._count(who, now) >= limit:
                return self.window - int(now.timestamp()) % self.window or self.window
        return None

    def failed(self, name: str, ip: str, now: datetime) -> None:
        bucket = int(now.timestamp()) // self.window
        pipe = self.redis.pipeline()
        for who in (f"user:{name}", f"ip:{ip}"):
            key = FAILURES_KEY.format(who=who, bucket=bucket)
            pipe.incr(key)
            pipe.expire(key, self.window * 2 + 60)
        pipe.execute()

    def cleared(self, name: str, now: datetime) -> None:
        bucket = int(now.timestamp()) // self.window
        self.redis.delete(*(FAILURES_KEY.format(who=f"user:{name}", bucket=b) for b in (bucket, bucket - 1)))

    def _count(self, who: str, now: datetime) -> float:
        seconds = now.timestamp()
        bucket = int(seconds) // self.window
        current, previous = self.redis.mget(FAILURES_KEY.format(who=who, bucket=bucket),
                                            FAILURES_KEY.format(who=who, bucket=bucket - 1))
        elapsed = (seconds % self.window) / self.window
        return int(current or 0) + math.floor(int(previous or 0) * (1 - elapsed))


def sign_in(rt: Runtime, name: str, password: str, ip: str) -> tuple[Reviewer, str]:
    """Check a name and password; open a session. Every outcome is audited. SignInRefused says only
    "wrong name or password" (or "too many attempts"), whatever the reason was."""
    now = rt.clock()
    name = (name or "").strip().lower()[:MAX_NAME]
    limits = rt.service(SignInLimits)
    wait = limits.retry_after(name, ip, now)
    if wait is not None:
        audit.write(rt, "sign_in_limited", Actor(None, None, ip), f"user:{name}",
                     retry_after=wait)
        raise SignInRefused("too many attempts", retry_after=wait)
    passwords = rt.service(Passwords)
    with rt.sessions.begin() as db:
        user = users.find(db, name) if users.NAME.match(name) else None
        matches = passwords.verify(user.password_hash if user else None, password or "")
        if user is not None and matches and user.active:
            user.last_sign_in_at = now
            if passwords.needs_rehash(user.password_hash):
                user.password_hash = passwords.hash(password)
            reviewer = users.as_reviewer(user)
        else:
            reviewer = None
            reason = "no such user" if user is None else "wrong password" if not matches else "user disabled"
    if reviewer is None:
        limits.failed(name, ip, now)
        audit.write(rt, "sign_in_failed", Actor(None, None, ip), f"user:{name}", reason=reason)
        raise SignInRefused("wrong name or password")
    limits.cleared(name, now)
    token = rt.service(ReviewSessions).open(reviewer.id, reviewer.name, now)
    audit.write(rt, "sign_in", Actor(reviewer.name, reviewer.role, ip), f"user:{reviewer.name}")
    return reviewer, token


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def limits_from(rt: Runtime) -> SignInLimits:
    s = rt.settings
    return SignInLimits(rt.redis, s.signin_max_failures, s.signin_ip_max_failures,
                        timedelta(minutes=s.signin_window_minutes))


def sessions_from(rt: Runtime) -> ReviewSessions:
    s = rt.settings
    return ReviewSessions(rt.redis, timedelta(minutes=s.session_idle_minutes), timedelta(hours=s.session_max_hours))
