"""Health, readiness and metrics for whoever runs the service. No signature: nothing here moves a call."""
from __future__ import annotations

import hmac

from flask import Blueprint, jsonify, request
from sqlalchemy import text

from ivr.security.paging import acknowledge
from ivr.web import runtime

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    rt = runtime()
    checks = {"flows": f"{len(rt.flows)} regions" if len(rt.flows) else "none loaded"}
    try:
        rt.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # readiness reports any failure as not ready
        checks["redis"] = f"error: {exc}"
    try:
        with rt.sessions() as db:
            db.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}: {exc}"
    ready = checks["redis"] == "ok" and checks["database"] == "ok" and len(rt.flows) > 0
    return jsonify(ready=ready, checks=checks), 200 if ready else 503


@bp.get("/metrics")
def metrics():
    return runtime().metrics.exposition(), 200, {"Content-Type": "text/plain; version=0.0.4"}


@bp.post("/ops/pages/<int:page_id>/ack")
def acknowledge_page(page_id: int):
    """The pager (or a person) acknowledges a page: `Authorization: Bearer <IVR_PAGER_SECRET>`."""
    rt = runtime()
    secret = rt.settings.pager_secret
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        return jsonify(error="forbidden"), 403
    with rt.sessions.begin() as db:
        page = acknowledge(db, page_id, rt.clock())
        if page is None:
            return jsonify(error=f"no page {page_id}"), 404
        return jsonify(page=page.id, status=page.status)
