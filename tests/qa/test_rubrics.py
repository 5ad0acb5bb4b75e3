"""Rubrics are files beside the flows, checked like them: each problem names the file, the item and
what is wrong; `ivr flows check` lists them; a bad rubric stops the service at start."""
from __future__ import annotations

import shutil
import textwrap

import pytest
from click.testing import CliRunner

from ivr import create_app
from ivr.cli import main
from ivr.errors import FlowError
from ivr.flows.loader import load_flows
from ivr.qa.rubrics import load_rubrics
from tests.flowkit import SHIPPED

HEAD = "name: x\nscale: {0: Missed, 1: Done}\n"
GOOD_ITEMS = """\
items:
  - key: greeting
    label: Greeting
"""


@pytest.fixture
def flows_dir(tmp_path):
    folder = tmp_path / "flows"
    shutil.copytree(SHIPPED, folder)
    return folder


def problems(flows_dir, name: str, text: str) -> list[str]:
    (flows_dir / "rubrics" / name).write_text(textwrap.dedent(text))
    with pytest.raises(FlowError) as error:
        load_rubrics(flows_dir, load_flows(flows_dir))
    return error.value.problems


def test_the_shipped_rubrics_load_a_default_and_koreas_own():
    rubrics = load_rubrics(SHIPPED, load_flows(SHIPPED))
    assert rubrics.for_region("gb") is rubrics.default and rubrics.default.source == "flows/rubrics/default.yaml"
    korea = rubrics.for_region("kr")
    assert korea.source == "flows/rubrics/kr.yaml" and korea.item("ticket_number").auto.check == "prompt_played"
    assert len(korea.version) == 12 and korea.top == 2


@pytest.mark.parametrize("text, problem", [
    (HEAD + "items:\n  - key: a\n    label: A\n    auto: {check: read_minds}\n",
     "flows/rubrics/gb.yaml: items.1 (a).auto.check: Input should be 'prompt_played', 'consent_before_recording'"),
    (HEAD + "items:\n  - key: a\n", "flows/rubrics/gb.yaml: items.1 (a).label: Field required"),
    (HEAD + "items:\n  - {key: a, label: A}\n  - {key: a, label: B}\n",
     "flows/rubrics/gb.yaml: items.2 (a): key 'a' is used twice"),
    (HEAD + "items:\n  - {key: a, label: A, auto: {check: prompt_played}}\n",
     "flows/rubrics/gb.yaml: items.1 (a): auto: prompt_played needs prompts"),
    (HEAD + "items:\n  - {key: a, label: A, auto: {check: prompt_played, prompts: [nope]}}\n",
     "flows/rubrics/gb.yaml: items.1 (a): auto: no step of the flow speaks prompt 'nope'"),
    ("name: x\nscale: {1: low, 2: high}\n" + GOOD_ITEMS,
     "flows/rubrics/gb.yaml: scale: Value error, scores run from 0"),
    (HEAD + "items: []\n", "flows/rubrics/gb.yaml: items: List should have at least 1 item"),
    (HEAD + "items:\n  - {key: a, label: A, colour: red}\n",
     "flows/rubrics/gb.yaml: items.1 (a).colour: Extra inputs are not permitted"),
    ("name: [unclosed\n", "flows/rubrics/gb.yaml: not valid YAML: line 2"),
    ("just text\n", "flows/rubrics/gb.yaml: must be a mapping with name, scale and items"),
])
def test_a_broken_rubric_is_named_with_its_item_and_problem(flows_dir, text, problem):
    found = problems(flows_dir, "gb.yaml", text)
    assert any(p.startswith(problem) for p in found), found


def test_a_label_yaml_reads_as_true_or_false_is_named(flows_dir):
    found = problems(flows_dir, "gb.yaml", "name: x\nscale: {0: no, 1: yes}\n" + GOOD_ITEMS)
    assert found[0] == "flows/rubrics/gb.yaml: scale.0: write the label in quotes ('no'): YAML reads yes and no as " \
                       "true and false"


def test_a_rubric_for_no_region_is_refused(flows_dir):
    found = problems(flows_dir, "atlantis.yaml", HEAD + "" + GOOD_ITEMS)
    assert found == ["flows/rubrics/atlantis.yaml: no region 'atlantis' (a rubric is named for its region, "
                     "or default.yaml)"]


def test_flows_check_lists_the_rubrics_and_fails_on_a_broken_one(flows_dir):
    done = CliRunner().invoke(main, ["flows", "check", "--dir", str(flows_dir)])
    assert done.exit_code == 0, done.output
    assert "flows/rubrics/kr.yaml: ok  rubric for kr" in done.output
    assert "flows/rubrics/default.yaml: ok  rubric for every other region" in done.output
    (flows_dir / "rubrics" / "us.yaml").write_text("name: x\nscale: {0: Missed}\n" + GOOD_ITEMS)
    done = CliRunner().invoke(main, ["flows", "check", "--dir", str(flows_dir)])
    assert done.exit_code == 1 and "flows/rubrics/us.yaml: scale: Dictionary should have at least 2 items" in \
        done.output


def test_a_bad_rubric_stops_the_service_at_start(flows_dir, settings, clock):
    (flows_dir / "rubrics" / "default.yaml").write_text("name: x\n")
    with pytest.raises(FlowError) as error:
        create_app(settings.with_(flows_dir=flows_dir), clock=clock)
    assert "flows/rubrics/default.yaml: scale: Field required" in str(error.value)


def test_without_a_rubric_a_region_can_still_be_read_but_not_scored(flows_dir):
    shutil.rmtree(flows_dir / "rubrics")
    rubrics = load_rubrics(flows_dir, load_flows(flows_dir))
    assert rubrics.for_region("gb") is None and rubrics.default is None
