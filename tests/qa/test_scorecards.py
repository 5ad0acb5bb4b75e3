"""Scoring a call on its region's rubric: the automatic checks filled from the timeline, the
reviewer's scores and comments saved (and audited), a scorecard that is not complete sent back
with what is missing, and the scores listed per agent and region."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from ivr.db.models import AuditEntry, QaScore
from tests.qa.conftest import csrf_of

# The calls are made at set times on the service's clock (in opening hours), whatever the wall clock says.


def auto_findings(page_text: str) -> dict[str, str]:
    """Each item's automatic check outcome, as the page shows it."""
    findings = {}
    for item in page_text.split('<fieldset class="item" id="item-')[1:]:
        outcome = re.search(r'data-outcome="([^"]+)"', item.split("</fieldset>")[0])
        if outcome:
            findings[item.split('"', 1)[0]] = outcome.group(1)
    return findings


def checked(page_text: str) -> dict[str, str]:
    """Each item's radio button that is checked."""
    return dict(re.findall(r'name="score_(\w+)" value="([^"]+)" checked', page_text))


def score_form(page_text: str, **choices) -> dict[str, str]:
    """The scorecard as the page fills it in, with some choices changed."""
    form = {"csrf_token": csrf_of(page_text), **{f"score_{k}": v for k, v in checked(page_text).items()}}
    selected = re.search(r'<select name="agent" id="agent">.*?</select>', page_text, re.S).group(0)
    agent = re.search(r"<option selected>([^<]+)</option>", selected)
    form["agent"] = agent.group(1) if agent else ""
    form.update({k if k in ("comment", "agent") or k.startswith("comment_") else f"score_{k}": v
                 for k, v in choices.items()})
    return form


def test_automatic_checks_come_from_the_timeline(qa):
    c, sam = qa.calls, qa.signed_in("sam")
    kyc = auto_findings(sam.get(f"/qa/calls/{c.gb_kyc}").text)
    assert kyc == {"fraud_warning": "yes", "consent": "yes", "issue_understood": "yes"}
    declined = auto_findings(sam.get(f"/qa/calls/{c.gb_queue}").text)
    assert declined == {"fraud_warning": "yes", "consent": "yes", "issue_understood": "yes"}
    urgent_page = sam.get(f"/qa/calls/{c.gb_urgent}").text
    assert auto_findings(urgent_page) == {"fraud_warning": "yes", "consent": "n/a", "issue_understood": "yes"}
    assert "step security_transfer played security_reminder" in urgent_page
    assert "the caller agreed by dtmf before the recording started" in sam.get(f"/qa/calls/{c.gb_kyc}").text


def test_the_scorecard_starts_from_the_automatic_checks(qa):
    page = qa.signed_in("alice").get(f"/qa/calls/{qa.calls.gb_kyc}").text
    assert checked(page) == {"fraud_warning": "2", "consent": "2", "issue_understood": "2"}
    assert "Not applicable: no agent took this call." in page  # agent conduct, on an IVR-only call


def test_a_saved_scorecard_is_kept_audited_and_shown_again(qa):
    client = qa.signed_in("alice")
    call_id = qa.calls.gb_queue
    page = client.get(f"/qa/calls/{call_id}").text
    assert '<option selected>Olivia Brown</option>' in page  # the agent who took the call
    before = qa.last_seq()
    form = score_form(page, greeting="2", resolution="1", agent_conduct="2", comment_resolution="no next step given",
                      comment="Polite, but the caller left without a date.")
    saved = client.post(f"/qa/calls/{call_id}/score", data=form)
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/qa/calls/{call_id}?saved=1#scorecard")
    with qa.sessions() as db:
        score = db.scalars(select(QaScore).where(QaScore.call_id == call_id, QaScore.reviewer == "alice")).one()
        entry = db.scalars(select(AuditEntry).where(AuditEntry.seq > before)).one()
    # greeting 2, fraud 2, consent 2, issue 2, resolution 1 × 2, conduct 2 × 2 of 2 × (1+1+1+1+2+2)
    assert (score.points, score.max_points, score.agent, score.region) == (14, 16, "Olivia Brown", "gb")
    assert score.items["resolution"] == {"score": 1, "comment": "no next step given"}
    assert score.items["consent"]["auto"] == "yes" and "declined" in score.items["consent"]["evidence"]
    assert (entry.action, entry.actor, entry.target) == ("score", "alice", f"call:{call_id}")
    assert entry.detail["points"] == 14 and entry.detail["rubric"].startswith("default@")
    again = client.get(saved.headers["Location"]).text
    assert "Scorecard saved." in again and "You scored this call 14/16" in again
    assert checked(again)["resolution"] == "1" and "no next step given" in again


def test_saving_again_updates_the_reviewers_one_scorecard(qa):
    client = qa.signed_in("sam")
    call_id = qa.calls.gb_urgent
    for resolution in ("0", "2"):
        page = client.get(f"/qa/calls/{call_id}").text
        form = score_form(page, greeting="1", resolution=resolution, agent_conduct="2")
        assert client.post(f"/qa/calls/{call_id}/score", data=form).status_code == 303
    with qa.sessions() as db:
        [score] = db.scalars(select(QaScore).where(QaScore.call_id == call_id)).all()
    assert score.items["resolution"]["score"] == 2 and score.items["consent"]["score"] is None  # n/a
    assert (score.points, score.max_points) == (13, 14)  # 1 + 2 + 2 + 2×2 + 2×2 of 2 + 2 + 2 + 4 + 4


def test_a_scorecard_with_an_item_left_unscored_comes_back_with_what_is_missing(qa):
    client = qa.signed_in("alice")
    call_id = qa.calls.gb_kyc_again
    page = client.get(f"/qa/calls/{call_id}").text
    form = score_form(page, comment="half done")  # greeting and resolution not scored
    answer = client.post(f"/qa/calls/{call_id}/score", data=form)
    assert answer.status_code == 400
    assert "Greeting and language: choose a score" in html.unescape(answer.text)
    assert "half done" in answer.text  # what was filled in is kept
    with qa.sessions() as db:
        assert db.scalars(select(QaScore).where(QaScore.call_id == call_id)).first() is None


@pytest.mark.parametrize("change, problem", [
    ({"score_greeting": "7"}, "Greeting and language: choose a score"),
    ({"agent": "Somebody Else"}, "did not take this call"),
    ({"comment": "x" * 2001}, "at most 2000 characters"),
    ({"score_resolution": "2\x00"}, "Resolution: choose a score"),
])
def test_a_scorecard_that_cannot_be_right_is_refused(qa, change, problem):
    client = qa.signed_in("alice")
    call_id = qa.calls.gb_queue
    page = client.get(f"/qa/calls/{call_id}").text
    form = score_form(page, greeting="2", resolution="2", agent_conduct="2") | change
    answer = client.post(f"/qa/calls/{call_id}/score", data=form)
    assert answer.status_code == 400 and problem in html.unescape(answer.text)


def test_scores_are_listed_per_agent_and_region_for_what_the_reviewer_may_see(qa):
    c = qa.calls
    for who, call_id in (("bob", c.us_kyc), ("ada", c.gb_queue), ("sam", c.gb_urgent)):
        client = qa.signed_in(who)
        page = client.get(f"/qa/calls/{call_id}").text
        form = score_form(page, greeting="2", resolution="2", agent_conduct="1")
        assert client.post(f"/qa/calls/{call_id}/score", data=form).status_code == 303
    alice = words(qa.signed_in("alice").get("/qa/scores").text)
    assert "gb Olivia Brown" in alice and "Farid Haddad" not in alice and " us " not in alice
    ada = words(qa.signed_in("ada").get("/qa/scores").text)
    assert "gb Farid Haddad 1 12/14 86%" in ada  # 2 + 2 + n/a + 2 + 2×2 + 1×2 of 2 + 2 + 2 + 4 + 4
    assert "us the IVR alone 1 12/12 100%" in ada  # agent conduct does not apply: no agent
    assert "Other reviewers" in qa.signed_in("alice").get(f"/qa/calls/{c.gb_queue}").text


def words(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))

