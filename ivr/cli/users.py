"""`ivr users`: who may sign in to the QA pages.

    ivr users add NAME --role qa|security|admin --region us,gb [--password-stdin]
    ivr users list
    ivr users set NAME [--role ROLE] [--region REGIONS]
    ivr users disable NAME          (ends their sessions at once)
    ivr users enable NAME
    ivr users reset NAME [--password-stdin]   (a new password; ends their sessions)

Without --password-stdin a strong password is made and printed once. Every change is written to
the audit log (as `cli`).
"""
from __future__ import annotations

import sys

import click

from ivr.cli.context import runtime
from ivr.errors import IvrError
from ivr.qa import admin
from ivr.qa.admin import OPERATOR
from ivr.qa.passwords import generated
from ivr.qa.reviewers import ROLES


@click.group()
def users() -> None:
    """Who may sign in to the QA pages, with which role and regions."""


def _password(from_stdin: bool) -> tuple[str, bool]:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return generated(), True


def _done(action) -> object:
    try:
        return action()
    except IvrError as exc:
        raise click.ClickException(str(exc)) from None


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="qa, security or admin.")
@click.option("--region", "regions", required=True, help="Region codes (us,gb), or * for all.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of making one.")
def add(name: str, role: str, regions: str, password_stdin: bool) -> None:
    """Add a user who may sign in to the QA pages."""
    rt = runtime()
    password, made = _password(password_stdin)
    user = _done(lambda: admin.add_user(rt, OPERATOR, name, role, regions, password))
    click.echo(f"added {user.name}: {user.role} for {user.regions}")
    if made:
        click.echo(f"password (shown once): {password}")


@users.command("list")
def list_users() -> None:
    """Every user, with role, regions, state and last sign-in."""
    rt = runtime()
    rows = admin.every_user(rt)
    if not rows:
        click.echo("no users yet: ivr users add NAME --role qa --region us")
        return
    click.echo(f"{'name':<20} {'role':<9} {'regions':<16} {'state':<9} last signed in")
    for u in rows:
        last = u.last_sign_in_at.strftime("%Y-%m-%d %H:%M") if u.last_sign_in_at else "never"
        click.echo(f"{u.name:<20} {u.role:<9} {u.regions:<16} {'active' if u.active else 'disabled':<9} {last}")


@users.command("set")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), help="A new role.")
@click.option("--region", "regions", help="New regions (replacing the old), or '*'.")
def set_user(name: str, role: str | None, regions: str | None) -> None:
    """Change a user's role or regions (from their next page)."""
    if role is None and regions is None:
        raise click.UsageError("give --role, --region or both")
    rt = runtime()
    user = _done(lambda: admin.change_user(rt, OPERATOR, name, role, regions))
    click.echo(f"{user.name}: {user.role} for {user.regions}")


@users.command("disable")
@click.argument("name")
def disable(name: str) -> None:
    """Stop a user signing in; their open sessions end at once."""
    rt = runtime()
    user, ended = _done(lambda: admin.set_active(rt, OPERATOR, name, False))
    click.echo(f"{user.name} disabled ({ended} session(s) ended)")


@users.command("enable")
@click.argument("name")
def enable(name: str) -> None:
    """Let a disabled user sign in again."""
    rt = runtime()
    user, _ = _done(lambda: admin.set_active(rt, OPERATOR, name, True))
    click.echo(f"{user.name} enabled")


@users.command("reset")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def reset(name: str, password_stdin: bool) -> None:
    """Give a user a new password; their open sessions end."""
    rt = runtime()
    password, made = _password(password_stdin)
    user, ended = _done(lambda: admin.reset_password(rt, OPERATOR, name, password))
    click.echo(f"{user.name}: password reset ({ended} session(s) ended)")
    if made:
        click.echo(f"password (shown once): {password}")
