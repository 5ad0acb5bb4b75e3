"""How sessions end — signing out (a copied cookie is useless after), idle too long, at their time
limit, the user disabled — and the limits on failed sign-ins per user and per address, all on the
service's clock."""
from __future__ import annotations

import pytest

from ivr.qa import admin
from ivr.qa.admin import OPERATOR
from tests.qa.conftest import PASSWORD, csrf_of, sign_in

pytestmark = pytest.mark.time_sensitive  # session expiry and sign-in limits run on the service's clock


def test_repeated_failures_are_limited_per_user_then_allowed_again_after_the_window(people):
    people.add_user("limited", "qa", "gb")
    for _ in range(people.settings.signin_max_failures):
        assert sign_in(people.client(), "limited", "a wrong password!").status_code == 401
    before = people.last_seq()
    refused = sign_in(people.client(), "limited", PASSWORD)  # even the right password, now
    assert refused.status_code == 429 and "Too many attempts" in refused.text
    assert people.audit_entries(after=before)[0].action == "sign_in_limited"
    assert sign_in(people.client(), "alice", PASSWORD).status_code == 303  # another user is not affected
    people.clock.advance(minutes=2 * people.settings.signin_window_minutes)  # the service's clock, not the wall's
    assert sign_in(people.client(), "limited", PASSWORD).status_code == 303


def test_repeated_failures_from_one_address_are_limited_whichever_names_they_try(people):
    for number in range(people.settings.signin_ip_max_failures):
        sign_in(people.client(), f"guess{number}", "a wrong password!")
    refused = sign_in(people.client(), "alice", PASSWORD)
    assert refused.status_code == 429
    other_address = people.client()
    other_address.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert sign_in(other_address, "alice", PASSWORD).status_code == 303


def test_signing_out_ends_the_session_even_for_a_copied_cookie(people):
    client = people.signed_in("alice")
    stolen = client.get_cookie("ivr_qa", path="/qa").value
    token = csrf_of(client.get("/qa/calls").text)
    before = people.last_seq()
    assert client.post("/qa/sign-out", data={"csrf_token": token}).status_code == 303
    assert people.audit_entries(after=before)[0].action == "sign_out"
    replay = people.client()
    replay.set_cookie("ivr_qa", stolen, path="/qa")
    assert replay.get("/qa/calls").status_code == 303


def test_a_session_ends_after_the_idle_time_on_the_service_clock(people):
    client = people.signed_in("alice")
    people.clock.advance(minutes=people.settings.session_idle_minutes - 1)
    assert client.get("/qa/calls").status_code == 200  # used: the idle time starts again
    people.clock.advance(minutes=people.settings.session_idle_minutes - 1)
    assert client.get("/qa/calls").status_code == 200
    people.clock.advance(minutes=people.settings.session_idle_minutes)
    before = people.last_seq()
    ended = client.get("/qa/calls")
    assert ended.status_code == 303 and "ended=idle" in ended.headers["Location"]
    assert "after a while without use" in client.get(ended.headers["Location"]).text
    [entry] = people.audit_entries(after=before)
    assert (entry.action, entry.actor, entry.detail["reason"]) == ("session_expired", "alice", "idle")
    assert client.get("/qa/calls").status_code == 303  # and it stays ended


def test_a_session_ends_at_its_time_limit_however_busy(people):
    client = people.signed_in("alice")
    answers = []
    for _ in range(people.settings.session_max_hours * 3 + 1):  # a page every 20 minutes, never idle
        people.clock.advance(minutes=20)
        answers.append(client.get("/qa/calls"))
        if answers[-1].status_code != 200:
            break
    assert len(answers) == people.settings.session_max_hours * 3  # the last one is at the time limit
    assert answers[-1].status_code == 303 and "ended=too_old" in answers[-1].headers["Location"]


def test_disabling_a_user_ends_their_sessions_at_once(people):
    people.add_user("carol", "qa", "gb")
    client = people.signed_in("carol")
    assert client.get("/qa/calls").status_code == 200
    admin.set_active(people.rt, OPERATOR, "carol", False)
    assert client.get("/qa/calls").status_code == 303
    assert sign_in(people.client(), "carol", PASSWORD).status_code == 401
    admin.set_active(people.rt, OPERATOR, "carol", True)
    assert sign_in(people.client(), "carol", PASSWORD).status_code == 303
