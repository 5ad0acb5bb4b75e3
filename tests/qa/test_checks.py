"""The scorecard's automatic checks on timelines built event by event: each answers yes, no, n/a or
unknown, with the evidence in words."""
from __future__ import annotations

import pytest

from ivr.db.models import CallEvent
from ivr.qa.checks import CallFacts, agents, run
from ivr.qa.rubrics import AutoCheck
from tests.flowkit import shipped

GB = shipped().flows["gb"]
FRAUD = AutoCheck(check="prompt_played", prompts=["fraud_warning", "security_reminder"])
CONSENT = AutoCheck(check="consent_before_recording")
ISSUE = AutoCheck(check="issue_recognised")
AGENT = AutoCheck(check="reached_agent")


def facts(*events: tuple, path=("greeting", "fraud_warning", "consent")) -> CallFacts:
    return CallFacts(events=[CallEvent(id=n, kind=kind, detail=detail) for n, (kind, detail) in enumerate(events, 1)],
                     path=path, flow=GB)


def test_the_fraud_warning_is_found_on_the_path_or_its_absence_said():
    assert run(FRAUD, facts()).outcome == "yes"
    missed = run(FRAUD, facts(path=("greeting", "consent", "check_hours")))
    assert (missed.outcome, missed.evidence) == ("no", "no step on the call's path plays fraud_warning or "
                                                       "security_reminder")
    assert run(FRAUD, CallFacts(events=[], path=None, flow=GB)).outcome == "unknown"


@pytest.mark.parametrize("events, outcome, evidence", [
    ([("consent_given", {"method": "speech"}), ("recording_started", {})], "yes",
     "the caller agreed by speech before the recording started"),
    ([("consent_notice", {"method": "notice"}), ("recording_started", {})], "yes",
     "the caller told before the recording started"),
    ([("recording_started", {}), ("consent_given", {"method": "dtmf"})], "no",
     "the recording started before the caller agreed"),
    ([("recording_in-progress", {})], "no", "the recording started before the caller agreed"),
    ([("consent_declined", {"method": "dtmf"})], "yes", "the caller declined by dtmf; nothing was recorded"),
    ([("consent_given", {"method": "dtmf"})], "yes", "the caller agreed; no recording was started"),
    ([("urgent", {"trigger": "keypad"})], "n/a",
     "the call never reached the consent question and nothing was recorded"),
])
def test_consent_before_recording(events, outcome, evidence):
    found = run(CONSENT, facts(*events))
    assert (found.outcome, found.evidence) == (outcome, evidence)


@pytest.mark.parametrize("events, outcome", [
    ([("intent", {"intent": "withdrawal", "text": "my withdrawal is stuck"})], "yes"),
    ([("intent_unsure", {"intent": "kyc"}), ("intent_confirmed", {"intent": "kyc", "method": "dtmf"})], "yes"),
    ([("not_understood", {"text": "hmm"}), ("menu", {"step": "issue_menu", "key": "5", "set": {"issue": "deposit"}})],
     "yes"),
    ([("menu", {"step": "after_answer", "key": "2", "set": {}}), ("gave_up", {"step": "issue_menu"})], "no"),
    ([("hours", {"state": "closed"})], "n/a"),
])
def test_issue_recognised(events, outcome):
    assert run(ISSUE, facts(*events)).outcome == outcome


def test_agents_and_reached_agent():
    transfer = facts(("transfer_ringing", {"attempt": 1, "agent": "Emma Clarke"}),
                     ("transfer_attempt", {"attempt": 1, "agent": "emma", "outcome": "no-answer"}),
                     ("transfer_ringing", {"attempt": 2, "agent": "Farid Haddad"}),
                     ("transfer_attempt", {"attempt": 2, "agent": "farid", "outcome": "accepted"}))
    assert agents(transfer.events) == ["Farid Haddad"]
    assert run(AGENT, transfer).evidence == "talked with Farid Haddad"
    queued = facts(("queue_joined", {}), ("queue_hangup", {}), ("callback_booked", {}))
    assert run(AGENT, queued).outcome == "no" and "a call back was booked" in run(AGENT, queued).evidence
    assert run(AGENT, facts()).outcome == "n/a"
