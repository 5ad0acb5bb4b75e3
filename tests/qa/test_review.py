"""What a reviewer finds and reads: the Calls page's filters and pages, and the Call page (ticket and
its other calls, consent, the timeline in words, the path highlighted on the flow's drawing, caller
numbers masked), for real calls made through the emulated Twilio."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from ivr.db.models import Call, Ticket
from ivr.qa import search
from ivr.qa.diagrams import graph
from ivr.qa.reviewers import Reviewer
from ivr.qa.search import CallFilters

# The calls are made at set times on the service's clock (in opening hours), whatever the wall clock says.

CALLERS = ("+447700900123", "+447700900124", "+447700900125", "+14155550123")


def found(client, query: str = "") -> set[int]:
    page = client.get(f"/qa/calls{query}")
    assert page.status_code == 200, page.text
    return {int(n) for n in re.findall(r'href="/qa/calls/(\d+)"', page.text)}


def words(page_text: str) -> str:
    text = re.sub(r'<div class="diagram".*?</div>', " ", page_text, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def reference(qa, call_id: int) -> str:
    with qa.sessions() as db:
        return db.scalars(select(Ticket.reference).join(Call, Call.ticket_id == Ticket.id)
                          .where(Call.id == call_id)).one()


def test_each_filter_finds_its_calls(qa):
    c, ada = qa.calls, qa.signed_in("ada")
    every = {c.gb_kyc, c.gb_kyc_again, c.gb_queue, c.gb_urgent, c.us_kyc}
    assert found(ada) == every
    assert found(ada, "?region=us") == {c.us_kyc}
    assert found(ada, "?from=2026-11-24&to=2026-11-24") == every
    assert found(ada, "?from=2026-11-25") == set() and found(ada, "?to=2026-11-23") == set()
    assert found(ada, "?language=en") == every and found(ada, "?language=es") == set()
    assert found(ada, "?intent=withdrawal") == {c.gb_queue}
    assert found(ada, "?intent=account_takeover") == {c.gb_urgent}
    assert found(ada, f"?ticket={reference(qa, c.gb_kyc)}") == {c.gb_kyc, c.gb_kyc_again}
    assert found(ada, "?caller=%2B447700900124") == {c.gb_queue}
    assert found(ada, "?caller=%2B44+7700+900124") == {c.gb_queue}  # typed with spaces
    assert found(ada, "?consent=declined") == {c.gb_queue}
    assert found(ada, "?consent=none") == {c.gb_urgent}
    assert found(ada, "?consent=given&region=gb") == {c.gb_kyc, c.gb_kyc_again}
    assert found(ada, "?security=yes") == {c.gb_urgent}
    assert found(ada, "?security=no") == every - {c.gb_urgent}
    assert found(ada, "?region=gb&intent=kyc&consent=given") == set()  # the ticket's issue is trading now


@pytest.mark.parametrize("query, named", [
    ("?from=yesterday", "from: a day like 2026-11-24"), ("?region=xx", "region: one of"),
    ("?caller=0207", "caller: a whole number"), ("?ticket=12ab", "ticket: a ticket number"),
    ("?consent=maybe", "consent: one of"), ("?page=0", "page: a number"), ("?from=2026-11-25&to=2026-11-24", "before"),
    ("?intent=%3Cscript%3E", "intent: an issue"),
])
def test_a_filter_that_cannot_be_used_is_named(qa, query, named):
    page = qa.signed_in("alice").get(f"/qa/calls{query}")
    assert page.status_code == 400 and named in html.unescape(page.text)
    assert "<script>" not in page.text


def test_the_search_is_audited_with_what_was_searched_for(qa):
    client = qa.signed_in("alice")
    before = qa.last_seq()
    client.get("/qa/calls?intent=withdrawal&consent=declined")
    [entry] = qa.audit_entries(after=before)
    assert entry.action == "search" and entry.actor == "alice" and entry.detail["shown"] == 1
    assert entry.detail["filters"] == {"intent": "withdrawal", "consent": "declined"}


def test_pages_of_calls_follow_one_another_newest_first(qa):
    ada = Reviewer(0, "ada", "admin", ("*",))
    with qa.sessions() as db:
        pages = [search.find_calls(db, ada, CallFilters(page=n), page_size=2) for n in (1, 2, 3)]
    ids = [row.id for page in pages for row in page.rows]
    assert [len(p.rows) for p in pages] == [2, 2, 1] and [p.has_next for p in pages] == [True, True, False]
    assert len(set(ids)) == 5 and pages[1].first == 3
    times = [row.started_at for page in pages for row in page.rows]
    assert times == sorted(times, reverse=True)


def test_caller_numbers_are_masked_on_every_page(qa):
    ada = qa.signed_in("ada")
    c = qa.calls
    pages = [ada.get("/qa/calls").text] + [ada.get(f"/qa/calls/{i}").text for i in
                                           (c.gb_kyc, c.gb_queue, c.gb_urgent, c.us_kyc)]
    for text in pages:
        for number in CALLERS + ("+447700900211", "+447700900212", "+447400900301"):
            assert number not in text and number[1:] not in text
    assert "+44 •••••••124" in pages[0] and "+1 •••••••123" in pages[0]


def test_the_call_page_shows_the_ticket_its_other_calls_and_the_consent(qa):
    c = qa.calls
    page = qa.signed_in("alice").get(f"/qa/calls/{c.gb_kyc}")
    text = words(page.text)
    assert page.status_code == 200
    assert f"Ticket {reference(qa, c.gb_kyc)}" in text or reference(qa, c.gb_kyc) in text
    assert f'href="/qa/calls/{c.gb_kyc_again}"' in page.text  # the ticket's other call
    assert "given by dtmf at 2026-11-24 10:00:00 GMT (all-party, en" in text
    assert "Consent given by dtmf (all-party policy, in en" in text  # and on the timeline
    assert "Recording started" in text and "completed, 50 s" in text
    assert "Pressed 4 at issue_menu; issue = kyc" in text and "Gave up at after_answer" in text
    assert "Ended: flow_hangup at goodbye" in text


def test_the_call_page_shows_the_queue_and_each_agent(qa):
    text = words(qa.signed_in("alice").get(f"/qa/calls/{qa.calls.gb_queue}").text)
    assert "Consent declined by dtmf" in text and "Nothing was recorded: the caller declined" in text
    assert "Joined support-gb at place 1 (normal)" in text
    assert "Talked with Olivia Brown for 90 s" in text
    assert "Agents Olivia Brown" in text


def test_the_security_role_reads_the_transfers_and_the_brief(qa):
    text = words(qa.signed_in("sam").get(f"/qa/calls/{qa.calls.gb_urgent}").text)
    assert "Urgent path (keypad) from greeting" in text
    assert "Security brief: ticket" in text and "trigger keypad" in text
    assert "Ringing Emma Clarke (security-europe), attempt 1" in text
    assert "Agent Emma Clarke: no-answer (attempt 1)" in text
    assert "Agent Farid Haddad: accepted (attempt 2)" in text
    assert "Ticket status security, category account_takeover, priority P1" in text


def test_the_calls_path_is_highlighted_on_its_regions_flow(qa):
    page = qa.signed_in("alice").get(f"/qa/calls/{qa.calls.gb_queue}").text
    path = ["greeting", "fraud_warning", "consent", "check_hours", "ticket_number", "callback_check", "describe",
            "issue_menu", "to_agent", "agent_queue", "goodbye"]
    assert " → ".join(path) in html.unescape(page)
    g = graph(qa.rt.flows.flows["gb"])
    highlighted = set(re.findall(r'<g id="(flow_s\d+)" class="node on_path', page))
    assert highlighted == {g.ids[step] for step in path}
    assert re.search(rf'<g id="{g.ids["goodbye"]}" class="node on_path path_end', page)
    edges = set(re.findall(r'<g id="flow_e(\d+)_(\d+)_\d+" class="edge on_path', page))
    assert (g.ids["issue_menu"][6:], g.ids["to_agent"][6:]) in edges
    assert (g.ids["to_agent"][6:], g.ids["agent_queue"][6:]) in edges
    assert len(re.findall(r'class="node on_path', page)) == len(path) + 1  # and the "incoming call" node


def test_the_urgent_jump_is_highlighted_from_the_urgent_key(qa):
    page = qa.signed_in("sam").get(f"/qa/calls/{qa.calls.gb_urgent}").text
    assert '<g id="flow_urgent" class="node on_path' in page
    assert re.search(r'<g id="flow_e_urgent_\d+_0" class="edge on_path', page)
    assert "<script" not in page.split('<div class="diagram"', 1)[1]


def test_of_two_branches_to_the_same_step_only_the_one_taken_is_highlighted(qa):
    g = graph(qa.rt.flows.flows["gb"])
    labels = {edge_id: label for edge_id, _, _, label in g.edges}
    ada = qa.signed_in("ada")

    def lit_from(call_id: int, step: str) -> set[str]:
        page = ada.get(f"/qa/calls/{call_id}").text
        lit = re.findall(r'<g id="(flow_e\d+_\d+_\d+)" class="edge on_path', page)
        return {labels[e] for e in lit if e.startswith(f"flow_e{g.ids[step][6:]}_")}

    assert lit_from(qa.calls.gb_kyc, "consent") == {"given"}
    assert lit_from(qa.calls.gb_queue, "consent") == {"declined"}
    assert lit_from(qa.calls.gb_queue, "issue_menu") == {"key 6"}  # not 5, 0 or on_fail, also to to_agent
