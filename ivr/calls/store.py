"""Live call state in Redis, keyed by CallSid, with a TTL so abandoned calls clean themselves up."""
from __future__ import annotations

from redis import Redis

from ivr.core.state import CallState

STATE_KEY = "ivr:call:{sid}"
REPLY_KEY = "ivr:reply:{token}"
LAST_KEY = "ivr:last:{sid}"
ANSWER_KEY = "ivr:answer:{sid}"  # the first answer to /voice/incoming: ANSWERING while it is prepared
ANSWERING = "answering"
ANSWER_CLAIM_TTL = 60  # a claim outlives any webhook (Twilio gives up after 15 s), then lapses
REPLY_TTL = 600  # Twilio retries within seconds; ten minutes is plenty


class CallStore:
    def __init__(self, redis: Redis, ttl_seconds: int):
        self.redis = redis
        self.ttl = ttl_seconds

    def load(self, call_sid: str) -> CallState | None:
        raw = self.redis.get(STATE_KEY.format(sid=call_sid))
        return CallState.from_json(raw) if raw else None

    def save(self, state: CallState) -> None:
        self.redis.set(STATE_KEY.format(sid=state.call_sid), state.to_json(), ex=self.ttl)

    def forget(self, call_sid: str) -> None:
        self.redis.delete(STATE_KEY.format(sid=call_sid))

    def last_reply(self, call_sid: str) -> str | None:
        """The TwiML we last answered this call with."""
        return self.redis.get(LAST_KEY.format(sid=call_sid))

    def remember_last(self, call_sid: str, twiml: str) -> None:
        self.redis.set(LAST_KEY.format(sid=call_sid), twiml, ex=self.ttl)

    def claim_answer(self, call_sid: str) -> bool:
        """Only one request answers a new call: True for the first to ask."""
        return bool(self.redis.set(ANSWER_KEY.format(sid=call_sid), ANSWERING, nx=True, ex=ANSWER_CLAIM_TTL))

    def first_answer(self, call_sid: str) -> str | None:
        """The TwiML the call was first answered with, ANSWERING while it is prepared, or None."""
        raw = self.redis.get(ANSWER_KEY.format(sid=call_sid))
        return raw.decode() if isinstance(raw, bytes) else raw

    def keep_answer(self, call_sid: str, twiml: str) -> None:
        self.redis.set(ANSWER_KEY.format(sid=call_sid), twiml, ex=REPLY_TTL)

    def drop_answer_claim(self, call_sid: str) -> None:
        """The first attempt failed: let a retry answer the call."""
        try:
            self.redis.delete(ANSWER_KEY.format(sid=call_sid))
        except Exception:  # Redis down: the claim lapses on its own after ANSWER_CLAIM_TTL
            return

    def remembered_reply(self, token: str) -> str | None:
        """The TwiML we already answered a retried request with (same I-Twilio-Idempotency-Token)."""
        raw = self.redis.get(REPLY_KEY.format(token=token))
        return raw.decode() if isinstance(raw, bytes) else raw

    def remember_reply(self, token: str, twiml: str) -> None:
        self.redis.set(REPLY_KEY.format(token=token), twiml, ex=REPLY_TTL)

