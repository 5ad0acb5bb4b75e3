"""The QA pages' world: the app with the QA pages on, real calls made through the emulated Twilio
(kept for a whole test module: making them is the slow part), reviewers of each role, and signing
in through the real sign-in form. At the end of the run, the audit log's chain must be intact."""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from pydub import AudioSegment
from pydub.generators import Sine
from sqlalchemy import select

from ivr import create_app
from ivr.db.database import make_engine, make_sessions
from ivr.db.models import AuditEntry, Call, Recording, Ticket
from ivr.emulator import Agent, NumberConfig, Press, Silence, Twilio
from ivr.emulator.transport import FlaskTransport
from ivr.qa import admin, audit
from ivr.qa.admin import OPERATOR
from ivr.recordings import audio as sound
from ivr.recordings.ingest import Analysis, note_transcripts, put_verified, write_transcripts
from ivr.recordings.records import note_recording, storage_key
from ivr.recordings.storage import Store
from ivr.recordings.transcripts import ChannelText, no_model
from ivr.redaction.secrets import Word, find_secrets
from ivr.settings import Settings
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FLOWS_DIR,
    PUBLIC_URL,
    SECRET_KEY,
    TUESDAY,
    Clock,
    clear_tables,
    drain_records,
)

PASSWORD = "correct horse battery staple"
GB, US = "+442079460100", "+14155550100"
REVIEWERS = {  # name: (role, regions)
    "alice": ("qa", "gb"), "bob": ("qa", "us"), "sam": ("security", "gb"), "ada": ("admin", "*"),
}


@dataclass
class Calls:
    """The calls every QA test module starts with (ids in the database)."""

    gb_kyc: int  # consent given by keypad, KYC answered, self-served; fraud warning played
    gb_kyc_again: int  # the same caller an hour later: the same ticket
    gb_queue: int  # consent declined, a withdrawal, talked with Olivia at the gb desk
    gb_urgent: int  # pressed 9 in the greeting: P1, Emma did not answer, Farid accepted
    us_kyc: int  # the US line, English, consent given, KYC


class QaWorld:
    def __init__(self, app, twilio: Twilio, clock: Clock, sessions, settings: Settings):
        self.app, self.twilio, self.clock, self.sessions, self.settings = app, twilio, clock, sessions, settings
        self.rt = app.extensions["ivr"]
        self.calls: Calls | None = None

    def make_calls(self) -> Calls:
        t = self.twilio
        self.clock.set("2026-11-24T10:00", "Europe/London")
        kyc = t.call(GB, "+447700900123", [Silence(), Press("1"), Press("4"), Silence()])
        for number in ("+447400900301", "+447400900302"):  # the gb desk: Olivia, Tom
            t.person(number, Agent(talk_seconds=90))
        queue = t.call(GB, "+447700900124", [Silence(), Press("2"), Press("6")])
        t.person("+447700900211", Agent(answer="no-answer"))  # Emma, on call
        t.person("+447700900212", Agent())  # Farid accepts
        urgent = t.call(GB, "+447700900125", [Press("9"), Silence(), Silence()])
        self.clock.set("2026-11-24T11:00", "Europe/London")
        again = t.call(GB, "+447700900123", [Silence(), Press("1"), Press("7"), Silence()])
        self.clock.set("2026-11-24T10:00", "America/Los_Angeles")
        us = t.call(US, "+14155550123", [Silence(), Press("1"), Press("1"), Press("4"), Silence()])
        self.clock.set_moment(TUESDAY)
        drain_records(self.app)  # what `ivr writer` has written by the time a reviewer looks
        self.calls = Calls(*(self.call_id(c.sid) for c in (kyc, again, queue, urgent, us)))
        return self.calls

    def store_recording(self, call_id: int, words: dict[int, list[tuple[str, float, float]]] | None,
                        seconds: int = 8) -> int:
        """What the ingest job leaves for a call's recording, made here without Twilio's media: a
        real stereo Ogg Opus file (a tone per channel, the secrets toned out) put in the store
        through the storage API and read back, the transcripts (`words` per channel, their secrets
        found and replaced by the real redaction; None: no model for the language) and the
        timeline lines. Returns the recording's id."""
        rt, now = self.rt, self.clock()
        with self.sessions.begin() as db:
            call = db.get(Call, call_id)
            recording = db.scalars(select(Recording).where(Recording.call_id == call_id)).first()
            if recording is None:
                recording = Recording(recording_sid=f"RE{call_id:032x}", call_id=call_id, ticket_id=call.ticket_id,
                                      region=call.region, language=call.language, channels=2, status="pending",
                                      attempts=0, redactions=[], created_at=now)
                db.add(recording)
                db.flush()
            ticket = db.get(Ticket, call.ticket_id) if call.ticket_id else None
            sid, language = recording.recording_sid, call.language or "en"
            key = storage_key(rt, recording, call, ticket)
            known = {ticket.reference} if ticket else set()
        texts, spans = [], {}
        for channel in (1, 2):
            if words is None:
                texts.append(ChannelText(channel, language, [], no_model(language)))
                continue
            heard = [Word(text, start, end) for text, start, end in words.get(channel, [])]
            texts.append(ChannelText(channel, language, heard))
            spans[channel] = find_secrets(heard, language, known)
        analysis = Analysis(texts, spans)
        tones = [Sine(frequency).to_audio_segment(seconds * 1000, -12.0).set_frame_rate(8000).set_channels(1)
                 .set_sample_width(2) for frequency in (440, 660)]
        store = rt.service(Store)
        with tempfile.TemporaryDirectory(prefix="ivr-qa-recording-") as folder:
            encoded = Path(folder) / "stored.ogg"
            sound.encode(sound.tone_over(AudioSegment.from_mono_audiosegments(*tones), analysis.toned()), encoded)
            stored_sha256 = put_verified(store, key, encoded, sound.CONTENT_TYPE)
            size = encoded.stat().st_size
        with self.sessions.begin() as db:
            recording = db.scalars(select(Recording).where(Recording.recording_sid == sid)).one()
            recording.status, recording.stored_at, recording.duration_seconds = "stored", now, seconds
            recording.storage, recording.storage_key, recording.format = store.name, key, sound.FORMAT
            recording.stored_sha256, recording.stored_bytes, recording.twilio_deleted_at = stored_sha256, size, now
            write_transcripts(db, recording, analysis, now)
            note_recording(db, recording, "recording_stored", now, storage=store.name, key=key, bytes=size,
                           sha256=stored_sha256, format=sound.FORMAT, encrypted_original=False)
            note_transcripts(db, recording, analysis, now)
            return recording.id

    def call_id(self, sid: str) -> int:
        with self.sessions() as db:
            return db.scalars(select(Call.id).where(Call.call_sid == sid)).one()

    def add_user(self, name: str, role: str, regions: str, password: str = PASSWORD):
        return admin.add_user(self.rt, OPERATOR, name, role, regions, password)

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def signed_in(self, name: str, password: str = PASSWORD) -> FlaskClient:
        client = self.client()
        answer = sign_in(client, name, password)
        assert answer.status_code == 303, answer.text
        return client

    def audit_entries(self, after: int = 0) -> list[AuditEntry]:
        with self.sessions() as db:
            return list(db.scalars(select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq)))

    def last_seq(self) -> int:
        with self.sessions() as db:
            return db.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)).first() or 0


def csrf_of(page_text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_text).group(1)


def sign_in(client: FlaskClient, name: str, password: str, **extra):
    token = csrf_of(client.get("/qa/sign-in").text)
    return client.post("/qa/sign-in", data={"name": name, "password": password, "csrf_token": token, **extra})


def qa_settings(redis_url: str, database_url: str, clock: Clock, folder, **changes) -> Settings:
    return Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, public_url=PUBLIC_URL,
                    redis_url=redis_url, database_url=database_url, flows_dir=FLOWS_DIR,
                    recordings_dir=folder / "recordings", clock=clock.spec, secret_key=SECRET_KEY,
                    session_cookie_secure=False, **changes)


def world(redis_url: str, database_url: str, folder, calls: bool):
    clock = Clock(TUESDAY, shared_as=folder / "clock")
    twilio = Twilio(None, ACCOUNT_SID, AUTH_TOKEN, [])
    rest = twilio.serve_rest().__enter__()  # the agents of the urgent call are rung through it
    settings = qa_settings(redis_url, database_url, clock, folder, signin_max_failures=3, signin_ip_max_failures=6,
                           twilio_api_url=rest.url)
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    with sessions.begin() as db:
        clear_tables(db)
    app = create_app(settings, clock=clock)
    numbers = [NumberConfig(n, f"{PUBLIC_URL}/voice/incoming", f"{PUBLIC_URL}/voice/fallback",
                            f"{PUBLIC_URL}/voice/status") for flow in app.extensions["ivr"].flows for n in flow.numbers]
    twilio.transport = FlaskTransport(app)
    twilio.numbers.update({n.number: n for n in numbers})
    made = QaWorld(app, twilio, clock, sessions, settings)
    made.rest = rest
    if calls:
        made.make_calls()
    for name, (role, regions) in REVIEWERS.items():
        made.add_user(name, role, regions)
    return made, engine


@pytest.fixture(scope="module")
def qa(redis_url, database_url, tmp_path_factory):
    """A QA world for a whole test module: its calls and reviewers are made once. (Its tests must
    not ask for the `app` or `sessions` fixtures, which empty the tables before each test.)"""
    made, engine = world(redis_url, database_url, tmp_path_factory.mktemp("qa"), calls=True)
    yield made
    made.rest.__exit__(None, None, None)
    engine.dispose()


@pytest.fixture(scope="module")
def people(redis_url, database_url, tmp_path_factory):
    """The QA world's reviewers without its calls (signing in, sessions)."""
    made, engine = world(redis_url, database_url, tmp_path_factory.mktemp("qa"), calls=False)
    yield made
    made.rest.__exit__(None, None, None)
    engine.dispose()


@pytest.fixture(autouse=True)
def _qa_clock_reset(request):
    """Each test in a QA module starts on the world's Tuesday, whatever the last one did to the clock."""
    for name in ("qa", "people"):
        if name in request.fixturenames:
            request.getfixturevalue(name).clock.set_moment(TUESDAY)


@pytest.fixture(scope="session", autouse=True)
def _audit_chain_intact_after_the_suite(database_url):
    """After every QA test has run: the audit log they all wrote to is one unbroken chain."""
    yield
    engine = make_engine(database_url)
    try:
        verdict = audit.verify(make_sessions(engine), None)
    finally:
        engine.dispose()
    assert verdict.intact, f"the audit log's chain is broken after the suite: {verdict.problem}"
