"""Health, readiness and metrics for whoever runs the service. No Twilio signature: nothing here
moves a call. /healthz and /readyz say no more than up or not (a failure's detail goes to the log);
/metrics and page acknowledgements need a bearer token."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from ivr.calls.writer import lag
from ivr.security.paging import acknowledge
from ivr.web import bearer_matches, runtime

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready to take calls: Redis, the database, the flows, and the writer keeping up (its oldest
    unwritten record younger than IVR_WRITER_MAX_LAG seconds). Says which failed, never how (that is logged)."""
    rt = runtime()
    checks = {"flows": "ok" if len(rt.flows) else "none loaded", "redis": "ok", "database": "ok", "writer": "ok"}
    try:
        rt.redis.ping()
        behind = writer_lag(rt)
        if behind.seconds > rt.settings.writer_max_lag:
            log.warning("readiness: the writer is %.1f s behind (%d entries)", behind.seconds, behind.pending)
            checks["writer"] = "behind"
    except Exception:  # readiness reports any failure as not ready
        log.warning("readiness: Redis is unavailable", exc_info=True)
        checks["redis"] = "unavailable"
        checks.pop("writer")
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
    try:
        writer_lag(rt)
    except Exception:
        log.warning("metrics: could not read the writer's lag from Redis", exc_info=True)
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


def writer_lag(rt):
    """The writer's lag, also set on the metrics."""
    found = lag(rt.redis)
    rt.metrics.writer_lag.set(found.seconds)
    rt.metrics.writer_pending.set(found.pending)
    return found
