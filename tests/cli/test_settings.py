"""Settings: a missing or invalid one is a one-line error naming it."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.errors import SettingsError
from ivr.settings import PROJECT_ROOT, Settings

GOOD = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "3f9a0c1d" * 4}
EMULATOR = {"IVR_TWILIO_API_URL": "http://127.0.0.1:5055"}
HOOK_SECRET = "9b1f" * 8


def test_defaults_are_the_embedded_ones():
    settings = Settings.from_env(GOOD)
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("var/ivr.db")
    assert settings.flows_dir.name == "flows" and settings.public_url == "http://127.0.0.1:8000"
    assert settings.url_for("/voice/incoming") == "http://127.0.0.1:8000/voice/incoming"


@pytest.mark.parametrize("change, named", [
    ({"TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN is not set"),
    ({"TWILIO_ACCOUNT_SID": "12345"}, "TWILIO_ACCOUNT_SID must be 'AC' followed by 32 hex digits"),
    ({"TWILIO_ACCOUNT_SID": "AC" + "x" * 32}, "TWILIO_ACCOUNT_SID must be 'AC' followed by 32 hex digits"),
    ({"TWILIO_ACCOUNT_SID": "AC" + "g" * 32}, "TWILIO_ACCOUNT_SID must be 'AC' followed by 32 hex digits"),
    ({"TWILIO_AUTH_TOKEN": "your_auth_token"}, "TWILIO_AUTH_TOKEN is a placeholder"),
    ({"TWILIO_AUTH_TOKEN": "your_auth_token_" + "0" * 16}, "TWILIO_AUTH_TOKEN is a placeholder"),
    ({"TWILIO_AUTH_TOKEN": "x" * 32}, "TWILIO_AUTH_TOKEN is a placeholder"),
    ({"TWILIO_AUTH_TOKEN": "secret"}, "TWILIO_AUTH_TOKEN is a placeholder"),
    ({"TWILIO_AUTH_TOKEN": "3f9a0c1d3f9a"}, "TWILIO_AUTH_TOKEN must be your account's 32-character auth token"),
    ({"TWILIO_AUTH_TOKEN": "3f9a0c1d3f9a", "IVR_TWILIO_API_URL": "https://fake.example.com"},
     "TWILIO_AUTH_TOKEN must be your account's 32-character auth token"),
    ({"IVR_FREEZE_URL": "https://accounts.example.com/freeze"},
     "IVR_FREEZE_URL is set but IVR_FREEZE_SECRET is not"),
    ({"IVR_PAGER_URL": "https://pager.example.com/hook"}, "IVR_PAGER_URL is set but IVR_PAGER_SECRET is not"),
    ({"IVR_PAGER_URL": "http://pager.example.com/hook", "IVR_PAGER_SECRET": HOOK_SECRET},
     "IVR_PAGER_URL must be an https:// URL"),
    ({"IVR_FREEZE_URL": "http://10.0.0.7/freeze", "IVR_FREEZE_SECRET": HOOK_SECRET},
     "IVR_FREEZE_URL must be an https:// URL"),
    ({"IVR_PAGER_URL": "https://pager.example.com/hook", "IVR_PAGER_SECRET": "change-me"},
     "IVR_PAGER_SECRET must be a random secret"),
    ({"IVR_PUBLIC_URL": "ftp://ivr.example.com"}, "IVR_PUBLIC_URL must be an http(s) base URL"),
    ({"IVR_PUBLIC_URL": "https://ivr.example.com/?x=1"}, "IVR_PUBLIC_URL must be an http(s) base URL"),
    ({"IVR_REDIS_URL": "http://localhost"}, "IVR_REDIS_URL must be a redis://"),
    ({"IVR_FLOWS_DIR": "/no/such/folder"}, "IVR_FLOWS_DIR must be an existing directory"),
    ({"IVR_CALL_STATE_TTL": "soon"}, "IVR_CALL_STATE_TTL must be a whole number"),
    ({"IVR_TICKET_JOIN_HOURS": "-3"}, "IVR_TICKET_JOIN_HOURS must be positive"),
    ({"IVR_BIND": "8000"}, "IVR_BIND must be host:port"),
    ({"IVR_LOG_LEVEL": "chatty"}, "IVR_LOG_LEVEL must be one of"),
    ({"IVR_RECORDINGS_URL": "https://bucket.example/recordings"}, "IVR_RECORDINGS_URL must look like s3://bucket"),
    ({"IVR_RECORDINGS_S3_SSE": "rot13"}, "IVR_RECORDINGS_S3_SSE must be one of"),
    ({"IVR_RECORDINGS_DELETE_AT_TWILIO": "maybe"}, "IVR_RECORDINGS_DELETE_AT_TWILIO must be true or false"),
    ({"IVR_RECORDINGS_MAX_MB": "0"}, "IVR_RECORDINGS_MAX_MB must be positive"),
    ({"IVR_RECORDINGS_ORIGINAL_KEY": "c2hvcnQ="}, "IVR_RECORDINGS_ORIGINAL_KEY must be 32 random bytes in base64"),
    ({"IVR_SECRET_KEY": "short"}, "IVR_SECRET_KEY must be at least 32 characters"),
    ({"IVR_AUDIT_KEY": "short"}, "IVR_AUDIT_KEY must be at least 32 characters"),
    ({"IVR_SESSION_COOKIE_SECURE": "maybe"}, "IVR_SESSION_COOKIE_SECURE must be true or false"),
    ({"IVR_SESSION_IDLE_MINUTES": "0"}, "IVR_SESSION_IDLE_MINUTES must be positive"),
])
def test_bad_setting_is_named(change, named):
    with pytest.raises(SettingsError) as error:
        Settings.from_env({**GOOD, **change})
    assert named in str(error.value) and "\n" not in str(error.value)


def test_the_emulator_takes_any_token_and_local_webhooks_may_be_plain_http():
    settings = Settings.from_env({**GOOD, **EMULATOR, "TWILIO_AUTH_TOKEN": "short",
                                  "IVR_PAGER_URL": "http://127.0.0.1:9000/hook", "IVR_PAGER_SECRET": HOOK_SECRET})
    assert settings.twilio_auth_token == "short" and settings.pager_url == "http://127.0.0.1:9000/hook"


def test_env_example_as_is_does_not_start():
    example = {}
    for line in (PROJECT_ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            example[name] = value
    with pytest.raises(SettingsError):
        Settings.from_env(example)
    with pytest.raises(SettingsError, match="TWILIO_AUTH_TOKEN is a placeholder"):
        Settings.from_env({**example, "TWILIO_ACCOUNT_SID": GOOD["TWILIO_ACCOUNT_SID"]})


def test_cli_reports_a_bad_setting_in_one_line(monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", GOOD["TWILIO_AUTH_TOKEN"])
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("IVR_LOG_LEVEL", "chatty")  # the environment wins over .env files
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: IVR_LOG_LEVEL must be one of")
    assert len(result.output.strip().splitlines()) == 1


def test_recording_settings_travel_to_the_processes_the_service_starts():
    key = "A" * 43 + "="
    settings = Settings.from_env({**GOOD, "IVR_RECORDINGS_URL": "s3://calls/kr/", "IVR_RECORDINGS_S3_SSE": "aws:kms",
                                  "IVR_RECORDINGS_DELETE_AT_TWILIO": "no", "IVR_RECORDINGS_ORIGINAL_KEY": key})
    assert (settings.recordings_url, settings.recordings_s3_sse) == ("s3://calls/kr", "aws:kms")
    assert settings.recordings_delete_at_twilio is False and settings.recordings_original_key == key
    assert Settings.from_env(settings.to_env()) == settings


def test_the_qa_settings_read_and_hand_on():
    settings = Settings.from_env({**GOOD, "IVR_SECRET_KEY": "k" * 40, "IVR_SESSION_COOKIE_SECURE": "false",
                                  "IVR_SESSION_MAX_HOURS": "8"})
    assert settings.secret_key == "k" * 40 and settings.session_cookie_secure is False
    assert settings.session_max_hours == 8 and settings.session_idle_minutes == 30 and settings.audit_key is None
    assert Settings.from_env(settings.to_env()) == settings


def test_serve_refuses_to_start_without_the_qa_secret_key(monkeypatch):
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("IVR_SECRET_KEY", "")  # the environment wins over .env files
    result = CliRunner().invoke(main, ["serve", "--job-workers", "0"])
    assert result.exit_code == 1
    assert "refusing to start: IVR_SECRET_KEY is not set" in result.output
