"""The desk API, for a wallboard or the agents' own tools: the desks as they stand, and agents
signing in and out. Every request needs `Authorization: Bearer <IVR_OPS_TOKEN>`; without the
setting the API is off (403).

    GET  /ops/desks                              every desk (as `ivr desks show --json`)
    GET  /ops/desks/<desk>                       one desk
    POST /ops/desks/<desk>/agents/<agent>        status=in or status=out (form or JSON)
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from ivr.queue import desk_queue
from ivr.web import bearer_matches, runtime

bp = Blueprint("desks", __name__)


@bp.before_request
def _authorised():
    token = runtime().settings.ops_token
    if not token:
        return jsonify(error="the desk API is off: set IVR_OPS_TOKEN"), 403
    if not bearer_matches(token):
        return jsonify(error="forbidden"), 403
    return None


@bp.get("/ops/desks")
def all_desks():
    rt = runtime()
    return jsonify(desks=[desk_queue.snapshot(rt.redis, desk, rt.clock()) for desk in rt.desks])


@bp.get("/ops/desks/<desk_name>")
def one_desk(desk_name: str):
    rt = runtime()
    desk = rt.desks.get(desk_name)
    if desk is None:
        return jsonify(error=f"no desk {desk_name!r}"), 404
    return jsonify(desk_queue.snapshot(rt.redis, desk, rt.clock()))


@bp.post("/ops/desks/<desk_name>/agents/<agent_key>")
def agent_status(desk_name: str, agent_key: str):
    rt = runtime()
    desk = rt.desks.get(desk_name)
    agent = desk.agent(agent_key) if desk else None
    if agent is None:
        return jsonify(error=f"no agent {agent_key!r} at desk {desk_name!r}"), 404
    body = request.get_json(silent=True) if request.is_json else request.form
    status = (body or {}).get("status")
    if status == "in":
        changed = desk_queue.sign_in(rt.redis, desk.name, agent.key, rt.clock())
    elif status == "out":
        changed = desk_queue.sign_out(rt.redis, desk.name, agent.key)
    else:
        return jsonify(error="status must be 'in' or 'out'"), 400
    return jsonify(desk=desk.name, agent=agent.key, signed_in=status == "in", changed=changed)
