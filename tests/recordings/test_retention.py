"""Retention, legal hold and deletion on request, on the service's clock: a recording is purged
once its region's period is over (security tickets later), never while its ticket is held; a
caller's request removes every copy and leaves a tombstone saying who, when and why."""
from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest
import yaml
from click.testing import CliRunner
from rq.registry import ScheduledJobRegistry

from ivr import jobs
from ivr.cli.main import main
from ivr.db.models import CallEvent, Ticket
from ivr.errors import FlowError
from ivr.flows.loader import load_flows
from ivr.recordings import retention
from tests.flowkit import SHIPPED
from tests.recordings.conftest import make_recordings_world

pytestmark = pytest.mark.time_sensitive  # retention, purge and the daily upkeep follow the service's clock


def ivr(world, *args):
    result = CliRunner().invoke(main, list(args), env=world.env)
    return result


def reference_of(world, recording) -> str:
    with world.world.sessions() as db:
        return db.get(Ticket, recording.ticket_id).reference


def test_a_recording_is_purged_once_its_regions_retention_is_over(recorded, settings):
    call = recorded.call("+447700900701")
    recorded.work()
    stored = recorded.recording(call.sid)
    path = settings.recordings_dir / stored.storage_key
    recorded.rt.clock.advance(days=89)  # gb keeps ordinary calls 90 days
    assert "0 recording(s) past retention" in ivr(recorded, "recordings", "purge", "--dry-run").output
    recorded.rt.clock.advance(days=2)
    dry = ivr(recorded, "recordings", "purge", "--dry-run")
    assert f"would purge {call.recording_sid}" in dry.output and path.is_file()
    result = ivr(recorded, "recordings", "purge")
    assert result.exit_code == 0 and "purged 1" in result.output, result.output
    purged = recorded.recording(call.sid)
    assert purged.status == "deleted" and purged.transcripts == [] and purged.storage_key is None
    assert not path.exists()
    tombstone = next(d for k, d in recorded.events(call.sid) if k == "recording_purged")
    assert tombstone["by"] == "retention" and tombstone["reason"] == "retention period over"


def test_security_tickets_are_kept_longer(recorded):
    call = recorded.call("+447700900702")
    recorded.work()
    with recorded.world.sessions.begin() as db:
        db.get(Ticket, recorded.recording(call.sid).ticket_id).priority = "P1"
    recorded.rt.clock.advance(days=91)
    assert retention.due_for_purge(recorded.rt) == []
    recorded.rt.clock.advance(days=730)
    assert retention.due_for_purge(recorded.rt) == [call.recording_sid]


def test_a_legal_hold_keeps_a_ticket_from_purge_and_deletion_until_released(recorded, settings):
    call = recorded.call("+447700900703")
    recorded.work()
    stored = recorded.recording(call.sid)
    reference = reference_of(recorded, stored)
    held = ivr(recorded, "recordings", "hold", "--ticket", reference, "--reason", "court order 44/2026",
               "--by", "legal")
    assert held.exit_code == 0, held.output
    recorded.rt.clock.advance(days=400)
    assert retention.due_for_purge(recorded.rt) == []
    refused = ivr(recorded, "recordings", "delete", "--ticket", reference, "--reason", "caller asked")
    assert "deleted 0" in refused.output and "kept under legal hold" in refused.output
    assert recorded.recording(call.sid).status == "stored"
    shown = ivr(recorded, "tickets", "show", reference)
    assert "LEGAL HOLD by legal: court order 44/2026" in shown.output and "legal_hold_placed" in shown.output
    assert ivr(recorded, "recordings", "release", "--ticket", reference).exit_code == 0
    assert retention.due_for_purge(recorded.rt) == [call.recording_sid]


def test_deletion_on_request_removes_every_copy_and_leaves_a_tombstone(settings, clock, sessions):
    made = make_recordings_world(settings, clock, sessions, recordings_delete_at_twilio=False)
    try:
        clock.set("2026-11-24T10:00", "Europe/London")
        caller = "+447700900704"
        calls = [made.call(caller), made.call(caller)]
        made.work()
        paths = [settings.recordings_dir / made.recording(c.sid).storage_key for c in calls]
        assert all(p.is_file() for p in paths) and made.at_twilio(calls[0].recording_sid) == "completed"
        result = ivr(made, "recordings", "delete", "--caller", "+44 7700 900704", "--reason",
                     "erasure request 2026-118", "--by", "dpo")
        assert result.exit_code == 0 and "deleted 2 recording(s)" in result.output, result.output
        for call, path in zip(calls, paths):
            gone = made.recording(call.sid)
            assert gone.status == "deleted" and gone.transcripts == [] and not path.exists()
            assert made.at_twilio(call.recording_sid) == "deleted"  # Twilio's copy too
            tombstone = next(d for k, d in made.events(call.sid) if k == "recording_deleted")
            assert tombstone["by"] == "dpo" and tombstone["reason"] == "erasure request 2026-118"
            assert datetime.fromisoformat(tombstone["at"]) == clock().astimezone(UTC).replace(microsecond=0)
    finally:
        made.rest.__exit__(None, None, None)


def test_the_daily_upkeep_is_scheduled_on_the_service_clock_and_purges(recorded):
    call = recorded.call("+447700900705")
    recorded.work()
    scheduled = ScheduledJobRegistry(queue=jobs.queue(recorded.rt, "recordings"))
    upkeep_jobs = [j for j in scheduled.get_job_ids() if j.startswith("recordings-upkeep-")]
    assert len(upkeep_jobs) == 1  # one per day, whoever asks
    [at] = [scheduled.get_scheduled_time(j) for j in upkeep_jobs]
    assert at.replace(tzinfo=UTC) == datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    recorded.rt.clock.advance(days=92)
    recorded.work()
    assert recorded.recording(call.sid).status == "deleted"
    assert any(j.startswith("recordings-upkeep-") and j not in upkeep_jobs for j in scheduled.get_job_ids())


def test_a_bad_retention_in_a_flow_file_is_refused(tmp_path):
    flows = tmp_path / "flows"
    shutil.copytree(SHIPPED, flows)
    region = yaml.safe_load((flows / "gb.yaml").read_text())
    region["retention"] = {"days": 0, "forever": True}
    (flows / "gb.yaml").write_text(yaml.safe_dump(region, allow_unicode=True))
    with pytest.raises(FlowError) as caught:
        load_flows(flows)
    text = str(caught.value)
    assert "gb.yaml" in text and "retention" in text and "greater than 0" in text and "forever" in text


def test_deletion_on_request_takes_the_callers_words_off_the_timeline(recorded):
    call = recorded.call("+447700900706")
    recorded.work()
    stored = recorded.recording(call.sid)
    with recorded.world.sessions.begin() as db:  # what a listen step records of what the caller said
        db.add(CallEvent(call_id=stored.call_id, at=recorded.rt.clock(), kind="intent",
                         detail={"intent": "cannot_login", "text": "i cannot log in my password is tiger"}))
    result = ivr(recorded, "recordings", "delete", "--ticket", reference_of(recorded, stored), "--reason", "asked")
    assert result.exit_code == 0, result.output
    intent = next(d for k, d in recorded.events(call.sid) if k == "intent")
    assert intent == {"intent": "cannot_login", "text": "[deleted on request]"}
