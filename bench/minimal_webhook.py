"""The yardstick for bench/webhooks.py: the least a stateful Twilio webhook can do.

It checks X-Twilio-Signature with twilio's RequestValidator, reads and writes the call's state with
one Redis GET and one SET, and answers a <Gather> built with VoiceResponse. bench/webhooks.py serves
it with gunicorn exactly as `ivr serve` serves the service (2 workers x 8 threads, gthread).
Configured from the environment: BENCH_REDIS_URL, BENCH_AUTH_TOKEN, BENCH_PUBLIC_URL.
"""
from __future__ import annotations

import os

from flask import Flask, abort, request
from redis import Redis
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

app = Flask(__name__)
redis = Redis.from_url(os.environ["BENCH_REDIS_URL"], decode_responses=True, socket_timeout=5)
validator = RequestValidator(os.environ["BENCH_AUTH_TOKEN"])
public = os.environ["BENCH_PUBLIC_URL"].rstrip("/")


@app.post("/voice/<step>")
def voice(step: str):
    if not validator.validate(public + request.full_path.rstrip("?"), request.form,
                              request.headers.get("X-Twilio-Signature", "")):
        abort(403)
    key = f"minimal:call:{request.form['CallSid']}"
    seen = int(redis.get(key) or 0)
    redis.set(key, seen + 1, ex=4 * 3600)
    reply = VoiceResponse()
    gather = reply.gather(num_digits=1, action="/voice/gather", timeout=5)
    gather.say(f"Step {seen + 1}. Press 1 for support, 2 for billing.", language="en-GB")
    return str(reply), 200, {"Content-Type": "text/xml"}
