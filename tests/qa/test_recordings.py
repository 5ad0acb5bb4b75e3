"""Recordings on the QA pages, over HTTP: the player's audio served with HTTP Range (206 and
Content-Range, If-Range, 416) from the store, every listen and download audited; the redacted
transcript beside the timeline; who may hear what (role, region, a security ticket, an unredacted
recording) and every refusal audited, doctored ids included; the "has recording" filter; and the
admins' legal hold and deletion forms (CSRF, audited). The browser's side is in test_browser.py."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from ivr.db.models import Call, Recording, Ticket
from ivr.qa.listening import LISTEN_MINUTES
from ivr.recordings.storage import Store
from tests.qa.conftest import csrf_of

WORDS = {  # gb_kyc: the IVR, then the caller, who reads out a one-time code
    2: [("welcome", 0.2, 0.6), ("to", 0.6, 0.7), ("support", 0.7, 1.2)],
    1: [("i", 2.0, 2.1), ("cannot", 2.1, 2.5), ("verify", 2.5, 3.0), ("my", 3.0, 3.2), ("identity", 3.2, 3.9),
        ("my", 4.5, 4.6), ("code", 4.6, 4.9), ("is", 4.9, 5.0), ("four", 5.1, 5.3), ("one", 5.3, 5.5),
        ("seven", 5.5, 5.8), ("two", 5.8, 6.0), ("nine", 6.0, 6.3), ("five", 6.3, 6.6)],
}


@dataclass
class Recorded:
    kyc: int  # gb, redacted (a one-time code toned out)
    unredacted: int  # gb, the same ticket, no model for its language: not redacted
    urgent: int  # gb, a security ticket
    us: int  # us, redacted


@pytest.fixture(scope="module")
def recorded(qa) -> Recorded:
    c = qa.calls
    return Recorded(kyc=qa.store_recording(c.gb_kyc, WORDS), unredacted=qa.store_recording(c.gb_kyc_again, None),
                    urgent=qa.store_recording(c.gb_urgent, {1: [("help", 1.0, 1.5)]}),
                    us=qa.store_recording(c.us_kyc, {1: [("hello", 1.0, 1.5)]}))


def stored_bytes(qa, recording_id: int) -> bytes:
    with qa.sessions() as db:
        key = db.get(Recording, recording_id).storage_key
    return qa.rt.service(Store).read(key)


def audio(recording_id: int) -> str:
    return f"/qa/recordings/{recording_id}/audio"


def test_the_call_page_has_the_player_and_the_redacted_transcript(qa, recorded):
    page = qa.signed_in("alice").get(f"/qa/calls/{qa.calls.gb_kyc}").text
    assert f'src="{audio(recorded.kyc)}"' in page and 'preload="none"' in page
    assert f'href="/qa/recordings/{recorded.kyc}/download"' in page and 'id="channel-' in page
    transcript = page[page.index('id="transcript"'):page.index('id="scorecard"')]
    assert re.search(r'data-start="2.1" data-end="2.5">cannot<', transcript)
    assert "[one-time code removed]" in transcript
    assert not any(f">{digit}<" in transcript for digit in ("four", "seven", "nine"))  # the code is not there
    assert transcript.index(">welcome<") < transcript.index(">cannot<")  # both channels, in time order
    timeline = html.unescape(page[page.index('id="timeline"'):])
    assert "Recording redacted: 1 span(s) toned out (one time code 1)" in timeline
    assert "Recording transcribed: 2 channel(s)" in timeline


def test_the_audio_is_served_in_byte_ranges_as_a_player_asks(qa, recorded):
    client, whole = qa.signed_in("alice"), stored_bytes(qa, recorded.kyc)
    size = len(whole)
    first = client.get(audio(recorded.kyc), headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.data == whole[:100] and whole.startswith(b"OggS")
    assert first.headers["Content-Range"] == f"bytes 0-99/{size}" and first.headers["Content-Length"] == "100"
    assert first.headers["Accept-Ranges"] == "bytes" and first.mimetype == "audio/ogg"
    etag = first.headers["ETag"]
    rest = client.get(audio(recorded.kyc), headers={"Range": f"bytes={size - 700}-"})
    assert rest.status_code == 206 and rest.data == whole[-700:]
    assert rest.headers["Content-Range"] == f"bytes {size - 700}-{size - 1}/{size}"
    full = client.get(audio(recorded.kyc))
    assert full.status_code == 200 and full.data == whole and full.headers["Accept-Ranges"] == "bytes"
    beyond = client.get(audio(recorded.kyc), headers={"Range": f"bytes={size + 10}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"
    same = client.get(audio(recorded.kyc), headers={"Range": "bytes=10-19", "If-Range": etag})
    assert same.status_code == 206 and same.data == whole[10:20]
    changed = client.get(audio(recorded.kyc), headers={"Range": "bytes=10-19", "If-Range": '"another-version"'})
    assert changed.status_code == 200 and changed.data == whole  # the file changed: the whole of it
    assert full.headers["Cache-Control"] == "no-store"


def test_a_listen_is_audited_once_and_a_download_every_time(qa, recorded):
    client = qa.signed_in("sam")
    before = qa.last_seq()
    for start in (0, 500, 1000):  # the player starting, then seeking
        assert client.get(audio(recorded.kyc), headers={"Range": f"bytes={start}-"}).status_code == 206
    [listen] = qa.audit_entries(after=before)
    assert (listen.action, listen.actor, listen.target) == ("listen", "sam", f"recording:{recorded.kyc}")
    assert listen.detail["call"] == qa.calls.gb_kyc and listen.detail["recording_sid"].startswith("RE")
    qa.clock.advance(minutes=LISTEN_MINUTES - 10)  # still playing, seeking: the same listen
    assert client.get(audio(recorded.kyc), headers={"Range": "bytes=200-"}).status_code == 206
    assert qa.audit_entries(after=listen.seq) == []
    qa.clock.advance(minutes=20)  # long after it started: a new listen
    assert client.get(audio(recorded.kyc), headers={"Range": "bytes=0-"}).status_code == 206
    assert [e.action for e in qa.audit_entries(after=listen.seq)] == ["listen"]
    before = qa.last_seq()
    for _ in range(2):
        answer = client.get(f"/qa/recordings/{recorded.kyc}/download")
        assert answer.status_code == 200 and answer.data == stored_bytes(qa, recorded.kyc)
        assert answer.headers["Content-Disposition"].startswith("attachment; filename=RE")
    assert [e.action for e in qa.audit_entries(after=before)] == ["download", "download"]


@pytest.mark.parametrize("path", ["audio", "download"])
def test_without_a_session_the_audio_is_refused_and_audited(qa, recorded, path):
    before = qa.last_seq()
    answer = qa.client().get(f"/qa/recordings/{recorded.kyc}/{path}", headers={"Range": "bytes=0-"})
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/qa/sign-in")
    assert not answer.data.startswith(b"OggS")
    [entry] = qa.audit_entries(after=before)
    assert (entry.action, entry.detail["reason"]) == ("refused", "not signed in")


def refused_with(qa, who: str, path: str, status: int, reason: str) -> None:
    client = qa.signed_in(who)
    before = qa.last_seq()
    answer = client.get(path, headers={"Range": "bytes=0-"})
    assert answer.status_code == status, (who, path, answer.status_code)
    assert not answer.data.startswith(b"OggS")
    [entry] = [e for e in qa.audit_entries(after=before)]
    assert entry.action == "refused" and reason in entry.detail["reason"], (path, entry.detail)
    assert entry.actor == who


def test_another_regions_recording_is_refused_and_audited(qa, recorded):
    refused_with(qa, "bob", audio(recorded.kyc), 403, "region gb is not one of bob's regions")
    refused_with(qa, "alice", f"/qa/recordings/{recorded.us}/download", 403, "region us is not one of alice's")


def test_a_security_tickets_recording_is_refused_to_the_qa_role(qa, recorded):
    refused_with(qa, "alice", audio(recorded.urgent), 403, "a security ticket")
    assert qa.signed_in("sam").get(audio(recorded.urgent)).status_code == 200


def test_an_unredacted_recording_is_heard_only_by_security_and_admin(qa, recorded):
    refused_with(qa, "alice", audio(recorded.unredacted), 403, "not redacted (no model for en)")
    page = qa.signed_in("alice").get(f"/qa/calls/{qa.calls.gb_kyc_again}").text
    assert audio(recorded.unredacted) not in page and "only the security and admin roles hear it" in page
    sam = qa.signed_in("sam")
    assert sam.get(audio(recorded.unredacted)).status_code == 200
    assert "could not be redacted" in sam.get(f"/qa/calls/{qa.calls.gb_kyc_again}").text


@pytest.mark.parametrize("path", [
    "/qa/recordings/999999/audio", "/qa/recordings/..%2F..%2Fetc%2Fpasswd/audio", "/qa/recordings/../../etc/passwd",
    "/qa/recordings/%2e%2e%2f1/audio", "/qa/recordings/1%2F..%2F2/audio", "/qa/recordings/-1/audio",
    "/qa/recordings/RE0000000000000000000000000000000a/audio", "/qa/recordings/99999999999/audio",
    "/qa/recordings/1.ogg/download", "/qa/recordings/gb%2F2026-11-24%2Fx.ogg/audio"])
def test_doctored_recording_ids_are_not_found_and_audited(qa, recorded, path):
    refused_with(qa, "ada", path, 404, "no such recording" if path == "/qa/recordings/999999/audio" else "404")


def test_the_calls_page_filters_on_having_a_recording(qa, recorded):
    c, client = qa.calls, qa.signed_in("ada")

    def listed(query: str) -> set[int]:
        return {int(n) for n in re.findall(r'href="/qa/calls/(\d+)" class="open-call"', client.get(query).text)}

    assert listed("/qa/calls?recording=yes") == {c.gb_kyc, c.gb_kyc_again, c.gb_urgent, c.us_kyc}
    assert listed("/qa/calls?recording=no") == {c.gb_queue}
    assert listed("/qa/calls?recording=yes&region=us") == {c.us_kyc}
    assert 'class="badge recorded"' in client.get("/qa/calls").text
    assert listed_for(qa, "alice", "/qa/calls?recording=yes") == {c.gb_kyc, c.gb_kyc_again}  # no security call
    bad = client.get("/qa/calls?recording=maybe")
    assert bad.status_code == 400 and "recording: one of no, yes" in html.unescape(bad.text)


def listed_for(qa, who: str, query: str) -> set[int]:
    text = qa.signed_in(who).get(query).text
    return {int(n) for n in re.findall(r'href="/qa/calls/(\d+)" class="open-call"', text)}


def hold_of(qa, call_id: int):
    with qa.sessions() as db:
        return db.scalars(select(Ticket.legal_hold).join(Call, Call.ticket_id == Ticket.id)
                          .where(Call.id == call_id)).one()


def test_admin_forms_refuse_a_forged_csrf_token_and_other_roles(qa, recorded):
    call = qa.calls.us_kyc
    ada = qa.signed_in("ada")
    for form, data in ((f"/qa/calls/{call}/legal-hold", {"action": "place", "reason": "x"}),
                       (f"/qa/calls/{call}/delete", {"reason": "x", "confirm": "whatever"})):
        for token in ("forged", ""):
            before = qa.last_seq()
            answer = ada.post(form, data={**data, "csrf_token": token})
            assert answer.status_code == 400
            [entry] = qa.audit_entries(after=before)
            assert entry.action == "refused" and entry.detail["reason"] == "CSRF token missing or wrong"
    assert hold_of(qa, call) is None and qa.signed_in("ada").get(audio(recorded.us)).status_code == 200
    bob = qa.signed_in("bob")
    token = csrf_of(bob.get(f"/qa/calls/{call}").text)
    assert 'id="admin"' not in bob.get(f"/qa/calls/{call}").text  # no forms for them
    before = qa.last_seq()
    answer = bob.post(f"/qa/calls/{call}/legal-hold", data={"action": "place", "reason": "x", "csrf_token": token})
    assert answer.status_code == 403 and hold_of(qa, call) is None
    [entry] = qa.audit_entries(after=before)
    assert entry.action == "refused" and "only admins" in entry.detail["reason"]


def test_an_admin_holds_a_ticket_then_deletes_its_recordings_on_request(qa, recorded):
    call, ada = qa.calls.us_kyc, qa.signed_in("ada")
    page = ada.get(f"/qa/calls/{call}").text
    token = csrf_of(page)
    assert 'id="hold-form"' in page and 'id="delete-form"' in page

    def post(form: str, **data):
        return ada.post(f"/qa/calls/{call}/{form}", data={"csrf_token": token, **data})

    assert post("legal-hold", action="place", reason="  ").status_code == 400  # a reason is required
    before = qa.last_seq()
    assert post("legal-hold", action="place", reason="court order 44/2026").status_code == 303
    assert hold_of(qa, call)["reason"] == "court order 44/2026" and hold_of(qa, call)["by"] == "ada"
    held = [e for e in qa.audit_entries(after=before) if e.action == "legal_hold"]
    assert held[0].detail == {"placed": True, "reason": "court order 44/2026", "call": call}
    page = html.unescape(ada.get(f"/qa/calls/{call}").text)
    assert "is under legal hold (by ada" in page and "Legal hold placed on the ticket by ada: court order" in page

    wrong = post("delete", reason="erasure request 2026-118", confirm="123")
    assert wrong.status_code == 400 and "type the ticket number" in html.unescape(wrong.text)
    reference = re.search(r'id="ticket-reference">(\d+)<', page).group(1)
    kept = post("delete", reason="erasure request 2026-118", confirm=reference)
    assert kept.status_code == 409 and "kept under legal hold" in kept.text
    assert qa.signed_in("ada").get(audio(recorded.us)).status_code == 200  # nothing deleted while held

    assert post("legal-hold", action="release").status_code == 303 and hold_of(qa, call) is None
    with qa.sessions() as db:
        key = db.get(Recording, recorded.us).storage_key
    before = qa.last_seq()
    done = post("delete", reason="erasure request 2026-118", confirm=reference)
    assert done.status_code == 303
    [deletion] = [e for e in qa.audit_entries(after=before) if e.action == "deletion"]
    assert deletion.target == f"ticket:{reference}" and len(deletion.detail["removed"]) == 1
    assert qa.rt.service(Store).size(key) is None  # the audio is gone from the store
    refused_with(qa, "ada", audio(recorded.us), 404, "the recording is deleted")
    page = html.unescape(ada.get(f"/qa/calls/{call}").text)
    assert "Recording deleted on request by ada: erasure request 2026-118" in page
    assert 'id="transcript"' not in page and "Deleted: erasure request 2026-118 (ada)" in page
