"""The QA pages under /qa: sign in and out, Calls (find), Call (read, score), Scores, Audit and
Users (admins). Each route checks its input, asks ivr.qa, and renders; ivr.qa decides who may see
what and writes the audit log.

    GET       /qa/                          to the Calls page
    GET POST  /qa/sign-in
    POST      /qa/sign-out
    GET       /qa/calls                     ?from&to&region&language&intent&ticket&caller&consent&recording&scored
                                            &security&page
    GET       /qa/calls/<id>
    POST      /qa/calls/<id>/score
    POST      /qa/calls/<id>/legal-hold     action=place|release, reason (admins)
    POST      /qa/calls/<id>/delete         reason, confirm (the ticket number) (admins)
    GET       /qa/recordings/<id>/audio     the player's audio, with HTTP Range (audited as a listen)
    GET       /qa/recordings/<id>/download  (audited as a download)
    GET       /qa/scores
    GET       /qa/audit                     ?actor&action&target&from&to&page (admins)
    GET       /qa/users                     (admins)
    POST      /qa/users/<id>/enable|disable (admins)
"""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, g, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from ivr.errors import (
    AccessRefused,
    FilterError,
    RecordingRequestError,
    ScoreError,
    SignInRefused,
    UnknownCall,
    UnknownRecording,
    UserError,
)
from ivr.qa import admin, audit, holds, listening, scores, search
from ivr.qa.audit_log import AuditFilters, audit_log
from ivr.qa.review import open_call
from ivr.qa.reviewers import Reviewer
from ivr.qa.search import CallFilters, search_calls
from ivr.qa.signin import sign_in as check_password
from ivr.web import runtime
from ivr.web.qa import guard

bp = Blueprint("qa", __name__, url_prefix="/qa", template_folder="templates", static_folder="static")
CALL_ID = "<int(max=2147483647):call_id>"
RECORDING_ID = "<int(max=2147483647):recording_id>"
ENDED = {"idle": "Your session ended after a while without use. Sign in again.",
         "too_old": "Your session reached its time limit. Sign in again.",
         "disabled": "This user has been disabled."}


@bp.record_once
def _configure(state) -> None:
    guard.configure(state.app, state.app.extensions["ivr"])


bp.before_request(guard.check_request)
bp.after_request(guard.secure_headers)


@bp.app_context_processor
def _helpers():
    return {"csrf_token": guard.csrf_token, "when": when, "zone": zone}


@bp.get("/")
def home():
    return redirect(url_for("qa.calls"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    message = ENDED.get(request.args.get("ended", ""))
    if request.method == "GET":
        return render_template("qa/sign_in.html", message=message, next=request.args.get("next", ""))
    rt = runtime()
    try:
        _, token = check_password(rt, request.form.get("name", ""), request.form.get("password", ""),
                                  guard.client_ip())
    except SignInRefused as refused:
        if refused.retry_after:
            text = f"Too many attempts. Try again in {max(1, refused.retry_after // 60)} minute(s)."
            return render_template("qa/sign_in.html", message=text, next=request.form.get("next", "")), 429
        return render_template("qa/sign_in.html", message="Wrong name or password.",
                               next=request.form.get("next", "")), 401
    guard.begin(token)
    return redirect(guard.safe_next(request.form.get("next")), code=303)


@bp.post("/sign-out")
def sign_out():
    audit.write(runtime(), "sign_out", g.actor, f"user:{g.reviewer.name}")
    guard.end()
    return redirect(url_for("qa.sign_in"), code=303)


@bp.get("/calls")
def calls():
    rt = runtime()
    choices = search.choices(rt, g.reviewer)
    try:
        filters = CallFilters.from_query(request.args, set(rt.flows.flows))
    except FilterError as problem:
        return render_template("qa/calls.html", filters=CallFilters(), found=None, choices=choices,
                               problem=str(problem)), 400
    found = search_calls(rt, g.reviewer, filters, g.actor)
    return render_template("qa/calls.html", filters=filters, found=found, choices=choices, problem=None)


@bp.get(f"/calls/{CALL_ID}")
def call(call_id: int):
    review = open_call(runtime(), g.reviewer, call_id, g.actor)
    return render_template("qa/call.html", review=review, saved=request.args.get("saved") == "1", posted={},
                           problem=None, done=request.args.get("done"), admin_problem=None)


@bp.post(f"/calls/{CALL_ID}/legal-hold")
def legal_hold(call_id: int):
    rt = runtime()
    action = request.form.get("action")
    if action not in ("place", "release"):
        return _admin_problem(rt, call_id, "choose to place or release the hold")
    try:
        holds.set_hold(rt, g.reviewer, call_id, action == "place", request.form.get("reason", ""), g.actor)
    except RecordingRequestError as problem:
        return _admin_problem(rt, call_id, str(problem))
    return redirect(url_for("qa.call", call_id=call_id, done="held" if action == "place" else "released",
                            _anchor="admin"), code=303)


@bp.post(f"/calls/{CALL_ID}/delete")
def delete_recordings(call_id: int):
    rt = runtime()
    try:
        outcome = holds.delete_on_request(rt, g.reviewer, call_id, request.form.get("reason", ""),
                                          request.form.get("confirm", ""), g.actor)
    except RecordingRequestError as problem:
        return _admin_problem(rt, call_id, str(problem))
    if outcome.held or outcome.problems:
        lines = [*(f"kept under legal hold: {line}" for line in outcome.held), *outcome.problems]
        return _admin_problem(rt, call_id, f"deleted {len(outcome.removed)}; not deleted: " + "; ".join(lines), 409)
    return redirect(url_for("qa.call", call_id=call_id, done=f"deleted-{len(outcome.removed)}", _anchor="admin"),
                    code=303)


def _admin_problem(rt, call_id: int, problem: str, status: int = 400):
    review = open_call(rt, g.reviewer, call_id, g.actor)
    return render_template("qa/call.html", review=review, saved=False, posted={}, problem=None, done=None,
                           admin_problem=problem), status


@bp.get(f"/recordings/{RECORDING_ID}/audio")
def recording_audio(recording_id: int):
    return _media(recording_id, "listen")


@bp.get(f"/recordings/{RECORDING_ID}/download")
def recording_download(recording_id: int):
    return _media(recording_id, "download")


def _media(recording_id: int, purpose: str) -> Response:
    """The stored audio with HTTP Range (206 and Content-Range, If-Range, 416): werkzeug's handling,
    over a stream that reads only the range asked for from the store (local or S3)."""
    media = listening.open_media(runtime(), g.reviewer, recording_id, g.actor, purpose)
    answer = Response(media.stream, mimetype=media.content_type, direct_passthrough=True)
    answer.content_length = media.size
    if media.etag:
        answer.set_etag(media.etag)
    if purpose == "download":
        answer.headers.set("Content-Disposition", "attachment", filename=media.filename)
    return answer.make_conditional(request, accept_ranges=True, complete_length=media.size)


@bp.post(f"/calls/{CALL_ID}/score")
def score(call_id: int):
    rt = runtime()
    try:
        scores.save(rt, g.reviewer, call_id, request.form, g.actor)
    except ScoreError as problem:
        review = open_call(rt, g.reviewer, call_id, g.actor)
        return render_template("qa/call.html", review=review, saved=False, posted=request.form,
                               problem=str(problem), done=None, admin_problem=None), 400
    return redirect(url_for("qa.call", call_id=call_id, saved=1, _anchor="scorecard"), code=303)


@bp.get("/scores")
def scores_page():
    by_agent, latest = scores.scores_page(runtime(), g.reviewer, g.actor)
    return render_template("qa/scores.html", by_agent=by_agent, latest=latest)


@bp.get("/audit")
def audit_page():
    rt = runtime()
    try:
        filters = AuditFilters.from_query(request.args)
    except FilterError as problem:
        filters, problem = AuditFilters(), str(problem)
    else:
        problem = None
    found = audit_log(rt, g.reviewer, filters, g.actor)
    return render_template("qa/audit.html", filters=filters, found=found, problem=problem), 400 if problem else 200


@bp.get("/users")
def users_page():
    return render_template("qa/users.html", users=admin.users_page(runtime(), g.reviewer, g.actor), problem=None)


@bp.post("/users/<int(max=2147483647):user_id>/<any(enable, disable):change>")
def user_change(user_id: int, change: str):
    rt = runtime()
    try:
        admin.set_active_by_admin(rt, g.reviewer, user_id, change == "enable", g.actor)
    except UserError as problem:
        return render_template("qa/users.html", users=admin.every_user(rt), problem=str(problem)), 400
    return redirect(url_for("qa.users_page"), code=303)


@bp.errorhandler(AccessRefused)
def refused(error: AccessRefused):
    return render_template("qa/refused.html", reason=error.reason), 403


@bp.errorhandler(UnknownCall)
@bp.errorhandler(UnknownRecording)
def not_found(error: UnknownCall | UnknownRecording):
    return render_template("qa/error.html", status=404, message=str(error)), 404


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def unknown_page(error: HTTPException):
    """Addresses under /qa that match no page (a mistyped or doctored id): refused and audited, and
    without a session, the way to the sign-in page like any other page."""
    if not request.path.startswith("/qa"):
        return error
    rt = runtime()
    if rt.settings.secret_key is None:
        return render_template("qa/off.html"), 503
    reviewer = guard.signed_in(rt)
    if not isinstance(reviewer, Reviewer):
        return reviewer  # not signed in: audited, and sent to sign in
    audit.write(rt, "refused", guard.actor(reviewer), f"path:{request.path}"[:128], reason=f"{error.code}")
    page = make_response(render_template("qa/error.html", status=error.code, message=error.description), error.code)
    return guard.secure_headers(page)


@bp.errorhandler(400)
@bp.errorhandler(413)
def bad_request(error: HTTPException):
    return render_template("qa/error.html", status=error.code, message=error.description), error.code


def when(moment: datetime | None, zone: str | None = None) -> str:
    """A time as a reviewer reads it: in the region's own time (and UTC when no region is given)."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if zone:
        return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S %Z")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def zone(region: str | None) -> str | None:
    flow = runtime().flows.flows.get(region or "")
    return flow.timezone if flow else None
