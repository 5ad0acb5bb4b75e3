"""A fake of Twilio's REST API (2010-04-01) for the calls and recordings the app uses.

Recording media is served as WAV as recorded; `RequestedChannels=1` mixes a dual-channel
recording down and `RequestedChannels=2` on a mono one is refused (400, 16113), as Twilio documents.
Twilio-shaped JSON and errors, HTTP Basic auth with the account SID and auth token, the same
status codes (201 create, 200 fetch/update, 204 delete). The app's real twilio Client talks to it
when IVR_TWILIO_API_URL points here.
"""
from __future__ import annotations

import io
import threading
import time
import wave
from array import array
from collections.abc import Callable
from email.utils import formatdate

from flask import Flask, Response, abort, jsonify, request
from werkzeug.datastructures import MultiDict
from werkzeug.serving import make_server

from ivr.audio.wav import wav_bytes
from ivr.emulator.ledger import API_VERSION, CallEntry, Ledger, RecordingEntry
from ivr.emulator.sids import new_sid

BASE = f"/{API_VERSION}/Accounts/<account>"
FINAL = ("completed", "busy", "failed", "no-answer", "canceled")
ACTIVE_RECORDING = ("in-progress", "paused")
LIST_PARAMETERS = ("StatusCallbackEvent", "RecordingStatusCallbackEvent")  # repeated keys on the wire
PAUSE_BEHAVIORS = ("skip", "silence")

# Codes from Twilio's error dictionary. INVALID_PARAMETER is a stand-in: the exact code Twilio
# gives an out-of-enum value here is not confirmed.
AUTHENTICATE, METHOD_NOT_ALLOWED, NOT_FOUND, INVALID_PARAMETER = 20003, 20004, 20404, 20001
NOT_COMPLETE, NO_TO, NO_FROM, NO_INSTRUCTIONS, INVALID_CALL_STATE, CONCURRENT_RECORDINGS = (
    20009, 21201, 21213, 21205, 21220, 16108)
MONO_AS_DUAL = 16113  # RequestedChannels=2 on a mono recording
STORAGE = "/emulated-storage/"  # where Options.media_redirect sends media requests


def downmix(wav: bytes) -> bytes:
    """A dual-channel WAV mixed down to one channel (what RequestedChannels=1 downloads)."""
    with wave.open(io.BytesIO(wav), "rb") as source:
        rate, frames = source.getframerate(), array("h", source.readframes(source.getnframes()))
    mixed = array("h", (max(-32768, min(32767, left + right)) for left, right in zip(frames[0::2], frames[1::2])))
    return wav_bytes(mixed.tobytes(), rate=rate, channels=1)


def _error(status: int, code: int, message: str) -> Response:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}
    if status == 401:
        body["detail"] = ""
    response = jsonify(body)
    response.status_code = status
    return response


def _not_found() -> Response:
    return _error(404, NOT_FOUND, f"The requested resource {request.path} was not found")


def _created(body: dict) -> Response:
    response = jsonify(body)
    response.status_code = 201
    return response


def form_options(form: MultiDict) -> dict:
    """The posted parameters, with the list-valued ones (sent as repeated keys) as lists."""
    return {key: form.getlist(key) if key in LIST_PARAMETERS else form[key] for key in form}


def call_json(ledger: Ledger, call: CallEntry) -> dict:
    uri = f"/{API_VERSION}/Accounts/{ledger.account_sid}/Calls/{call.sid}"
    return {"sid": call.sid, "account_sid": ledger.account_sid, "to": call.to, "to_formatted": call.to,
            "from": call.from_, "from_formatted": call.from_, "status": call.status, "direction": call.direction,
            "api_version": API_VERSION, "date_created": call.created, "date_updated": formatdate(usegmt=True),
            "start_time": call.created, "end_time": None, "duration": None if call.duration is None
            else str(call.duration), "price": None, "price_unit": "USD", "parent_call_sid": None,
            "answered_by": call.answered_by, "caller_name": None, "forwarded_from": None, "group_sid": None,
            "phone_number_sid": None, "queue_time": "0", "trunk_sid": None, "uri": uri + ".json",
            "subresource_uris": {"recordings": uri + "/Recordings.json", "notifications": uri + "/Notifications.json"}}


def _reported_status(rec: RecordingEntry, fetched: bool) -> str:
    """Update responses show in-progress/paused/stopped; a fetch shows a recording not yet stored as processing."""
    if fetched and rec.status in ("in-progress", "paused", "stopped"):
        return "processing"
    return rec.status


def _recording_fields(ledger: Ledger, rec: RecordingEntry, fetched: bool) -> dict:
    return {"sid": rec.sid, "account_sid": ledger.account_sid, "call_sid": rec.call_sid, "api_version": API_VERSION,
            "conference_sid": None, "date_created": rec.created, "date_updated": formatdate(usegmt=True),
            "start_time": rec.created, "duration": None if rec.duration is None else str(rec.duration),
            "channels": rec.channels, "source": rec.source, "status": _reported_status(rec, fetched),
            "price": None, "price_unit": "USD", "error_code": None, "encryption_details": None}


def recording_json(ledger: Ledger, rec: RecordingEntry, fetched: bool = True) -> dict:
    """The account-level Recording resource (…/Recordings/RE….json), which carries the media URL."""
    uri = f"/{API_VERSION}/Accounts/{ledger.account_sid}/Recordings/{rec.sid}"
    return {**_recording_fields(ledger, rec, fetched), "uri": uri + ".json", "media_url": ledger.recording_url(rec.sid),
            "subresource_uris": {"transcriptions": uri + "/Transcriptions.json"}}


def call_recording_json(ledger: Ledger, rec: RecordingEntry, fetched: bool = False) -> dict:
    """The call's Recording subresource (…/Calls/CA…/Recordings/RE….json): no media URL, has the track."""
    uri = f"/{API_VERSION}/Accounts/{ledger.account_sid}/Calls/{rec.call_sid}/Recordings/{rec.sid}.json"
    return {**_recording_fields(ledger, rec, fetched), "uri": uri, "track": rec.track}


def rest_api(ledger: Ledger, auth_token: str, place_call: Callable[[CallEntry, dict], None] | None = None,
             start_recording: Callable[[str, dict], RecordingEntry | None] | None = None,
             media_redirect: Callable[[], bool] = lambda: False,
             account_now: Callable[[], float | None] | None = None) -> Flask:
    """The fake API as a Flask app. `place_call` runs a created call; `start_recording` starts one on a live call;
    `account_now` is the account's time of the webhook being answered (a REST update takes effect no earlier).

    Both callbacks get the posted parameters with StatusCallbackEvent/RecordingStatusCallbackEvent as lists.
    """
    app = Flask("twilio-emulator-rest")

    @app.before_request
    def authenticate():
        if request.path.startswith(STORAGE):  # the redirect target: its URL is the credential
            return None
        auth = request.authorization
        if not auth or auth.username != ledger.account_sid or auth.password != auth_token:
            return _error(401, AUTHENTICATE, "Authenticate")
        if request.view_args and request.view_args.get("account") not in (None, ledger.account_sid):
            return _not_found()

    @app.errorhandler(404)
    def unknown_resource(_):
        return _not_found()

    @app.errorhandler(405)
    def wrong_method(_):
        return _error(405, METHOD_NOT_ALLOWED, f"Method not allowed: {request.method} {request.path}")

    @app.post(f"{BASE}/Calls.json")
    def create_call(account):
        form = request.form
        if not form.get("To"):
            return _error(400, NO_TO, "No 'To' number is specified")
        if not form.get("From"):
            return _error(400, NO_FROM, "No 'From' number is specified")
        if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
            return _error(400, NO_INSTRUCTIONS, "Either Url, Twiml or ApplicationSid is required")
        call = ledger.add_call(CallEntry(sid=new_sid("CA"), to=form["To"], from_=form["From"],
                                         direction="outbound-api"))
        body = call_json(ledger, call)  # before placing it: Twilio answers "queued" whatever happens next
        if place_call is not None:
            place_call(call, form_options(form))
        return _created(body)

    @app.get(f"{BASE}/Calls.json")
    def list_calls(account):
        """The account's calls, newest first, filtered by To, From and Status (one page)."""
        args = request.args
        page_size = min(int(args.get("PageSize", 50)), 1000)
        with ledger.lock:
            calls = sorted(ledger.calls.values(), key=lambda c: c.created_at, reverse=True)
        for name, attr in (("To", "to"), ("From", "from_"), ("Status", "status")):
            if args.get(name):
                calls = [c for c in calls if getattr(c, attr) == args[name]]
        uri = f"/{API_VERSION}/Accounts/{ledger.account_sid}/Calls.json"
        return jsonify({"calls": [call_json(ledger, c) for c in calls[:page_size]],
                        "end": min(len(calls), page_size) - 1, "first_page_uri": uri, "next_page_uri": None,
                        "page": 0, "page_size": page_size, "previous_page_uri": None, "start": 0, "uri": uri})

    @app.post(f"{BASE}/Messages.json")
    def create_message(account):
        form = request.form
        if not form.get("To"):
            return _error(400, 21604, "A 'To' phone number is required.")
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body") and not form.get("MediaUrl"):
            return _error(400, 21602, "Message body is required.")
        message = {"sid": new_sid("SM"), "account_sid": ledger.account_sid, "to": form["To"],
                   "from": form.get("From"), "body": form.get("Body", ""), "status": "queued",
                   "direction": "outbound-api",
                   "api_version": API_VERSION, "date_created": formatdate(usegmt=True), "num_segments": "1",
                   "price": None, "price_unit": "USD", "error_code": None, "error_message": None,
                   "uri": f"/{API_VERSION}/Accounts/{ledger.account_sid}/Messages/MM.json"}
        message["uri"] = message["uri"].replace("MM", message["sid"])
        with ledger.lock:
            ledger.messages.append(message)
        response = jsonify(message)
        response.status_code = 201
        return response

    @app.get(f"{BASE}/Calls/<sid>.json")
    def fetch_call(account, sid):
        call = ledger.calls.get(sid)
        return jsonify(call_json(ledger, call)) if call else _not_found()

    @app.post(f"{BASE}/Calls/<sid>.json")
    def update_call(account, sid):
        call = ledger.calls.get(sid)
        if call is None:
            return _not_found()
        form = request.form
        status = form.get("Status")
        if status and status not in ("completed", "canceled"):
            return _error(400, INVALID_PARAMETER, f"Invalid call status {status!r}")
        if (form.get("Url") and form.get("Twiml")) or not (status or form.get("Url") or form.get("Twiml")):
            return _error(400, NO_INSTRUCTIONS, "Give one of Url, Twiml or Status")
        if call.status in FINAL:
            return _error(400, INVALID_CALL_STATE, "Call is not in-progress. Cannot redirect.")
        with ledger.lock:
            call.pending_at = time.monotonic()
            call.pending_due = account_now() if account_now else None
            if status:
                call.pending = ("status", status)
            elif form.get("Twiml"):
                call.pending = ("twiml", form["Twiml"])
            else:
                call.pending = ("url", form["Url"], form.get("Method", "POST"))
        return jsonify(call_json(ledger, call))

    @app.post(f"{BASE}/Calls/<call_sid>/Recordings.json")
    def create_call_recording(account, call_sid):
        call = ledger.calls.get(call_sid)
        if call is None:
            return _not_found()
        if call.status != "in-progress" or start_recording is None:
            return _error(400, INVALID_CALL_STATE, "Call is not in-progress. Cannot record.")
        rec = start_recording(call_sid, form_options(request.form))
        if rec is None:
            return _error(400, INVALID_CALL_STATE, "Requested resource is not eligible for recording")
        return _created(call_recording_json(ledger, rec))

    def call_recording(call_sid: str, sid: str) -> RecordingEntry:
        """The recording a call-scoped URL names: an RE SID of that call, or Twilio.CURRENT (its one active one)."""
        if sid != "Twilio.CURRENT":
            rec = ledger.recordings.get(sid)
            if rec is None or rec.call_sid != call_sid or rec.status == "deleted":
                abort(_not_found())
            return rec
        live = ledger.current_recording(call_sid)
        if not live:
            abort(_not_found())
        if len(live) > 1:
            abort(_error(400, CONCURRENT_RECORDINGS, "Request failed due to concurrent recordings: use the RE SID"))
        return live[0]

    @app.get(f"{BASE}/Calls/<call_sid>/Recordings/<sid>.json")
    def fetch_call_recording(account, call_sid, sid):
        return jsonify(call_recording_json(ledger, call_recording(call_sid, sid), fetched=True))

    @app.post(f"{BASE}/Calls/<call_sid>/Recordings/<sid>.json")
    def update_call_recording(account, call_sid, sid):
        if call_sid not in ledger.calls:
            return _not_found()
        rec = call_recording(call_sid, sid)
        status, behavior = request.form.get("Status"), request.form.get("PauseBehavior", "silence")
        if status not in ("paused", "in-progress", "stopped"):
            return _error(400, INVALID_PARAMETER, f"Invalid recording status {status!r}")
        if behavior not in PAUSE_BEHAVIORS:
            return _error(400, INVALID_PARAMETER, f"Invalid PauseBehavior {behavior!r}: use skip or silence")
        with ledger.lock:
            if rec.status not in ACTIVE_RECORDING:
                return _error(400, INVALID_CALL_STATE, f"Recording is {rec.status}, not in-progress or paused")
            rec.status = status
            if status == "paused":
                rec.pause_behavior = behavior
        return jsonify(call_recording_json(ledger, rec))

    @app.get(f"{BASE}/Recordings/<sid>.json")
    def fetch_recording(account, sid):
        rec = ledger.recordings.get(sid)
        soft_deleted_too = request.args.get("IncludeSoftDeleted") == "true"
        if rec is None or (rec.status == "deleted" and not soft_deleted_too):
            return _not_found()
        return jsonify(recording_json(ledger, rec))

    @app.get(f"{BASE}/Recordings/<sid>")
    @app.get(f"{BASE}/Recordings/<sid>.wav")
    def recording_media(account, sid):
        rec = ledger.recordings.get(sid)
        if rec is None or rec.status != "completed":
            return _not_found()
        if media_redirect():
            target = f"{request.host_url.rstrip('/')}{STORAGE}{sid}.wav?{request.query_string.decode()}"
            return Response(status=307, headers={"Location": target})
        return media_file(rec)

    @app.get(f"{STORAGE}<sid>.wav")
    def stored_media(sid):
        rec = ledger.recordings.get(sid)
        return media_file(rec) if rec is not None and rec.status == "completed" else _not_found()

    def media_file(rec: RecordingEntry) -> Response:
        requested = request.args.get("RequestedChannels")
        if requested not in (None, "1", "2"):
            return _error(400, INVALID_PARAMETER, f"Invalid RequestedChannels {requested!r}: use 1 or 2")
        if requested == "2" and rec.channels == 1:
            return _error(400, MONO_AS_DUAL, "Cannot download a dual-channel presentation of a mono recording")
        if requested == "1" and rec.channels == 2:
            return Response(downmix(rec.audio), mimetype="audio/x-wav")
        return Response(rec.audio, mimetype="audio/x-wav")

    @app.get(f"{BASE}/Recordings/<sid>.mp3")
    def recording_mp3(account, sid):
        # The emulator stores WAV only (the app downloads .wav), so MP3 media is answered as missing.
        return _not_found()

    @app.delete(f"{BASE}/Recordings/<sid>.json")
    @app.delete(f"{BASE}/Calls/<call_sid>/Recordings/<sid>.json")
    def delete_recording(account, sid, call_sid=None):
        rec = ledger.recordings.get(sid)
        if rec is None or rec.status == "deleted" or (call_sid and rec.call_sid != call_sid):
            return _not_found()
        with ledger.lock:
            if rec.status not in ("completed", "absent"):
                # Only a stored recording can be deleted; the HTTP status for this case is not confirmed.
                return _error(400, NOT_COMPLETE, "Cannot delete this resource before it is complete")
            rec.status, rec.audio = "deleted", b""
        return Response(status=204)

    return app


class RestServer:
    """A WSGI app (the fake API, or the service itself for `ivr call`) on a local port, in a thread."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0):
        self.server = make_server(host, port, app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        # A short poll interval so leaving the context (every test's teardown) takes milliseconds, not 0.5 s.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> RestServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
