"""`ivr users`: an operator adds, lists, changes, disables and resets the QA pages' users; passwords
are kept only as Argon2id hashes; every change is audited."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ivr.cli import main
from ivr.db.models import AuditEntry, QaUser
from tests.qa.conftest import PASSWORD, sign_in


def ivr(settings, *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), env=settings.to_env(), input=stdin)


def user(sessions, name: str) -> QaUser:
    with sessions() as db:
        return db.scalars(select(QaUser).where(QaUser.name == name)).one()


def test_adding_a_user_with_a_made_password_shows_it_once_and_it_signs_in(settings, sessions, app):
    done = ivr(settings, "users", "add", "alice", "--role", "qa", "--region", "gb,us")
    assert done.exit_code == 0, done.output
    assert "added alice: qa for gb,us" in done.output
    password = re.search(r"password \(shown once\): (\S+)", done.output).group(1)
    stored = user(sessions, "alice")
    assert stored.password_hash.startswith("$argon2id$") and password not in stored.password_hash
    assert sign_in(app.test_client(), "alice", password).status_code == 303


def test_a_password_can_come_from_standard_input(settings, sessions, app):
    done = ivr(settings, "users", "add", "sam", "--role", "security", "--region", "*", "--password-stdin",
               stdin=PASSWORD + "\n")
    assert done.exit_code == 0 and "shown once" not in done.output
    assert sign_in(app.test_client(), "sam", PASSWORD).status_code == 303


@pytest.mark.parametrize("args, problem", [
    (["users", "add", "Bad Name", "--role", "qa", "--region", "gb"], "a user name is 2 to 64 lower-case"),
    (["users", "add", "bob", "--role", "qa", "--region", "gb,xx"], "no region 'xx'; regions: gb, hk, kr, sg, us"),
    (["users", "add", "bob", "--role", "boss", "--region", "gb"], "Invalid value for '--role'"),
    (["users", "add", "bob", "--role", "qa", "--region", ""], "give at least one region"),
    (["users", "disable", "nobody"], "no user 'nobody'"),
])
def test_a_bad_user_is_refused_with_the_reason(settings, sessions, args, problem):
    done = ivr(settings, *args)
    assert done.exit_code != 0 and problem in done.output


def test_a_weak_password_is_refused(settings, sessions):
    done = ivr(settings, "users", "add", "bob", "--role", "qa", "--region", "gb", "--password-stdin",
               stdin="short\n")
    assert done.exit_code == 1 and "at least 12 characters" in done.output
    done = ivr(settings, "users", "add", "bob", "--role", "qa", "--region", "gb", "--password-stdin",
               stdin="aaaaaaaaaaaaaaaa\n")
    assert done.exit_code == 1 and "more than a few different characters" in done.output


def test_listing_changing_disabling_and_resetting(settings, sessions, app):
    ivr(settings, "users", "add", "carol", "--role", "qa", "--region", "gb", "--password-stdin", stdin=PASSWORD)
    client = app.test_client()
    assert sign_in(client, "carol", PASSWORD).status_code == 303
    listed = ivr(settings, "users", "list").output
    assert re.search(r"carol\s+qa\s+gb\s+active\s+2026-11-24 17:00", listed)
    assert "carol: security for gb,sg" in ivr(settings, "users", "set", "carol", "--role", "security",
                                              "--region", "sg,gb").output
    assert "carol disabled (1 session(s) ended)" in ivr(settings, "users", "disable", "carol").output
    assert client.get("/qa/calls").status_code == 303  # her open session ended at once
    assert sign_in(app.test_client(), "carol", PASSWORD).status_code == 401
    assert "disabled" in ivr(settings, "users", "list").output
    assert "carol enabled" in ivr(settings, "users", "enable", "carol").output
    done = ivr(settings, "users", "reset", "carol")
    new = re.search(r"password \(shown once\): (\S+)", done.output).group(1)
    assert sign_in(app.test_client(), "carol", PASSWORD).status_code == 401
    assert sign_in(app.test_client(), "carol", new).status_code == 303


def test_every_change_by_the_operator_is_audited(settings, sessions):
    with sessions() as db:
        before = db.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)).first() or 0
    ivr(settings, "users", "add", "dave", "--role", "qa", "--region", "us")
    ivr(settings, "users", "set", "dave", "--region", "gb")
    ivr(settings, "users", "disable", "dave")
    ivr(settings, "users", "enable", "dave")
    ivr(settings, "users", "reset", "dave")
    with sessions() as db:
        entries = db.scalars(select(AuditEntry).where(AuditEntry.seq > before).order_by(AuditEntry.seq)).all()
    assert [(e.action, e.actor, e.target) for e in entries] == [
        ("user_added", "cli", "user:dave"), ("user_changed", "cli", "user:dave"), ("user_disabled", "cli", "user:dave"),
        ("user_enabled", "cli", "user:dave"), ("password_reset", "cli", "user:dave")]
    assert all("password" not in str(e.detail).lower() for e in entries)
