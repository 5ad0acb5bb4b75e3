"""Health, readiness and metrics for whoever runs the service. No Twilio signature: nothing here
moves a call. /healthz and /readyz say no more than up or not (a failure's detail goes to the log);
/metrics and page acknowledgements need a bearer token."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from ivr.security.paging import acknowledge
from ivr.web import bearer_matches, runtime

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready to take calls: Redis, the database and the flows. Says which failed, never how (that is logged)."""
    rt = runtime()
    checks = {"flows": "ok" if len(rt.flows) else "none loaded", "redis": "ok", "database": "ok"}
    try:
        rt.redis.ping()
    except Exception:  # readiness reports any failure as not ready
        log.warning("readiness: Redis is unavailable", exc_info=True)
        checks["redis"] = "unavailable"
    try:
        with rt.sessions() as db:
            db.execute(text("SELECT 1"))
    except Exception:
        log.warning("readiness: the database is unavailable", exc_info=True)
        checks["database"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(ready=ready, checks=checks), 200 if ready else 503


@bp.get("/metrics")
def metrics():
    """Prometheus, for whoever holds `Authorization: Bearer <IVR_OPS_TOKEN>` (unset: off, 403)."""
    rt = runtime()
    if not bearer_matches(rt.settings.ops_token):
        return jsonify(error="forbidden: /metrics needs the ops token (IVR_OPS_TOKEN)"), 403
    return rt.metrics.exposition(), 200, {"Content-Type": "text/plain; version=0.0.4"}


@bp.post("/ops/pages/<int:page_id>/ack")
def acknowledge_page(page_id: int):
    """The pager (or a person) acknowledges a page: `Authorization: Bearer <IVR_PAGER_SECRET>`."""
    rt = runtime()
    if not bearer_matches(rt.settings.pager_secret):
        return jsonify(error="forbidden"), 403
    with rt.sessions.begin() as db:
        page = acknowledge(db, page_id, rt.clock())
        if page is None:
            return jsonify(error=f"no page {page_id}"), 404
        return jsonify(page=page.id, status=page.status)
