"""What stands in front of every QA page: the session (Flask's signed cookie holding the review
session's token; the session itself in Redis, ivr/qa/signin.py), its expiry, the CSRF token every
form carries, who is asking and from where, and the security headers of every answer.

Nothing under /qa answers without a session except the sign-in page and the stylesheet; anything
refused is audited.
"""
from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, Response, abort, g, redirect, render_template, request, session, url_for

from ivr.qa import audit, users
from ivr.qa.audit import Actor
from ivr.qa.reviewers import Reviewer
from ivr.qa.signin import ReviewSessions, SessionEnded
from ivr.runtime import Runtime
from ivr.web import runtime

TOKEN = "qa"  # the key in Flask's session holding the review session's token
CSRF = "csrf"
PUBLIC = frozenset({"qa.sign_in", "qa.static"})
MAX_FORM_BYTES = 64 * 1024
POLICY = ("default-src 'none'; style-src 'self'; img-src 'self' data:; media-src 'self'; script-src 'self'; "
          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def configure(app: Flask, rt: Runtime) -> None:
    """The session cookie's flags: HttpOnly, SameSite=Strict, Secure (unless IVR_SESSION_COOKIE_SECURE
    is false, for plain http on this machine), only sent to /qa, gone when the browser closes."""
    settings = rt.settings
    app.secret_key = settings.secret_key
    app.config.update(SESSION_COOKIE_NAME="ivr_qa", SESSION_COOKIE_PATH="/qa", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SECURE=settings.session_cookie_secure, SESSION_COOKIE_SAMESITE="Strict",
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_max_hours))


def actor(reviewer: Reviewer | None = None) -> Actor:
    return Actor(reviewer.name, reviewer.role, client_ip()) if reviewer else Actor(None, None, client_ip())


def client_ip() -> str:
    return (request.remote_addr or "?")[:64]


def check_request():
    """Before every QA page: the pages are on, the form is not too large, the session is live and
    its user still active, and a form's CSRF token matches."""
    rt = runtime()
    if rt.settings.secret_key is None:
        return render_template("qa/off.html"), 503
    if request.content_length and request.content_length > MAX_FORM_BYTES:
        abort(413)
    if request.endpoint in PUBLIC:
        if request.method == "POST":
            check_csrf(rt, None)
        return None
    reviewer = signed_in(rt)
    if isinstance(reviewer, Response):
        return reviewer
    g.reviewer, g.actor = reviewer, actor(reviewer)
    if request.method == "POST":
        check_csrf(rt, reviewer)
    return None


def signed_in(rt: Runtime) -> Reviewer | Response:
    """The signed-in reviewer, or (audited) the way to the sign-in page."""
    try:
        visit = rt.service(ReviewSessions).resume(session.get(TOKEN), rt.clock())
    except SessionEnded as ended:
        session.clear()
        if ended.visit is not None:
            audit.write(rt, "session_expired", Actor(ended.visit.name, None, client_ip()), _target(),
                        reason=ended.reason)
            return _to_sign_in(ended.reason)
        audit.write(rt, "refused", actor(), _target(), reason="not signed in", method=request.method)
        return _to_sign_in(None)
    with rt.sessions() as db:
        reviewer = users.active_reviewer(db, visit.user_id)
    if reviewer is None:
        rt.service(ReviewSessions).end(session.get(TOKEN))
        session.clear()
        audit.write(rt, "refused", Actor(visit.name, None, client_ip()), _target(), reason="user disabled")
        return _to_sign_in("disabled")
    return reviewer


def check_csrf(rt: Runtime, reviewer: Reviewer | None) -> None:
    expected = session.get(CSRF) or ""
    given = request.form.get("csrf_token") or ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        audit.write(rt, "refused", actor(reviewer), _target(), reason="CSRF token missing or wrong")
        abort(400, "This form has expired or did not come from these pages. Go back, reload and try again.")


def csrf_token() -> str:
    """The token forms carry (made on first use, kept in the signed session cookie)."""
    if not session.get(CSRF):
        session[CSRF] = secrets.token_urlsafe(32)
    return session[CSRF]


def begin(token: str) -> None:
    """A new sign-in: a fresh cookie (nothing from before signing in carries over) and CSRF token."""
    session.clear()
    session[TOKEN] = token
    session[CSRF] = secrets.token_urlsafe(32)


def end() -> None:
    runtime().service(ReviewSessions).end(session.get(TOKEN))
    session.clear()


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a QA page of this site."""
    if not target:
        return url_for("qa.calls")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/qa/") or "\\" in target or "//" in parts.path:
        return url_for("qa.calls")
    return target[:500]


def secure_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "qa.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _to_sign_in(reason: str | None) -> Response:
    wanted = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("qa.sign_in", next=wanted, ended=reason), code=303)


def _target() -> str:
    return f"path:{request.path}"[:128]
