"""`ivr flows check`: every problem printed with its file and step; shipped flows pass."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.errors import FlowError
from ivr.flows.loader import load_flows
from tests.flowkit import SHIPPED, mini_region, write_flows

BROKEN = SHIPPED.parent / "tests" / "broken_flows"


def check(folder):
    return CliRunner().invoke(main, ["flows", "check", "--dir", str(folder)])


def test_shipped_flows_pass_the_check():
    result = check(SHIPPED)
    assert result.exit_code == 0, result.output
    for region in ("us", "gb", "sg", "hk", "kr"):
        assert f"flows/{region}.yaml: ok" in result.output
        assert f"flows/desks/support-{region}.yaml: ok  regions {region}  2 agents" in result.output


def test_a_bad_desk_file_fails_the_check_naming_it(tmp_path):
    import shutil

    folder = tmp_path / "flows"
    shutil.copytree(SHIPPED, folder)
    desk = folder / "desks" / "support-gb.yaml"
    desk.write_text(desk.read_text().replace('"+447400900302"', '"07400 900302"'))
    result = check(folder)
    assert result.exit_code == 1
    assert "flows/desks/support-gb.yaml: agents.tom.phone: Value error, '07400 900302' is not a phone number" \
        in result.output and "1 problem(s) found" in result.output


@pytest.fixture(scope="module")
def broken_output():
    result = check(BROKEN)
    assert result.exit_code == 1
    return result.output


@pytest.mark.parametrize("expected", [
    "broken_flows/dangling.yaml: step 'greeting': next goes to 'menu', which does not exist",
    "broken_flows/records_early.yaml: step 'record': can start a recording before consent "
    "(path: greeting -> record)",
    "broken_flows/records_early.yaml: language 'fr' has no prompt 'apology'",
    "broken_flows/records_early.yaml: step 'greeting': language 'fr' has no prompt 'welcome'",
    "broken_flows/malformed.yaml: numbers: Value error, '+1 415 555 0183' is not in E.164 form",
    "broken_flows/malformed.yaml: timezone: Value error, 'Mars/Olympus_Mons' is not an IANA timezone",
    "broken_flows/malformed.yaml: consent: Input should be 'all-party' or 'one-party'",
    "broken_flows/malformed.yaml: step 'greeting': kind must be one of say, language, menu",
    "broken_flows/malformed.yaml: step 'menu': options: Value error, option key '12' is not a single keypad key",
    "broken_flows/not_yaml.yaml: not valid YAML: line 3",
    "broken_flows/steps/shared.yaml: step 'shared_bad': prompts: Input should be a valid list",
    "broken_flows/escapes.yaml: include: '../../flows/steps/support_desk.yaml' is not a file inside broken_flows/",
])
def test_each_problem_names_file_and_step(broken_output, expected):
    assert expected in broken_output


def test_unreachable_step_is_reported(tmp_path):
    folder = write_flows(tmp_path, mini_region("""
        greeting: {kind: hangup, prompts: [goodbye]}
        orphan: {kind: hangup, prompts: [goodbye]}
    """, consent="one-party"))
    with pytest.raises(FlowError) as error:
        load_flows(folder)
    assert "zz.yaml: step 'orphan': nothing reaches this step" in str(error.value)


def test_unknown_prompt_variable_is_reported(broken_output):
    assert "language 'en' prompt 'goodbye': unknown variable {caller_name}" in broken_output


def test_recording_after_a_yes_branch_is_allowed(tmp_path):
    folder = write_flows(tmp_path, mini_region("""
        greeting: {kind: consent, given: check, declined: check}
        check:
          kind: route
          branches: [{when: {consent: given}, next: record}]
          default: bye
        record: {kind: start_recording, next: bye}
        bye: {kind: hangup, prompts: [goodbye]}
    """))
    assert load_flows(folder).flows["zz"]


def test_the_same_number_in_two_regions_is_refused(tmp_path):
    write_flows(tmp_path, mini_region("greeting: {kind: hangup}\n", consent="one-party"))
    (tmp_path / "zy.yaml").write_text((tmp_path / "zz.yaml").read_text().replace("region: zz", "region: zy"))
    with pytest.raises(FlowError, match=r"number \+14155550199 is also used by"):
        load_flows(tmp_path)


def test_service_refuses_to_start_on_a_bad_flow(settings):
    from ivr import create_app
    with pytest.raises(FlowError):
        create_app(settings.with_(flows_dir=BROKEN))


def test_flow_version_changes_when_a_prompt_changes(tmp_path):
    folder = write_flows(tmp_path, mini_region("greeting: {kind: hangup, prompts: [goodbye]}\n", consent="one-party"))
    before = load_flows(folder).flows["zz"].version
    text = (folder / "prompts" / "en.yaml").read_text().replace("Bye.", "Goodbye now.")
    (folder / "prompts" / "en.yaml").write_text(text)
    assert load_flows(folder).flows["zz"].version != before


def test_a_region_step_overrides_an_included_one(tmp_path):
    write_flows(tmp_path, mini_region("""\
        greeting: {kind: say, prompts: [welcome], next: bye}
        bye: {kind: hangup, prompts: [one]}
        """, consent="one-party").replace("steps:\n", "include: [steps/common.yaml]\nsteps:\n"))
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "common.yaml").write_text("steps:\n  bye: {kind: hangup, prompts: [two]}\n")
    flow = load_flows(tmp_path).flows["zz"]
    assert flow.steps["bye"].prompts == ["one"]
    before = flow.version
    (tmp_path / "steps" / "common.yaml").write_text("steps:\n  bye: {kind: hangup, prompts: [goodbye]}\n")
    assert load_flows(tmp_path).flows["zz"].version != before  # included files are part of the version


URGENT_REGION = """\
    greeting: {kind: say, prompts: [welcome], interruptible: true, next: menu}
    menu:
      kind: menu
      prompts: [menu]
      options: {"9": {next: bye}, "1": {next: hours}}
      on_fail: bye
    hours:
      kind: route
      branches: [{when: {hours: closed}, next: bye}]
      default: bye
    security: {kind: goto, next: hours}
    bye: {kind: hangup, prompts: [goodbye]}
    """


def test_the_urgent_path_is_checked(tmp_path):
    region = mini_region(URGENT_REGION, consent="one-party")
    region = region.replace("steps:\n", 'urgent: {key: "9", start: security}\nsteps:\n')
    write_flows(tmp_path, region)
    result = check(tmp_path)
    assert result.exit_code == 1
    assert "zz.yaml: step 'menu': key 9 is the urgent key; it cannot also be an option" in result.output
    assert "zz.yaml: step 'hours': the urgent path must not depend on opening hours" in result.output
    assert "zz.yaml: urgent: the path from 'security' never reaches a transfer step" in result.output


def test_every_question_of_an_urgent_region_hears_words_or_says_why_not(tmp_path):
    import shutil

    folder = tmp_path / "flows"
    shutil.copytree(SHIPPED, folder)
    assert check(folder).exit_code == 0  # kr listens through its urgency stream; hk and sg say why not
    region = folder / "kr.yaml"
    region.write_text("\n".join(line for line in region.read_text().splitlines()
                                if not line.startswith("urgency_stream:")))
    result = check(folder)
    assert result.exit_code == 1
    assert ("flows/kr.yaml: step 'greeting': this question hears keys only, so an urgent phrase said here is not "
            "heard; allow cloud_speech, listen with urgency_stream: true, or say why with keys_only: (on the step or "
            "the region)") in result.output
    assert "flows/us.yaml" not in result.output and "flows/gb.yaml" not in result.output  # Twilio's speech hears them
    sg = folder / "sg.yaml"
    sg.write_text("\n".join(line for line in sg.read_text().splitlines() if not line.startswith("keys_only:")))
    assert "flows/sg.yaml: step 'greeting': this question hears keys only" in check(folder).output
