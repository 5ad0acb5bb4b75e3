"""Reviewers' passwords: hashed with Argon2id (memory-hard), never stored or logged in the clear."""
from __future__ import annotations

import secrets
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ivr.errors import UserError

MIN_LENGTH = 12
MAX_LENGTH = 256  # a size limit on what a sign-in form may make us hash


def check_strength(password: str) -> str:
    """The password, if it may be used; otherwise UserError saying why."""
    if len(password) < MIN_LENGTH:
        raise UserError(f"a password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise UserError(f"a password must be at most {MAX_LENGTH} characters")
    if len(set(password)) < 5:
        raise UserError("a password needs more than a few different characters")
    return password


def generated() -> str:
    """A strong password to hand to a new user once (about 120 bits)."""
    return secrets.token_urlsafe(15)


class Passwords:
    """Argon2id at OWASP's recommended setting (19 MiB, 2 passes, 1 lane): memory-hard, and about
    50 ms a sign-in on a small server, where RFC 9106's 64 MiB × 4 lanes took five times as long and
    as much memory for each sign-in at once. A hash made with other settings is redone at the next
    sign-in."""

    def __init__(self, hasher: PasswordHasher | None = None):
        self.hasher = hasher or PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches; with no stored hash (no such user) the same work is done, so
        the answer takes as long either way and does not tell who exists."""
        if len(password) > MAX_LENGTH:
            return False
        try:
            return self.hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)

    @cached_property
    def _dummy(self) -> str:
        return self.hasher.hash(secrets.token_urlsafe(16))
