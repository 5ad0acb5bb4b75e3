"""Random walks through every shipped flow: no recording ever starts before consent in an all-party region."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.core import engine
from ivr.core.actions import BookCallback, ConsentRecorded, Gather, JoinQueue, Listen, StartRecording, Transfer
from ivr.core.events import CallbackBooked, CallStarted, Digits, Heard, NoInput, QueueLeft, Speech, TransferEnded
from tests.flowkit import shipped

pytestmark = pytest.mark.time_sensitive  # hours, the rota, paging, call backs or scheduling

FLOWS = shipped()
events = st.one_of(
    st.sampled_from("0123456789*#").map(Digits),
    st.just(NoInput()),
    st.sampled_from(["yes", "no", "sure", "hello", "si", "同意", "不", "예", "아니요", "I don't know"]).map(Speech),
    st.sampled_from(["accepted", "no-answer", "busy", "not-accepted", "none-left"]),  # how a transfer attempt ends
)
QUEUE_LEFT = {"accepted": "connected", "none-left": "full", "busy": "closed"}  # how a wait in the queue ends


HEARD = {"yes": ("kyc", 0.9), "no": ("withdrawal", 0.5), "sure": ("account_takeover", 0.95), "hello": (None, 0.0),
         "si": ("other", 0.0), "I don't know": ("agent", 0.8)}


def fit(event, flow, state):
    """The walk's next event as the call can take it: a transfer waits only for its result, and a
    listen step hears what was said (classified as some intent) unless it is confirming."""
    kind = flow.steps[state.step].kind
    if kind == "transfer":
        outcome = event if isinstance(event, str) else "no-answer"
        return TransferEnded(state.transfer.attempt, outcome)
    if kind == "callback_offer" and state.offer.stage == "booking":
        return CallbackBooked("soon", 5, "2026-11-24T10:05")  # the app books what the step asked for
    if kind == "queue" and isinstance(event, str):
        return QueueLeft(QUEUE_LEFT.get(event, "rejoin"))
    if isinstance(event, str):
        return None
    if kind == "listen" and not state.listening.confirming and not isinstance(event, Digits):
        text = event.text if isinstance(event, Speech) else ""
        intent, confidence = HEARD.get(text, ("other", 0.0))
        return Heard(text, intent, confidence, urgent=intent == "account_takeover", source="stream")
    return event
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC))


@settings(max_examples=300, deadline=None)
@given(region=st.sampled_from(sorted(FLOWS.flows)), walk=st.lists(events, max_size=25), now=moments)
def test_random_walks_never_record_before_consent(region, walk, now):
    flow = FLOWS.flows[region]
    outcome = engine.step(flow, engine.new_call(flow, "CA" + "0" * 32, ticket="1234567"), CallStarted(), now)
    consented = False
    for event in [None, *walk]:
        if event is not None:
            if outcome.state.ended:
                break
            event = fit(event, flow, outcome.state)
            if event is None:
                continue
            outcome = engine.step(flow, outcome.state, event, now + timedelta(seconds=30))
        for action in outcome.actions:
            if isinstance(action, ConsentRecorded) and action.outcome in ("given", "notice"):
                consented = True
            if isinstance(action, StartRecording) and flow.consent == "all-party":
                assert consented, f"{region}: recording started before consent on path {outcome.state.path}"
        assert outcome.state.ended or any(isinstance(a, (Gather, Transfer, Listen, JoinQueue, BookCallback))
                                          for a in outcome.actions)
    if flow.consent == "all-party" and outcome.state.consent == "declined":
        assert not outcome.state.recording
