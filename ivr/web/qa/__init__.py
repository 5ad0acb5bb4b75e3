"""The QA pages (the `qa` blueprint, under /qa): `views` (the routes: check the input, ask
ivr.qa, render), `guard` (sessions, their expiry, CSRF, security headers), `templates/qa/` and
`static/` (one stylesheet; no JavaScript framework)."""
from ivr.web.qa.views import bp

__all__ = ["bp"]
