"""Every scenario file in scenarios/ (each shipped region's main paths, in each language), run
through the emulated Twilio against the app; and `ivr call`, the command that runs them."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.emulator.runner import Dialer
from ivr.emulator.scenarios import load_scenario, load_scenarios
from ivr.errors import ScenarioError
from ivr.settings import PROJECT_ROOT
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN

pytestmark = pytest.mark.time_sensitive  # hours, the rota, paging, call backs or scheduling

SCENARIOS = PROJECT_ROOT / "scenarios"


@pytest.fixture
def dialer(served, settings, sessions, clock):
    """The app served on a local port (media streams need sockets), as `ivr call` runs it."""
    twilio = served()
    runtime = twilio.app.extensions["ivr"]
    return Dialer(settings, runtime.flows, twilio.transport, sessions, clock, twilio)


@pytest.mark.parametrize("path", sorted(SCENARIOS.rglob("*.yaml")), ids=lambda p: str(p.relative_to(SCENARIOS)))
def test_scenario(path, dialer):
    outcome = dialer.run(load_scenario(path))
    assert outcome.passed, "\n".join(outcome.failures)


def test_every_region_has_its_main_paths_as_scenarios():
    regions = {p.parent.name for p in SCENARIOS.rglob("*.yaml")}
    assert {"us", "gb", "sg", "hk", "kr"} <= regions
    for region in ("us", "gb", "sg", "hk", "kr"):
        names = {p.stem.split("_", 1)[1] for p in (SCENARIOS / region).glob("*.yaml")}
        assert {"kyc_answer", "withdrawal_to_agent", "night", "christmas"} <= names, region


def test_a_scenario_that_does_not_hold_fails_and_says_why(dialer, tmp_path):
    path = tmp_path / "wrong.yaml"
    path.write_text("""
name: expects the wrong category
call: {to: "+442079460100", from: "+447700900123", at: "2026-11-24T10:00"}
caller: [silence, {press: "2"}, {press: "6"}]
expect:
  heard: ["Your ticket number is", "Welcome to"]
  ticket: {category: kyc}
  recording: true
  path: [answer_kyc]
""")
    failures = dialer.run(load_scenario(path)).failures
    assert "expected to hear “Welcome to” later in the call" in failures
    assert "expected ticket category kyc, got withdrawal" in failures
    assert "expected a recording" in failures
    assert any(f.startswith("expected the path to pass 'answer_kyc'") for f in failures)


@pytest.mark.parametrize("body, problem", [
    ("name: x\ncall: {to: '+1'}\ncaller: [{push: 1}]\n", "caller: Value error, {'push': 1} is not a caller action"),
    ("name: x\ncaller: []\n", "call: Field required"),
    ("name: x\ncall: {to: '+1'}\nagents: {'+1555': [sleepy]}\n", "'sleepy' is not an agent"),
    ("name: [unclosed\n", "not valid YAML"),
])
def test_a_bad_scenario_file_is_a_clear_error_naming_the_file(tmp_path, body, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(ScenarioError) as caught:
        load_scenarios(tmp_path)
    assert str(caught.value).startswith(str(path)) and problem in str(caught.value)


@pytest.fixture
def service_env(monkeypatch, redis_url, database_url, sessions):
    for name, value in {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                        "IVR_REDIS_URL": redis_url, "IVR_DATABASE_URL": database_url}.items():
        monkeypatch.setenv(name, value)


def test_ivr_call_prints_the_conversation_path_and_ticket(service_env):
    result = CliRunner().invoke(main, ["call", "--to", "+14155550100", "--at", "2026-11-24T10:00", "--silence",
                                       "--press", "2", "--press", "2", "--press", "6"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "IVR [es-US]   Su número de ticket es" in out and "caller        presses 6" in out
    assert "Path:     greeting > choose_language > fraud_warning > consent" in out
    assert "Ticket:   " in out and "status awaiting_agent, category withdrawal" in out
    assert "Language: es   consent: declined   recording: none" in out and "Warnings: none" in out


def test_ivr_call_runs_a_folder_of_scenarios_with_an_exit_code(service_env, tmp_path):
    (tmp_path / "good.yaml").write_text((SCENARIOS / "gb" / "en_night.yaml").read_text())
    (tmp_path / "bad.yaml").write_text("name: wrong hours\ncall: {to: '+442079460100', at: '2026-11-24T23:00'}\n"
                                       "expect: {heard: ['Identity verification']}\n")
    result = CliRunner().invoke(main, ["call", str(tmp_path)])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "wrong hours" in result.output and "1 passed, 1 failed" in result.output
    assert "expected to hear “Identity verification”" in result.output
    good = CliRunner().invoke(main, ["call", str(tmp_path / "good.yaml")])
    assert good.exit_code == 0 and "1 passed, 0 failed" in good.output


def test_ivr_call_explains_bad_arguments(service_env):
    assert "say which number to call" in CliRunner().invoke(main, ["call", "--press", "1"]).output
    assert "--press needs a value" in CliRunner().invoke(main, ["call", "--to", "+1", "--press"]).output
    assert "unknown option --shout" in CliRunner().invoke(main, ["call", "--to", "+1", "--shout", "x"]).output


def test_the_report_warns_of_long_prompts_dead_ends_and_the_stock_error():
    from ivr.emulator.report import build_report, format_report
    from tests.probe import CALLER, NUMBER, Probe, twilio_for, twiml

    long_prompt = " ".join(["please listen carefully as our options have changed"] * 12)
    probe = Probe({"/voice": twiml(f"<Say>{long_prompt}</Say>")})
    report = build_report(twilio_for(probe).call(NUMBER, CALLER), None)
    assert any("a prompt lasts about" in w for w in report.warnings)
    assert any(w.startswith("dead end") for w in report.warnings)
    assert "Ticket:   unknown (this call is not in the configured database)" in format_report(report)
    broken = Probe({"/voice": (500, "text/plain", "boom"), "/fallback": (500, "text/plain", "boom")})
    report = build_report(twilio_for(broken).call(NUMBER, CALLER), None)
    assert "the caller heard Twilio's stock error message" in report.warnings


def test_the_report_lists_the_agents_rung_through_the_rest_api(dialer):
    from ivr.emulator.report import format_report

    outcome = dialer.run(load_scenario(SCENARIOS / "urgent" / "second_agent_accepts.yaml"))
    text = format_report(outcome.report)
    assert "Agents:   rang +447700900211, +447700900212; connected to +447700900212" in text
    assert "+447700900212 to agent: Urgent security call from United Kingdom" in text
