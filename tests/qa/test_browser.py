"""The QA pages in a real browser: Debian's Chromium driven by Playwright, against the app served on
a real local port, with calls made through the emulated Twilio. Each role signs in, searches, opens
a call, reads its timeline and its highlighted path, fills and saves a scorecard; plays a call's
recording and seeks in it (served in byte ranges), clicks a transcript word to hear it; the wrong
region and role are refused; signing out and an idle session end it.

Set IVR_QA_SCREENSHOTS=docs/images to refresh the documentation's screenshots of the main pages.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from ivr.emulator.rest import RestServer
from tests.qa.conftest import PASSWORD
from tests.qa.test_recordings import WORDS

# The calls are made at set times on the service's clock (in opening hours), whatever the wall clock says.

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
ACCENT = "rgb(26, 86, 219)"  # the highlight's colour in qa.css
SHOTS = os.environ.get("IVR_QA_SCREENSHOTS")


@pytest.fixture(scope="module")
def site(qa):
    with RestServer(qa.app) as server:
        yield server.url


@pytest.fixture(scope="module")
def playwright():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: ./scripts/test.sh installs it (Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright, tmp_path):
    """Chromium with a fresh profile of its own (nothing carried over between tests)."""
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
        viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    yield context
    context.close()


def open_signed_in(browser, site: str, name: str, start: str = "/qa/calls"):
    page = browser.pages[0] if browser.pages else browser.new_page()
    page.goto(site + start)
    assert page.url.startswith(site + "/qa/sign-in")  # sent to sign in first
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_selector("#signed-in-as")
    assert page.inner_text("#signed-in-as") == name
    return page


def shoot(page, name: str, full_page: bool = False) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"qa-{name}.png"), full_page=full_page)


def call_links(page) -> list[str]:
    return page.eval_on_selector_all("#calls a.open-call", "links => links.map(a => a.getAttribute('href'))")


def test_a_reviewer_searches_opens_a_call_reads_it_and_scores_it(browser, site, qa):
    page = open_signed_in(browser, site, "alice", start="/qa/calls?region=gb")
    assert page.url == f"{site}/qa/calls?region=gb"  # back where they were going
    assert len(call_links(page)) == 3
    page.select_option("#f-intent", "withdrawal")
    page.click("#search")
    page.wait_for_url(re.compile(r".*intent=withdrawal.*"))
    assert call_links(page) == [f"/qa/calls/{qa.calls.gb_queue}"]
    page.select_option("#f-intent", "")
    page.click("#search")
    page.wait_for_selector("#calls")
    shoot(page, "calls")
    page.goto(f"{site}/qa/calls?intent=withdrawal")
    page.click("#calls a.open-call")
    page.wait_for_selector("#timeline")
    timeline = page.inner_text("#timeline")
    assert "Consent declined by dtmf" in timeline and "Talked with Olivia Brown for 90 s" in timeline
    assert "Joined support-gb at place 1" in timeline
    assert page.inner_text("#agents") == "Olivia Brown"
    assert "+44 •••••••124" in page.inner_text("#summary")

    # The path, highlighted on the drawing: the browser paints the path's steps in the accent colour.
    on_path = page.eval_on_selector_all(
        "#diagram g.node.on_path", "nodes => nodes.map(n => getComputedStyle(n.querySelector('polygon, path, "
        "ellipse')).stroke)")
    assert len(on_path) == 12 and set(on_path) == {ACCENT}  # 11 steps and the incoming call
    off_path = page.eval_on_selector("#diagram g.node:not(.on_path) > path, #diagram g.node:not(.on_path) > polygon",
                                     "n => getComputedStyle(n).stroke")
    assert off_path != ACCENT
    assert page.inner_text("#path").startswith("greeting → fraud_warning → consent")

    # The scorecard: filled in from the automatic checks, completed by the reviewer, saved.
    assert page.is_checked("#item-consent input[value='2']")
    assert "the caller declined by dtmf" in page.inner_text("#item-consent")
    page.check("#item-greeting input[value='2']")
    page.check("#item-resolution input[value='1']")
    page.check("#item-agent_conduct input[value='2']")
    page.fill("#item-resolution input.comment", "no date for the withdrawal given")
    page.fill("#overall-comment", "Courteous; should have set expectations.")
    page.click("#save-score")
    page.wait_for_selector("#saved")
    assert "You scored this call 14/16" in page.inner_text("#scorecard")
    assert page.input_value("#item-resolution input.comment") == "no date for the withdrawal given"
    page.goto(f"{site}/qa/scores")
    assert "Olivia Brown" in page.inner_text("#by-agent")
    shoot(page, "scores")


def test_an_unscored_item_is_pointed_out_and_nothing_filled_in_is_lost(browser, site, qa):
    page = open_signed_in(browser, site, "alice", start=f"/qa/calls/{qa.calls.gb_kyc}")
    page.fill("#overall-comment", "half way")
    page.click("#save-score")
    page.wait_for_selector("#score-problem")
    assert "Greeting and language: choose a score" in page.inner_text("#score-problem")
    assert page.input_value("#overall-comment") == "half way"


def test_security_finds_the_security_call_and_reads_its_brief(browser, site, qa):
    page = open_signed_in(browser, site, "sam")
    page.select_option("#f-security", "yes")
    page.click("#search")
    page.wait_for_url(re.compile(r".*security=yes.*"))
    assert call_links(page) == [f"/qa/calls/{qa.calls.gb_urgent}"]
    page.click("#calls a.open-call")
    timeline = page.inner_text("#timeline")
    assert "Security brief: ticket" in timeline and "Agent Farid Haddad: accepted (attempt 2)" in timeline
    assert page.eval_on_selector("#diagram #flow_urgent", "n => n.classList.contains('on_path')")


def test_the_wrong_region_and_the_wrong_role_are_refused(browser, site, qa):
    page = open_signed_in(browser, site, "alice")
    response = page.goto(f"{site}/qa/calls/{qa.calls.us_kyc}")
    assert response.status == 403 and "region us is not one of alice's regions" in page.inner_text("#refusal")
    response = page.goto(f"{site}/qa/calls/{qa.calls.gb_urgent}")
    assert response.status == 403 and "a security ticket" in page.inner_text("#refusal")
    shoot(page, "refused")
    response = page.goto(f"{site}/qa/audit")
    assert response.status == 403 and "only admins" in page.inner_text("#refusal")
    assert page.query_selector("a[href='/qa/audit']") is None  # no link to what they may not open


def test_an_admin_reads_the_audit_log_and_disables_a_user(browser, site, qa):
    qa.add_user("erin", "qa", "us")
    page = open_signed_in(browser, site, "ada", start="/qa/audit?action=sign_in")
    rows = page.inner_text("#audit")
    assert "ada" in rows and "sign_in" in rows and "search" not in rows
    page.goto(f"{site}/qa/audit")
    shoot(page, "audit")
    page.goto(f"{site}/qa/users")
    page.click("#user-erin button")
    page.wait_for_selector("#user-erin")
    assert "disabled" in page.inner_text("#user-erin")
    shoot(page, "users")
    page.click("#user-erin button")
    assert "active" in page.inner_text("#user-erin")


def test_signing_out_and_an_idle_session_end_it(browser, site, qa):
    page = open_signed_in(browser, site, "bob")
    assert call_links(page) == [f"/qa/calls/{qa.calls.us_kyc}"]
    page.click("#sign-out")
    page.wait_for_selector("#sign-in")
    page.goto(f"{site}/qa/calls")
    assert page.url.startswith(f"{site}/qa/sign-in")
    shoot(page, "sign-in")
    page = open_signed_in(browser, site, "bob")
    qa.clock.advance(minutes=qa.settings.session_idle_minutes + 1)
    page.reload()
    assert page.url.startswith(f"{site}/qa/sign-in") and "after a while without use" in page.inner_text("#message")


def past(page, player: str, seconds: float) -> None:
    """Wait until the player's time is past `seconds` (a function, not a string: the pages' CSP
    forbids eval)."""
    page.wait_for_function("([sel, s]) => document.querySelector(sel).currentTime > s", arg=[player, seconds],
                           polling=50)


def test_a_reviewer_plays_a_recording_seeks_and_clicks_a_transcript_word(browser, site, qa):
    recording = qa.store_recording(qa.calls.gb_kyc, WORDS)
    audio_url = f"{site}/qa/recordings/{recording}/audio"
    served = []
    page = open_signed_in(browser, site, "alice", start=f"/qa/calls/{qa.calls.gb_kyc}")
    page.on("response", lambda r: served.append((r.status, r.headers.get("content-range")))
            if r.url == audio_url else None)
    player = f"#player-{recording}"
    before = qa.last_seq()
    assert page.eval_on_selector(player, "a => a.paused && a.readyState === 0")  # nothing fetched yet
    assert [e.action for e in qa.audit_entries(after=before)] == []

    # Play: the time moves on.
    page.eval_on_selector(player, "a => { a.muted = true; return a.play(); }")
    past(page, player, 0.5)
    # Seek with the element, as its slider does: it plays on from there.
    page.eval_on_selector(player, "a => { a.currentTime = 6.5; }")
    past(page, player, 6.6)
    assert any(status == 206 and (crange or "").startswith("bytes ") for status, crange in served), served

    # Click a word of the transcript: the player jumps to it, and that word is highlighted.
    page.eval_on_selector(player, "a => a.pause()")
    word = page.locator(f"#transcript-{recording} .word", has_text="verify")
    word.click()
    page.wait_for_function("([sel, lo, hi]) => { const t = document.querySelector(sel).currentTime;"
                           " return t >= lo && t < hi; }", arg=[player, 2.5, 3.5], polling=50)
    page.wait_for_selector(f"#transcript-{recording} .word.current")
    assert page.inner_text(f"#transcript-{recording} .word.current") in ("verify", "my", "identity")
    assert "[one-time code removed]" in page.inner_text(f"#transcript-{recording}")
    page.select_option(f"#channel-{recording}", "1")  # the caller's channel alone: the page keeps working
    assert page.eval_on_selector(player, "a => !a.error")
    shoot(page, "call", full_page=True)
    listens = [e for e in qa.audit_entries(after=before) if e.action == "listen"]
    assert len(listens) == 1 and listens[0].actor == "alice" and listens[0].target == f"recording:{recording}"
