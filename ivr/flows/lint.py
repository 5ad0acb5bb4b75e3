"""Checks across a whole flow graph: what `ivr flows check` adds to plain validation."""
from __future__ import annotations

import string
from collections import deque

from ivr.core.flow import ENGINE_PROMPTS, Flow
from ivr.core.steps import ConsentStep, RouteStep, StartRecordingStep, exits, prompt_keys

# Names any prompt may use; menus add their own with `set`.
BUILTIN_VARIABLES = {"ticket", "ticket_digits", "region_name", "help_centre", "support_email", "holiday", "digit",
                     "intent_words", "queue_position", "queue_minutes", "queue_offer_key", "number_tail",
                     "callback_minutes", "callback_day", "callback_time"}
WORD_LISTS = ("words_yes", "words_no")


def lint(flow: Flow) -> list[str]:
    """Every problem found in one loaded flow, each naming the file and the step."""
    return [*_unreachable(flow), *_missing_prompts(flow), *_unknown_variables(flow), *_records_before_consent(flow),
            *_urgent_path(flow), *_heard_everywhere(flow)]


def _entries(flow: Flow) -> list[str]:
    """Where a call can begin: the start, and the urgent path (a key pressed at any question)."""
    return [flow.start] + ([flow.urgent.start] if flow.urgent else [])


def _reachable(flow: Flow, entries: list[str] | None = None) -> set[str]:
    entries = entries if entries is not None else _entries(flow)
    seen, todo = set(entries), list(entries)
    while todo:
        for _, target in exits(flow.steps[todo.pop()]):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _unreachable(flow: Flow) -> list[str]:
    reached = _reachable(flow)
    return [f"{flow.source}: step '{name}': nothing reaches this step" for name in flow.steps if name not in reached]


def _missing_prompts(flow: Flow) -> list[str]:
    problems = []
    needs_words = any(isinstance(s, ConsentStep) for s in flow.steps.values()) and flow.consent == "all-party"
    for code in flow.language_codes:
        have = flow.prompts[code]
        for key in ENGINE_PROMPTS + (WORD_LISTS if needs_words else ()):
            if key not in have:
                problems.append(f"{flow.source}: language '{code}' has no prompt '{key}' (the engine needs it)")
        for name, step in flow.steps.items():
            for key in prompt_keys(step):
                if key not in have:
                    problems.append(f"{flow.source}: step '{name}': language '{code}' has no prompt '{key}'")
    return problems


def _unknown_variables(flow: Flow) -> list[str]:
    known = BUILTIN_VARIABLES | {var for step in flow.steps.values() if step.kind == "menu"
                                 for option in step.options.values() for var in option.set}
    used = set(ENGINE_PROMPTS) | {key for step in flow.steps.values() for key in prompt_keys(step)}
    problems = []
    for code in flow.language_codes:
        for key, text in flow.prompts[code].items():
            if key not in used:
                continue
            try:
                names = {field for _, field, _, _ in string.Formatter().parse(text) if field}
            except ValueError as exc:
                problems.append(f"{flow.source}: language '{code}' prompt '{key}': {exc}")
                continue
            for unknown in sorted(names - known):
                problems.append(f"{flow.source}: language '{code}' prompt '{key}': unknown variable {{{unknown}}}")
    return problems


def _records_before_consent(flow: Flow) -> list[str]:
    """In an all-party region, search every path for a recording started without a 'yes'."""
    if flow.consent != "all-party":
        return []
    starts = [(entry, False) for entry in _entries(flow)]
    parent: dict[tuple[str, bool], tuple[str, bool] | None] = dict.fromkeys(starts)
    queue = deque(starts)
    problems = []
    while queue:
        node = queue.popleft()
        name, consented = node
        step = flow.steps[name]
        if isinstance(step, StartRecordingStep) and not consented:
            problems.append(f"{flow.source}: step '{name}': can start a recording before consent "
                            f"(path: {' -> '.join(_path(parent, node))})")
        for label, target in exits(step):
            after = consented
            if isinstance(step, ConsentStep):
                after = label == "given"
            elif isinstance(step, RouteStep) and label.startswith("branch "):
                when = step.branches[int(label.split()[1]) - 1].when
                after = consented or when.consent == "given"
            nxt = (target, after)
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return problems


def _urgent_path(flow: Flow) -> list[str]:
    """The urgent path is open 24/7, reaches an agent, and its key means nothing else."""
    if flow.urgent is None:
        return []
    problems = []
    key = flow.urgent.key
    for name, step in flow.steps.items():
        keys = {**getattr(step, "options", {}), **getattr(step, "keys", {})}
        if key in keys and step.kind != "consent":
            problems.append(f"{flow.source}: step '{name}': key {key} is the urgent key; it cannot also be an option")
    path = _reachable(flow, [flow.urgent.start])
    for name in sorted(path):
        step = flow.steps[name]
        if isinstance(step, RouteStep) and any(b.when.hours for b in step.branches):
            problems.append(f"{flow.source}: step '{name}': the urgent path must not depend on opening hours")
    if not any(flow.steps[name].kind == "transfer" for name in path):
        problems.append(f"{flow.source}: urgent: the path from '{flow.urgent.start}' never reaches a transfer step")
    return problems


QUESTION_KINDS = ("language", "menu", "consent", "callback_offer")


def _heard_everywhere(flow: Flow) -> list[str]:
    """Where a caller in danger may say so, every question listens for words too (Twilio's speech
    where the region allows it, or the call's urgency stream to vosk), or the step or the region
    says why it hears keys only."""
    if flow.urgent is None or flow.keys_only or flow.urgency_stream:
        return []
    cloud = flow.cloud_speech and all(language.speech for language in flow.languages)
    problems = []
    for name in sorted(_reachable(flow)):
        step = flow.steps[name]
        asks = step.kind in QUESTION_KINDS or (step.kind == "say" and step.listens)
        if asks and not cloud and not getattr(step, "keys_only", None):
            problems.append(f"{flow.source}: step '{name}': this question hears keys only, so an urgent phrase said "
                            f"here is not heard; allow cloud_speech, listen with urgency_stream: true, or say "
                            f"why with keys_only: (on the step or the region)")
    return problems


def _path(parent, node) -> list[str]:
    names = []
    while node is not None:
        names.append(node[0])
        node = parent[node]
    return names[::-1]
