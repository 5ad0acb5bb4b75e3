"""Loading and checking flow files: one YAML file per region in flows/, prompts per language.

A flow that loads here is well formed (every field valid, every target step exists); `lint`
adds the checks that look across the whole graph. Both report problems as
"<file>: step '<name>': <problem>".
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml
from pydantic import ValidationError

from ivr.core.flow import Flow, FlowFile
from ivr.core.steps import STEP_KINDS, exits
from ivr.errors import FlowError
from ivr.flows.datafiles import relative, yaml_where
from ivr.flows.desks import Desks, load_desks
from ivr.flows.lint import lint
from ivr.flows.phrasebooks import Phrasebook, load_phrasebooks
from ivr.flows.rota import ROTA_FILE, Rota, load_rota

PROMPTS_DIR = "prompts"


def load_prompt_book(flows_dir: Path) -> tuple[dict[str, dict[str, str]], dict[str, bytes], list[str]]:
    """Read flows/prompts/<lang>.yaml: texts by language, raw bytes (for versions), problems."""
    texts: dict[str, dict[str, str]] = {}
    raw: dict[str, bytes] = {}
    problems: list[str] = []
    for path in sorted((flows_dir / PROMPTS_DIR).glob("*.yaml")):
        rel = relative(path, flows_dir)
        data = path.read_bytes()
        try:
            loaded = yaml.safe_load(data) or {}
        except yaml.YAMLError as exc:
            problems.append(f"{rel}: not valid YAML: {yaml_where(exc)}")
            continue
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            problems.append(f"{rel}: must map prompt keys to texts")
            continue
        texts[path.stem] = {str(k): v for k, v in loaded.items()}
        raw[path.stem] = data
    return texts, raw, problems


def load_flow(path: Path, flows_dir: Path, book: Mapping[str, Mapping[str, str]],
              book_raw: Mapping[str, bytes]) -> Flow:
    """Parse and validate one region file. Raises FlowError naming the file and step."""
    rel = relative(path, flows_dir)
    data = path.read_bytes()
    try:
        loaded = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise FlowError([f"{rel}: not valid YAML: {yaml_where(exc)}"]) from None
    if not isinstance(loaded, dict):
        raise FlowError([f"{rel}: must be a mapping of region settings"])
    digest = hashlib.sha256(data)
    origins = _merge_includes(loaded, rel, flows_dir, digest)
    try:
        spec = FlowFile.model_validate(loaded)
    except ValidationError as exc:
        raise FlowError([_describe(err, rel, origins) for err in exc.errors()]) from None
    problems = _check_targets(spec, rel)
    prompts = {}
    for lang in spec.languages:
        prompts[lang.code] = MappingProxyType({**book.get(lang.code, {}), **spec.prompt_overrides.get(lang.code, {})})
    for code in spec.prompt_overrides:
        if code not in prompts:
            problems.append(f"{rel}: prompt_overrides: '{code}' is not one of the region's languages")
    if problems:
        raise FlowError(problems)
    for lang in spec.languages:
        digest.update(book_raw.get(lang.code, b""))
    return Flow(spec=spec, source=rel, version=digest.hexdigest()[:12], prompts=MappingProxyType(prompts))


def _merge_includes(loaded: dict, rel: str, flows_dir: Path, digest) -> dict[str, str]:
    """Put the steps of each file in `include:` under the region's own (a region's step of the same
    name wins). Returns which file each included step came from, for error messages."""
    includes = loaded.get("include") or []
    if not isinstance(includes, list):
        raise FlowError([f"{rel}: include: must be a list of step files, like [steps/support_desk.yaml]"])
    merged: dict = {}
    origins: dict[str, str] = {}
    for name in includes:
        path = (flows_dir / str(name)).resolve()
        if flows_dir.resolve() not in path.parents or not path.is_file():
            raise FlowError([f"{rel}: include: '{name}' is not a file inside {flows_dir.name}/"])
        inc_rel = relative(path, flows_dir.resolve())
        data = path.read_bytes()
        digest.update(data)
        try:
            included = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise FlowError([f"{inc_rel}: not valid YAML: {yaml_where(exc)}"]) from None
        if not isinstance(included, dict) or not isinstance(included.get("steps"), dict) or set(included) != {"steps"}:
            raise FlowError([f"{inc_rel}: a step file holds only 'steps:', a mapping of step names to steps"])
        merged.update(included["steps"])
        origins.update(dict.fromkeys(included["steps"], inc_rel))
    own = loaded.get("steps")
    if includes and isinstance(own, dict):
        for step in own:
            origins.pop(step, None)
        loaded["steps"] = {**merged, **own}
    elif includes and own is None:
        loaded["steps"] = merged
    return origins


def _check_targets(spec: FlowFile, rel: str) -> list[str]:
    problems = []
    if spec.start not in spec.steps:
        problems.append(f"{rel}: start: step '{spec.start}' does not exist")
    if spec.urgent and spec.urgent.start not in spec.steps:
        problems.append(f"{rel}: urgent: start step '{spec.urgent.start}' does not exist")
    codes = {lang.code for lang in spec.languages}
    for name, step in spec.steps.items():
        for label, target in exits(step):
            if target not in spec.steps:
                problems.append(f"{rel}: step '{name}': {label} goes to '{target}', which does not exist")
        if step.kind == "language":
            for key, code in step.options.items():
                if code not in codes:
                    problems.append(f"{rel}: step '{name}': option {key} picks language '{code}', "
                                    f"which the region does not offer")
    return problems


def _describe(err: dict, rel: str, origins: Mapping[str, str]) -> str:
    loc = [str(part) for part in err["loc"]]
    where_file = origins.get(loc[1], rel) if len(loc) >= 2 and loc[0] == "steps" else rel
    return f"{where_file}: {_describe_loc(err, loc)}"


def _describe_loc(err: dict, loc: list[str]) -> str:
    message = err["msg"]
    if err["type"] == "union_tag_invalid":
        message = f"kind must be one of {', '.join(STEP_KINDS)}"
    if err["type"] == "union_tag_not_found":
        message = "has no 'kind'"
    if len(loc) >= 2 and loc[0] == "steps":
        rest = loc[2:]
        if rest and rest[0] in STEP_KINDS:
            rest = rest[1:]
        where = ".".join(rest)
        return f"step '{loc[1]}': {where + ': ' if where else ''}{message}"
    return f"{'.'.join(loc) or 'file'}: {message}"


@dataclass(frozen=True)
class FlowSet:
    """All region flows, looked up by the number that was dialed."""

    flows: Mapping[str, Flow]  # region -> flow
    by_number: Mapping[str, Flow]
    book: Mapping[str, Mapping[str, str]]  # every prompt file, for calls that match no region
    rota: Rota | None = None  # the on-call rota (flows/oncall.yaml), when any region has an urgent path
    phrasebooks: Mapping[str, Phrasebook] = field(default_factory=dict)  # flows/intents/<language>.yaml

    def for_number(self, number: str) -> Flow | None:
        return self.by_number.get(number)

    def __iter__(self):
        return iter(self.flows.values())

    def __len__(self) -> int:
        return len(self.flows)


def load_flows(flows_dir: Path) -> FlowSet:
    """Load, validate and lint every region file. Raises FlowError listing every problem found."""
    flows_dir = Path(flows_dir)
    book, book_raw, problems = load_prompt_book(flows_dir)
    flows: dict[str, Flow] = {}
    numbers: dict[str, Flow] = {}
    paths = [p for p in sorted(flows_dir.glob("*.yaml")) + sorted(flows_dir.glob("*.yml")) if p.name != ROTA_FILE]
    if not paths:
        problems.append(f"{flows_dir}: no region files (*.yaml) found")
    for path in paths:
        try:
            flow = load_flow(path, flows_dir, book, book_raw)
        except FlowError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(lint(flow))
        if flow.region in flows:
            problems.append(f"{flow.source}: region '{flow.region}' is also defined in {flows[flow.region].source}")
        for number in flow.numbers:
            if number in numbers:
                problems.append(f"{flow.source}: number {number} is also used by {numbers[number].source}")
            numbers[number] = flow
        flows[flow.region] = flow
    phrasebooks, book_problems = load_phrasebooks(flows_dir)
    problems.extend(book_problems)
    rota = None
    urgent_regions = {flow.region for flow in flows.values() if flow.urgent}
    if urgent_regions:
        rota, rota_problems = load_rota(flows_dir, urgent_regions)
        problems.extend(rota_problems)
    if problems:
        raise FlowError(problems)
    return FlowSet(flows=MappingProxyType(flows), by_number=MappingProxyType(numbers), book=MappingProxyType(book),
                   rota=rota, phrasebooks=MappingProxyType(phrasebooks))


def checked_desks(flows_dir: Path, flows: FlowSet) -> Desks:
    """The desks of flows/desks/; every region whose flow has a queue step must have one. Raises
    FlowError listing every problem."""
    queueing = {flow.region for flow in flows if any(step.kind == "queue" for step in flow.steps.values())}
    desks, problems = load_desks(flows_dir, queueing)
    if problems:
        raise FlowError(problems)
    return desks
