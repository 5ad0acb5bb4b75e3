"""The on-call rota: handoffs at the boundary minute, overrides, timezones, validation, the database
copy, and `ivr oncall`."""
from __future__ import annotations

import shutil
import textwrap
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.errors import FlowError
from ivr.flows.loader import load_flows
from ivr.flows.rota import load_rota
from ivr.security.rota_store import read_rota, save_rota
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.flowkit import SHIPPED

pytestmark = pytest.mark.time_sensitive  # hours, the rota, paging, call backs or scheduling

ROTA = """\
teams:
  night-and-day:
    regions: [us]
    timezone: America/Los_Angeles
    people:
      ann: {name: Ann, phone: "+14155550101"}
      ben: {name: Ben, phone: "+14155550102"}
      cat: {name: Cat, phone: "+14155550103"}
      lead: {name: Lead, phone: "+14155550109"}
    handoffs:
      - {at: "mon 07:00", primary: ann, secondary: ben}
      - {at: "mon 19:00", primary: ben, secondary: ann}
      - {at: "fri 19:00", primary: cat}
    overrides:
      - {start: 2026-12-24T12:00, end: 2026-12-26T00:00, primary: cat, secondary: ben, reason: Christmas cover}
      - {start: 2026-12-25T08:00, end: 2026-12-25T09:00, primary: lead, reason: swap}
    escalation: [lead]
"""


def rota_in(tmp_path, text=ROTA, regions=("us",)):
    (tmp_path / "oncall.yaml").write_text(textwrap.dedent(text))
    return load_rota(tmp_path, set(regions))


def team(tmp_path):
    rota, problems = rota_in(tmp_path)
    assert not problems
    return rota.team_for("us")


def la(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("America/Los_Angeles"))


def names(people) -> list[str]:
    return [p.name for p in people]


def test_a_handoff_takes_effect_at_its_minute(tmp_path):
    t = team(tmp_path)
    assert names(t.chain(la("2026-11-23T06:59"))) == ["Cat", "Lead"]  # Monday before 07:00: Friday night's
    assert names(t.chain(la("2026-11-23T07:00"))) == ["Ann", "Ben", "Lead"]
    assert names(t.chain(la("2026-11-23T18:59"))) == ["Ann", "Ben", "Lead"]
    assert names(t.chain(la("2026-11-23T19:00"))) == ["Ben", "Ann", "Lead"]
    assert names(t.chain(la("2026-11-26T12:00"))) == ["Ben", "Ann", "Lead"]  # Thursday: Monday night's runs on
    assert names(t.chain(la("2026-11-29T23:59"))) == ["Cat", "Lead"]  # Sunday night wraps to next Monday


def test_overrides_win_and_the_last_written_wins_among_them(tmp_path):
    t = team(tmp_path)
    assert t.on_call(la("2026-12-24T11:59"))[1] == "weekly"
    assert t.on_call(la("2026-12-24T12:00")) == (("cat", "ben"), "Christmas cover")
    assert t.on_call(la("2026-12-25T08:30")) == (("lead",), "swap")
    assert names(t.chain(la("2026-12-25T08:30"))) == ["Lead"]  # nobody twice
    assert t.on_call(la("2026-12-26T00:00"))[1] == "weekly"


def test_the_same_instant_is_read_in_the_teams_own_timezone(tmp_path):
    t = team(tmp_path)
    instant = datetime(2026, 11, 23, 15, 0, tzinfo=ZoneInfo("UTC"))  # 07:00 in Los Angeles
    assert names(t.chain(instant)) == ["Ann", "Ben", "Lead"]
    assert names(t.chain(instant.astimezone(ZoneInfo("Asia/Tokyo")))) == ["Ann", "Ben", "Lead"]


def test_a_week_lists_every_change(tmp_path):
    changes = team(tmp_path).week(la("2026-11-23T00:00"))
    assert [(m.strftime("%a %H:%M"), people) for m, people, _ in changes] == [
        ("Mon 00:00", ("cat",)), ("Mon 07:00", ("ann", "ben")), ("Mon 19:00", ("ben", "ann")),
        ("Fri 19:00", ("cat",))]


@pytest.mark.parametrize("text, problem", [
    ("teams: {}\n", "oncall.yaml: teams: Dictionary should have at least 1 item"),
    (ROTA.replace('primary: ben, secondary: ann', 'primary: zed'),
     "handoff mon 19:00: 'zed' is not one of the team's people"),
    (ROTA.replace('"fri 19:00"', '"friday 7pm"'), "'friday 7pm' is not a handoff time like 'mon 08:00'"),
    (ROTA.replace("America/Los_Angeles", "Mars/Base"), "'Mars/Base' is not an IANA timezone"),
    (ROTA.replace('"+14155550101"', '"415 555 0101"'), "is not a phone number"),
    (ROTA.replace("end: 2026-12-26T00:00", "end: 2026-12-20T00:00"), "ends before it starts"),
    (ROTA.replace("handoffs:\n      - {at: \"mon 07:00\", primary: ann, secondary: ben}\n"
                  "      - {at: \"mon 19:00\", primary: ben, secondary: ann}\n"
                  "      - {at: \"fri 19:00\", primary: cat}\n", "handoffs: []\n"),
     "handoffs: List should have at least 1 item"),
])
def test_a_bad_rota_names_the_file_team_and_problem(tmp_path, text, problem):
    rota, problems = rota_in(tmp_path, text)
    assert rota is None and any(problem in p for p in problems), problems


def test_a_region_without_a_team_is_refused_at_start_up(tmp_path):
    shutil.copytree(SHIPPED, tmp_path / "flows")
    rota = (tmp_path / "flows" / "oncall.yaml").read_text().replace("regions: [sg, hk, kr]", "regions: [sg, hk]")
    (tmp_path / "flows" / "oncall.yaml").write_text(rota)
    with pytest.raises(FlowError) as caught:
        load_flows(tmp_path / "flows")
    nobody = "flows/oncall.yaml: region 'kr' has no security team: its urgent calls would reach nobody"
    assert nobody in caught.value.problems
    (tmp_path / "flows" / "oncall.yaml").unlink()
    with pytest.raises(FlowError) as caught:
        load_flows(tmp_path / "flows")
    assert any("oncall.yaml: missing" in p for p in caught.value.problems)


def test_the_database_copy_gives_the_same_answers(tmp_path, sessions):
    rota, _ = rota_in(tmp_path)
    with sessions.begin() as db:
        save_rota(db, rota)
    with sessions() as db:
        stored = read_rota(db)
    assert stored.version == rota.version
    for moment in ("2026-11-23T06:59", "2026-11-23T07:00", "2026-12-24T13:00", "2026-12-25T08:30"):
        assert stored.team_for("us").chain(la(moment)) == rota.team_for("us").chain(la(moment))


@pytest.fixture
def env(monkeypatch, redis_url, database_url, sessions):
    for name, value in {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                        "IVR_REDIS_URL": redis_url, "IVR_DATABASE_URL": database_url}.items():
        monkeypatch.setenv(name, value)


def test_ivr_oncall_now_and_show(env):
    now = CliRunner().invoke(main, ["oncall", "now", "kr"])
    assert now.exit_code == 0, now.output
    assert now.output.startswith("security-asia (sg, hk, kr), ")
    assert "Lena Koh (security lead) +6565550119" in now.output
    week = CliRunner().invoke(main, ["oncall", "show", "--week", "--team", "security-americas"])
    assert week.exit_code == 0 and "security-americas (us, America/Los_Angeles)" in week.output
    assert "Alice Moreno, then Bruno Silva" in week.output and "escalation: Dana Brooks" in week.output
    assert "no team covers region 'zz'" in CliRunner().invoke(main, ["oncall", "now", "zz"]).output
