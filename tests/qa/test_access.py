"""Who gets in, and what each role and region sees, over HTTP: every /qa page without a session,
with the wrong role or region, with a forged CSRF token, and with doctored ids, is refused and
audited. (How sessions end, and the sign-in limits, are in test_sessions.py.)"""
from __future__ import annotations

import html
import re

import pytest

from ivr import create_app
from tests.qa.conftest import PASSWORD, csrf_of, qa_settings, sign_in


def pages(qa) -> list[tuple[str, str]]:
    """Every QA page but the sign-in page and the stylesheet: (method, path)."""
    c = qa.calls
    return [("GET", "/qa/"), ("GET", "/qa/calls"), ("GET", "/qa/calls?region=gb"), ("GET", f"/qa/calls/{c.gb_kyc}"),
            ("POST", f"/qa/calls/{c.gb_kyc}/score"), ("GET", "/qa/scores"), ("GET", "/qa/audit"),
            ("GET", "/qa/users"), ("POST", "/qa/users/1/disable"), ("POST", "/qa/sign-out"),
            ("POST", f"/qa/calls/{c.gb_kyc}/legal-hold"), ("POST", f"/qa/calls/{c.gb_kyc}/delete"),
            ("GET", "/qa/recordings/1/audio"), ("GET", "/qa/recordings/1/download"),
            ("GET", "/qa/no-such-page"), ("GET", "/qa/calls/..%2F..%2Fetc%2Fpasswd")]


def test_every_qa_page_sends_someone_not_signed_in_to_sign_in_and_is_audited(qa):
    client = qa.client()
    for method, path in pages(qa):
        before = qa.last_seq()
        answer = client.open(path, method=method, data={"csrf_token": "x"} if method == "POST" else None)
        assert answer.status_code == 303, (method, path, answer.status_code)
        assert answer.headers["Location"].startswith("/qa/sign-in"), (method, path)
        assert "<main>" not in answer.text  # nothing of the page itself
        [entry] = qa.audit_entries(after=before)
        assert (entry.action, entry.actor, entry.detail["reason"]) == ("refused", None, "not signed in"), path
        assert entry.target == f"path:{path.split('?')[0].replace('%2F', '/')}" or entry.target.startswith("path:")
        assert entry.ip == "127.0.0.1"


def test_the_sign_in_page_and_stylesheet_answer_without_a_session(qa):
    client = qa.client()
    page = client.get("/qa/sign-in")
    assert page.status_code == 200 and 'name="password"' in page.text
    assert client.get("/qa/static/qa.css").status_code == 200


def test_signing_in_lands_on_the_calls_page_and_is_audited(qa):
    client = qa.client()
    before = qa.last_seq()
    answer = sign_in(client, "alice", PASSWORD, next="/qa/calls?region=gb")
    assert answer.status_code == 303 and answer.headers["Location"] == "/qa/calls?region=gb"
    page = client.get("/qa/calls")
    assert page.status_code == 200 and 'id="signed-in-as">alice<' in page.text
    actions = [(e.action, e.actor) for e in qa.audit_entries(after=before)]
    assert actions == [("sign_in", "alice"), ("search", "alice")]


@pytest.mark.parametrize("target", ["https://evil.example/qa/", "//evil.example/qa/", "/voice/incoming",
                                    "/qa/\\evil", "javascript:alert(1)"])
def test_after_signing_in_only_a_qa_page_of_this_site_is_followed(qa, target):
    answer = sign_in(qa.client(), "alice", PASSWORD, next=target)
    assert answer.headers["Location"] == "/qa/calls"


@pytest.mark.parametrize("name", ["alice\x00", "a" * 500, "../alice", "ALICE'--"])
def test_a_doctored_name_is_just_a_wrong_name(qa, name):
    before = qa.last_seq()
    assert sign_in(qa.client(), name, PASSWORD).status_code == 401
    [entry] = qa.audit_entries(after=before)
    assert entry.action == "sign_in_failed" and "\x00" not in entry.target and len(entry.target) <= 128


def test_a_wrong_password_or_unknown_user_gets_the_same_answer_and_is_audited(qa):
    before = qa.last_seq()
    wrong = sign_in(qa.client(), "alice", "not the password at all")
    nobody = sign_in(qa.client(), "mallory", "not the password at all")
    assert wrong.status_code == nobody.status_code == 401
    assert "Wrong name or password." in wrong.text and "Wrong name or password." in nobody.text
    entries = qa.audit_entries(after=before)
    assert [(e.action, e.target, e.detail["reason"]) for e in entries] == [
        ("sign_in_failed", "user:alice", "wrong password"), ("sign_in_failed", "user:mallory", "no such user")]
    assert all(e.actor is None and e.ip == "127.0.0.1" for e in entries)


def test_the_session_cookie_is_httponly_samesite_strict_and_secure_unless_turned_off(qa, redis_url, database_url,
                                                                                       tmp_path):
    answer = sign_in(qa.client(), "alice", PASSWORD)
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/qa" in cookie
    assert "Secure" not in cookie  # this world serves plain http (IVR_SESSION_COOKIE_SECURE=false)
    secure = create_app(qa_settings(redis_url, database_url, qa.clock, tmp_path).with_(session_cookie_secure=True),
                        clock=qa.clock)
    page = secure.test_client().get("/qa/sign-in", base_url="https://qa.example.test")
    assert "Secure" in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]


def test_pages_carry_security_headers(qa):
    page = qa.signed_in("alice").get("/qa/calls")
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"


def test_a_qa_reviewer_sees_only_ordinary_calls_of_their_regions(qa):
    page = qa.signed_in("alice").get("/qa/calls").text  # alice: qa, gb
    shown = {int(n) for n in re.findall(r'href="/qa/calls/(\d+)"', page)}
    c = qa.calls
    assert shown == {c.gb_kyc, c.gb_kyc_again, c.gb_queue}  # not the security call, not the US one
    assert 'name="security"' not in page  # no security filter for the qa role


def test_security_sees_security_tickets_and_admin_every_region(qa):
    c = qa.calls
    security = {int(n) for n in re.findall(r'href="/qa/calls/(\d+)"', qa.signed_in("sam").get("/qa/calls").text)}
    assert security == {c.gb_kyc, c.gb_kyc_again, c.gb_queue, c.gb_urgent}
    everything = {int(n) for n in re.findall(r'href="/qa/calls/(\d+)"', qa.signed_in("ada").get("/qa/calls").text)}
    assert everything == {c.gb_kyc, c.gb_kyc_again, c.gb_queue, c.gb_urgent, c.us_kyc}


@pytest.mark.parametrize("who, call, reason", [
    ("alice", "us_kyc", "region us is not one of alice's regions"),
    ("bob", "gb_kyc", "region gb is not one of bob's regions"),
    ("alice", "gb_urgent", "a security ticket: only the security and admin roles see these"),
])
def test_a_call_of_another_region_or_a_security_ticket_is_refused_with_403_and_audited(qa, who, call, reason):
    client = qa.signed_in(who)
    call_id = getattr(qa.calls, call)
    before = qa.last_seq()
    page = client.get(f"/qa/calls/{call_id}")
    assert page.status_code == 403 and reason in html.unescape(page.text)
    assert "Ticket" not in page.text and "Timeline" not in page.text
    scoring = client.post(f"/qa/calls/{call_id}/score", data={"csrf_token": csrf_of(page.text)})
    assert scoring.status_code == 403
    entries = qa.audit_entries(after=before)
    assert [(e.action, e.actor, e.target, e.detail["reason"]) for e in entries] == \
        [("refused", who, f"call:{call_id}", reason)] * 2


def test_searching_another_region_or_security_tickets_as_qa_is_refused_and_audited(qa):
    client = qa.signed_in("alice")
    before = qa.last_seq()
    assert client.get("/qa/calls?region=us").status_code == 403
    assert client.get("/qa/calls?security=yes").status_code == 403
    assert [e.action for e in qa.audit_entries(after=before)] == ["refused", "refused"]


@pytest.mark.parametrize("path", ["/qa/audit", "/qa/users", "/qa/audit?action=sign_in"])
def test_admin_pages_are_refused_to_other_roles_and_audited(qa, path):
    for who in ("alice", "sam"):
        client = qa.signed_in(who)
        before = qa.last_seq()
        page = client.get(path)
        assert page.status_code == 403 and "only admins" in page.text
        [entry] = qa.audit_entries(after=before)
        assert (entry.action, entry.actor) == ("refused", who)
    assert qa.signed_in("ada").get(path).status_code == 200


def test_an_admin_action_by_another_role_is_refused_and_audited(qa):
    client = qa.signed_in("sam")
    token = csrf_of(client.get("/qa/calls").text)
    before = qa.last_seq()
    assert client.post("/qa/users/1/disable", data={"csrf_token": token}).status_code == 403
    assert qa.audit_entries(after=before)[0].action == "refused"


@pytest.mark.parametrize("path", [
    "/qa/calls/..%2F..%2Fetc%2Fpasswd", "/qa/calls/../users", "/qa/calls/%2e%2e", "/qa/calls/-1", "/qa/calls/1.5",
    "/qa/calls/99999999999999999999", "/qa/calls/0x10", "/qa/calls/%00", "/qa/calls/1%2F..%2F2"])
def test_doctored_call_ids_are_refused_and_audited(qa, path):
    client = qa.signed_in("alice")
    before = qa.last_seq()
    answer = client.get(path)
    assert answer.status_code in (403, 404) and "Timeline" not in answer.text, path
    entries = qa.audit_entries(after=before)
    assert entries and entries[-1].action == "refused" and entries[-1].actor == "alice", path


def test_an_id_that_is_no_call_is_404_and_audited(qa):
    client = qa.signed_in("ada")
    before = qa.last_seq()
    assert client.get("/qa/calls/2147483647").status_code == 404
    [entry] = qa.audit_entries(after=before)
    assert (entry.action, entry.target, entry.detail["reason"]) == ("refused", "call:2147483647", "no such call")


@pytest.mark.parametrize("token", [None, "", "forged-token", "x" * 43])
def test_a_form_without_the_right_csrf_token_is_refused_and_audited(qa, token):
    client = qa.signed_in("alice")
    before = qa.last_seq()
    data = {"score_greeting": "2"} | ({} if token is None else {"csrf_token": token})
    answer = client.post(f"/qa/calls/{qa.calls.gb_kyc}/score", data=data)
    assert answer.status_code == 400
    [entry] = qa.audit_entries(after=before)
    assert (entry.action, entry.actor, entry.detail["reason"]) == ("refused", "alice", "CSRF token missing or wrong")
    assert client.post("/qa/sign-out", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/qa/calls").status_code == 200  # still signed in: the forged sign-out did nothing


def test_the_sign_in_form_needs_its_csrf_token_too(qa):
    client = qa.client()
    client.get("/qa/sign-in")
    answer = client.post("/qa/sign-in", data={"name": "alice", "password": PASSWORD, "csrf_token": "forged"})
    assert answer.status_code == 400
    assert client.get("/qa/calls").status_code == 303


def test_an_admin_disables_and_enables_a_user_from_the_users_page(qa):
    qa.add_user("dave", "qa", "us")
    dave = qa.signed_in("dave")
    client = qa.signed_in("ada")
    page = client.get("/qa/users").text
    [dave_id] = re.findall(r'id="user-dave".*?/qa/users/(\d+)/disable', page, re.S)
    token = csrf_of(page)
    assert client.post(f"/qa/users/{dave_id}/disable", data={"csrf_token": token}).status_code == 303
    assert dave.get("/qa/calls").status_code == 303
    assert "disabled" in client.get("/qa/users").text
    assert client.post(f"/qa/users/{dave_id}/enable", data={"csrf_token": token}).status_code == 303


def test_the_qa_pages_are_off_without_a_secret_key(redis_url, database_url, tmp_path, qa):
    off = create_app(qa_settings(redis_url, database_url, qa.clock, tmp_path).with_(secret_key=None), clock=qa.clock)
    for path in ("/qa/sign-in", "/qa/calls", "/qa/nothing"):
        answer = off.test_client().get(path)
        assert answer.status_code == 503 and "IVR_SECRET_KEY" in answer.text
