"""`ivr flows draw`: a region's flow as Graphviz SVG or Mermaid (every step, branch, the consent step,
the urgent path), a path highlighted; names from a hostile flow file never become markup; Graphviz
that hangs or a flow too large to draw is refused with a reason."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.errors import DiagramUnavailable
from ivr.flows.loader import load_flows
from ivr.qa import diagrams
from tests.flowkit import SHIPPED, mini_region, write_flows

GB_PATH = ["greeting", "fraud_warning", "consent", "check_hours", "ticket_number", "callback_check", "describe",
           "issue_menu", "answer_kyc", "after_answer", "self_served", "goodbye"]


def draw(*args: str):
    return CliRunner().invoke(main, ["flows", "draw", *args])


def test_svg_draws_every_step_the_consent_step_and_the_urgent_path():
    done = draw("gb")
    assert done.exit_code == 0, done.output
    svg = ET.fromstring(done.output)  # well-formed XML
    texts = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    flow = load_flows(SHIPPED).flows["gb"]
    assert set(flow.steps) <= texts
    assert {"incoming call", "urgent key 9", "(at any question)", "security fast path"} <= texts
    assert {"hours closed", "hours holiday", "otherwise", "given", "declined", "intent cannot_login", "key 4"} <= texts
    assert 'class="node step kind_consent"' in done.output


def test_mermaid_draws_the_same_graph():
    done = draw("kr", "--format", "mermaid")
    assert done.exit_code == 0 and done.output.startswith("flowchart TD\n")
    flow = load_flows(SHIPPED).flows["kr"]
    assert all(f'"{name}<br/>' in done.output for name in flow.steps)
    assert "-.->" in done.output and "class " in done.output


def test_a_path_is_highlighted_in_a_standalone_svg_and_in_mermaid():
    svg = draw("gb", "--path", ",".join(GB_PATH)).output
    assert svg.count('class="node on_path') == len(GB_PATH) + 1 and "<style>" in svg
    mermaid = draw("gb", "--format", "mermaid", "--path", " > ".join(GB_PATH)).output
    g = diagrams.graph(load_flows(SHIPPED).flows["gb"])
    assert f"class {','.join(g.ids[s] for s in GB_PATH)} on_path" in mermaid


def test_an_unknown_region_or_step_is_named():
    assert "no region 'zz'; regions: gb, hk, kr, sg, us" in draw("zz").output
    assert "--path: no step 'nowhere'" in draw("gb", "--path", "greeting,nowhere").output


HOSTILE = '''\
    greeting:
      kind: menu
      prompts: [menu]
      options:
        "1": {next: 'a"];evil[label="x'}
        "2": {next: '</text><script>alert(1)</script>'}
      on_fail: 'b\\\\"c\\nd|e}{f'
    'a"];evil[label="x':
      kind: hangup
    '</text><script>alert(1)</script>':
      kind: hangup
    'b\\\\"c\\nd|e}{f':
      kind: hangup
    '''


def test_step_names_from_the_flow_file_never_become_markup(tmp_path):
    folder = write_flows(tmp_path / "flows", mini_region(HOSTILE))
    flow = load_flows(folder).flows["zz"]
    g = diagrams.graph(flow)
    svg = diagrams.render_svg(g)
    root = ET.fromstring(svg)
    assert "<script" not in svg and "evil[" not in re.sub(r"<text[^>]*>.*?</text>", "", svg, flags=re.S)
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert '</text><script>alert(1)</script>' in texts and 'a"];evil[label="x' in texts
    assert len([n for n in root.iter("{http://www.w3.org/2000/svg}g") if n.get("class", "").startswith("node")]) == 5
    mermaid = diagrams.mermaid(g)
    assert "<script" not in mermaid and '"];evil' not in mermaid and "#lt;script#gt;" in mermaid
    assert all(line.count('"') % 2 == 0 for line in mermaid.splitlines())


def test_graphviz_that_does_not_finish_in_time_is_stopped(tmp_path, monkeypatch):
    slow = tmp_path / "bin" / "dot"
    slow.parent.mkdir()
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", f"{slow.parent}:/usr/bin:/bin")
    g = diagrams.graph(load_flows(SHIPPED).flows["gb"])
    with pytest.raises(DiagramUnavailable, match="Graphviz took longer than 0.5 s"):
        diagrams.render_svg(g, timeout=0.5)


def test_without_graphviz_the_reason_is_given(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DiagramUnavailable, match="Graphviz is not installed"):
        diagrams.render_svg(diagrams.graph(load_flows(SHIPPED).flows["gb"]))


def test_a_flow_too_large_to_draw_is_refused(tmp_path):
    steps = "".join(f"    s{n}:\n      kind: goto\n      next: s{n + 1}\n" for n in range(diagrams.MAX_STEPS))
    steps += f"    s{diagrams.MAX_STEPS}:\n      kind: hangup\n"
    folder = write_flows(tmp_path / "flows", mini_region(steps, start="s0"))
    with pytest.raises(DiagramUnavailable, match="401 steps is more than the 400"):
        diagrams.graph(load_flows(folder).flows["zz"])
