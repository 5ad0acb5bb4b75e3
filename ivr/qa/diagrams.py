"""Drawing a region's flow: every step (its name and kind), every branch (labelled with its key or
condition), the consent step, and the urgent path (the key that jumps to it from any question, and
the steps only it reaches), as Graphviz SVG or Mermaid text. `ivr flows draw` prints it; the QA
Call page shows the same drawing with the call's path highlighted.

Step names come from files people edit, so nothing of them reaches the output unescaped: nodes
are numbered (`flow_s3`), labels are escaped for DOT (Graphviz escapes them again for SVG) or
Mermaid, the SVG is checked for anything active before it is used, and both the flow's size and
the drawing's are limited. Graphviz (`dot`) runs with a total timeout.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field

from ivr.core.flow import Flow
from ivr.core.steps import Condition, RouteStep, exits
from ivr.errors import DiagramUnavailable

MAX_STEPS = 400
MAX_LABEL = 48
MAX_SVG_BYTES = 3_000_000
DOT_TIMEOUT = 10.0  # seconds, the whole run of `dot`

KIND_STYLE = {  # fill colour and shape by what the step does
    "consent": ("#fff1b8", "box"), "say": ("#ffffff", "box"), "hangup": ("#e5e5e5", "box"),
    "menu": ("#dcebff", "box"), "language": ("#dcebff", "box"), "listen": ("#dcebff", "box"),
    "callback_offer": ("#dcebff", "box"), "route": ("#f3f3f3", "diamond"), "goto": ("#f3f3f3", "box"),
    "ticket": ("#eeeeee", "note"), "queue": ("#def5e0", "box"), "transfer": ("#ffd9d4", "box"),
    "freeze": ("#ffd9d4", "box"), "callback": ("#ffd9d4", "box"), "cancel_callback": ("#ffffff", "box"),
    "start_recording": ("#fff1b8", "box"),
}
UNSAFE = re.compile(r"<script|<foreignObject|javascript:|\son[a-z]+\s*=|href\s*=|<iframe|<!ENTITY", re.I)


@dataclass(frozen=True)
class Graph:
    """The flow as numbered nodes and edges, before any drawing format."""

    region: str
    ids: dict[str, str]  # step name -> node id
    nodes: list[tuple[str, str, str]]  # (node id, label, kind)
    edges: list[tuple[str, str, str, str]]  # (edge id, from id, to id, label)
    urgent_only: set[str] = field(default_factory=set)  # node ids only the urgent path reaches
    urgent_key: str | None = None
    urgent_start: str | None = None  # node id
    start: str = ""


def graph(flow: Flow) -> Graph:
    steps = flow.steps
    if len(steps) > MAX_STEPS:
        raise DiagramUnavailable(f"{flow.source}: {len(steps)} steps is more than the {MAX_STEPS} a drawing takes")
    ids = {name: f"flow_s{number}" for number, name in enumerate(steps)}
    nodes = [(ids[name], _short(name), step.kind) for name, step in steps.items()]
    edges, count = [], {}
    for name, step in steps.items():
        for label, target in _labelled_exits(step):
            pair = (ids[name], ids[target])
            count[pair] = count.get(pair, -1) + 1
            edges.append((f"flow_e{pair[0][6:]}_{pair[1][6:]}_{count[pair]}", pair[0], pair[1], _short(label)))
    urgent = flow.urgent
    urgent_only = set()
    if urgent:
        ordinary = _reachable(steps, [flow.start], avoid=urgent.start)
        urgent_only = {ids[s] for s in _reachable(steps, [urgent.start]) if s not in ordinary}
    return Graph(region=flow.region, ids=ids, nodes=nodes, edges=edges, urgent_only=urgent_only,
                 urgent_key=urgent.key if urgent else None, urgent_start=ids[urgent.start] if urgent else None,
                 start=ids[flow.start])


def dot_source(g: Graph) -> str:
    lines = [f'digraph "{_dot(g.region)}" {{',
             '  graph [rankdir=TB, fontname="Helvetica", fontsize=10, nodesep=0.3, ranksep=0.35, '
             'bgcolor="transparent"];',
             '  node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled", color="#555555", '
             'penwidth=1];',
             '  edge [fontname="Helvetica", fontsize=8, color="#8a8a8a", fontcolor="#555555", arrowsize=0.6];',
             '  flow_call [id="flow_call", label="incoming call", shape=oval, fillcolor="#333333", '
             'fontcolor="#ffffff", class="entry"];',
             f'  flow_call -> {g.start} [id="flow_e_call_{g.start[6:]}_0"];']
    if g.urgent_start:
        lines.append(f'  flow_urgent [id="flow_urgent", label="urgent key {_dot(g.urgent_key or "")}\\n'
                     f'(at any question)", shape=octagon, fillcolor="#c0392b", fontcolor="#ffffff", class="entry"];')
        lines.append(f'  flow_urgent -> {g.urgent_start} [id="flow_e_urgent_{g.urgent_start[6:]}_0", '
                     f'style=dashed, color="#c0392b", penwidth=1.5];')
    inside = [n for n in g.nodes if n[0] in g.urgent_only]
    if inside:
        lines.append('  subgraph cluster_urgent { label="security fast path"; fontcolor="#c0392b"; '
                     'color="#e8a19a"; style="dashed,rounded";')
        lines += [_dot_node(node, "    ") for node in inside]
        lines.append("  }")
    lines += [_dot_node(node, "  ") for node in g.nodes if node[0] not in g.urgent_only]
    for edge_id, source, target, label in g.edges:
        lines.append(f'  {source} -> {target} [id="{edge_id}", label="{_dot(label)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_node(node: tuple[str, str, str], indent: str) -> str:
    node_id, label, kind = node
    fill, shape = KIND_STYLE.get(kind, ("#ffffff", "box"))
    style = "filled" if shape in ("diamond", "note") else "rounded,filled"
    bold = ", penwidth=2" if kind == "consent" else ""
    return (f'{indent}{node_id} [id="{node_id}", label="{_dot(label)}\\n{_dot(kind)}", shape={shape}, '
            f'style="{style}", fillcolor="{fill}", class="step kind_{kind}"{bold}];')


def render_svg(g: Graph, timeout: float = DOT_TIMEOUT) -> str:
    """Graphviz's drawing of the graph, checked and trimmed to an inline <svg> element."""
    binary = shutil.which("dot")
    if binary is None:
        raise DiagramUnavailable("Graphviz is not installed (apt-get install graphviz)")
    try:
        done = subprocess.run([binary, "-Tsvg"], input=dot_source(g).encode(), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise DiagramUnavailable(f"Graphviz took longer than {timeout:g} s to draw region {g.region}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise DiagramUnavailable(f"Graphviz failed: {message[0] if message else f'exit {done.returncode}'}")
    if len(done.stdout) > MAX_SVG_BYTES:
        raise DiagramUnavailable(f"the drawing of region {g.region} is larger than {MAX_SVG_BYTES // 1_000_000} MB")
    svg = done.stdout.decode()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.S)
    svg = re.sub(r"<title>.*?</title>\s*", "", svg, flags=re.S)
    if UNSAFE.search(svg):
        raise DiagramUnavailable(f"the drawing of region {g.region} holds markup that is not allowed")
    return svg


def highlight(svg: str, g: Graph, path: Iterable[str], taken: Iterable[tuple[str, str]] = ()) -> str:
    """Mark the steps of `path` (and the edges between them) with the class `on_path`, the last
    step also `path_end`. Where two branches of a step lead to the same next step, `taken` (step,
    branch label) pairs say which was taken; without them both are marked. The drawing's layout is
    untouched, so one drawing serves every call."""
    steps = [g.ids[name] for name in path if name in g.ids]
    if not steps:
        return svg
    marked = set(steps) | {"flow_call"}
    lit = {f"flow_e_call_{steps[0][6:]}_0"} | _edges_taken(g, steps, {(g.ids.get(s), label) for s, label in taken})
    if g.urgent_start and g.urgent_start in steps:
        arrived = steps.index(g.urgent_start)
        if arrived == 0 or not any(e[1] == steps[arrived - 1] and e[2] == g.urgent_start for e in g.edges):
            marked.add("flow_urgent")
            lit.add(f"flow_e_urgent_{g.urgent_start[6:]}_0")

    def node(match: re.Match) -> str:
        node_id = match.group(1)
        end = " path_end" if node_id == steps[-1] else ""
        return match.group(0) + (f" on_path{end}" if node_id in marked else "")

    def edge(match: re.Match) -> str:
        return match.group(0) + (" on_path" if match.group(1) in lit else "")

    svg = re.sub(r'<g id="(flow_s\d+|flow_call|flow_urgent)" class="node', node, svg)
    return re.sub(r'<g id="(flow_e[a-z0-9_]+)" class="edge', edge, svg)


def _edges_taken(g: Graph, steps: list[str], taken: set[tuple[str, str]]) -> set[str]:
    lit = set()
    for source, target in zip(steps, steps[1:], strict=False):
        between = [(edge_id, label) for edge_id, a, b, label in g.edges if a == source and b == target]
        chosen = [edge_id for edge_id, label in between if (source, label) in taken]
        lit.update(chosen or [edge_id for edge_id, _ in between])
    return lit


def exit_label(step, index: int | None = None, key: str | None = None, outcome: str | None = None) -> str | None:
    """The label the drawing gives the branch a call took: a route's branch `index` (1-based; None:
    its default), a menu's or say step's `key`, a consent step's `outcome`."""
    if isinstance(step, RouteStep):
        labels = _labelled_exits(step)
        return _short(labels[index - 1][0] if index and index <= len(step.branches) else labels[-1][0])
    if key is not None:
        return f"key {key}"
    if outcome is not None:
        return "declined" if outcome == "declined" else "given"
    return None


STANDALONE_STYLE = ("<style>g.node.on_path > polygon, g.node.on_path > ellipse, g.node.on_path > path "
                    "{stroke: #1a56db; stroke-width: 3px} g.node.path_end > polygon {fill: #cfe0ff} "
                    "g.edge.on_path > path {stroke: #1a56db; stroke-width: 2.5px} "
                    "g.edge.on_path > polygon {stroke: #1a56db; fill: #1a56db}</style>")


def standalone(svg: str) -> str:
    """An SVG file of its own (not inside a QA page): the highlight's style goes inside it."""
    head_end = svg.index(">", svg.index("<svg")) + 1
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg[:head_end] + STANDALONE_STYLE + svg[head_end:]


def mermaid(g: Graph, path: Iterable[str] = ()) -> str:
    """The same graph as a Mermaid flowchart (GitHub and many wikis draw it)."""
    lines = ["flowchart TD", f'  flow_call(["incoming call"]) --> {g.start}']
    if g.urgent_start:
        lines.append(f'  flow_urgent{{{{"urgent key {_mermaid(g.urgent_key or "")} at any question"}}}} -.-> '
                     f"{g.urgent_start}")
    for node_id, label, kind in g.nodes:
        text = f'"{_mermaid(label)}<br/>{_mermaid(kind)}"'
        lines.append(f"  {node_id}{{{text}}}" if kind == "route" else f"  {node_id}[{text}]")
    for _, source, target, label in g.edges:
        lines.append(f'  {source} -->|"{_mermaid(label)}"| {target}')
    lines.append("  classDef consent fill:#fff1b8,stroke:#555,stroke-width:2px")
    lines.append("  classDef urgent fill:#ffd9d4,stroke:#c0392b")
    lines.append("  classDef on_path stroke:#1a56db,stroke-width:3px")
    consent = [n for n, _, kind in g.nodes if kind == "consent"]
    if consent:
        lines.append(f"  class {','.join(consent)} consent")
    if g.urgent_only:
        lines.append(f"  class {','.join(sorted(g.urgent_only))} urgent")
    steps = [g.ids[name] for name in path if name in g.ids]
    if steps:
        lines.append(f"  class {','.join(dict.fromkeys(steps))} on_path")
    return "\n".join(lines) + "\n"


def _labelled_exits(step) -> list[tuple[str, str]]:
    if isinstance(step, RouteStep):
        return [(_condition(branch.when), branch.next) for branch in step.branches] + [("otherwise", step.default)]
    return [(label.replace("option ", "key "), target) for label, target in exits(step)]


def _condition(when: Condition) -> str:
    parts = [f"{name} {_any(value)}" for name, value in (("hours", when.hours), ("language", when.language),
                                                          ("intent", when.intent), ("consent", when.consent))
             if value]
    parts += [f"{name} {_any(value)}" for name, value in when.vars.items()]
    return ", ".join(parts) or "always"


def _any(value) -> str:
    return "/".join(value) if isinstance(value, list) else str(value)


def _reachable(steps, entries: list[str], avoid: str | None = None) -> set[str]:
    seen, todo = set(entries), list(entries)
    while todo:
        for _, target in exits(steps[todo.pop()]):
            if target not in seen and target != avoid:
                seen.add(target)
                todo.append(target)
    return seen


def _short(text: str) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


def _dot(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _mermaid(text: str) -> str:
    text = text.replace("#", "#35;")
    for raw, entity in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("|", "#124;"),
                        ("{", "#123;"), ("}", "#125;"), ("[", "#91;"), ("]", "#93;")):
        text = text.replace(raw, entity)
    return text


class FlowDrawings:
    """Each region's drawing, made once per flow version and highlighted per call (a service of the
    runtime: `rt.service(FlowDrawings)`)."""

    def __init__(self, timeout: float = DOT_TIMEOUT):
        self.timeout = timeout
        self._drawn: dict[tuple[str, str], tuple[Graph, str]] = {}

    def svg(self, flow: Flow, path: Iterable[str] = (), taken: Iterable[tuple[str, str]] = ()) -> str:
        key = (flow.region, flow.version)
        if key not in self._drawn:
            g = graph(flow)
            self._drawn[key] = (g, render_svg(g, self.timeout))
        g, svg = self._drawn[key]
        return highlight(svg, g, path, taken)
