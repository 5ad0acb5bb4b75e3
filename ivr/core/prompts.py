"""The words a caller hears: prompts in the caller's language with the flow's variables filled
in, and the yes/no words a caller may say."""
from __future__ import annotations

import re
import string

from ivr.core.actions import Say
from ivr.core.flow import Flow
from ivr.core.state import CallState


def say_prompts(flow: Flow, state: CallState, keys) -> list[Say]:
    """The prompts `keys` in the caller's language, with variables filled in."""
    lang = flow.language(state.language)
    return [Say(render(flow, state, flow.prompt(lang.code, key)), lang.say, lang.voice) for key in keys]


class _Variables(dict):
    def __missing__(self, key):  # a prompt never crashes a live call; the linter reports unknown names
        return ""


def prompt_variables(flow: Flow, state: CallState, **extra: str) -> dict[str, str]:
    ticket = state.vars.get("ticket", "")
    return _Variables({**state.vars, "ticket_digits": ", ".join(ticket), "region_name": flow.name,
                       "help_centre": flow.help_centre, "support_email": flow.support_email, **extra})


def render(flow: Flow, state: CallState, text: str, **extra: str) -> str:
    return string.Formatter().vformat(text, (), prompt_variables(flow, state, **extra))


def word_list(flow: Flow, state: CallState, key: str) -> set[str]:
    return {w.strip().lower() for w in flow.prompts[state.language].get(key, "").split(",") if w.strip()}


def says_any(text: str, phrases: set[str]) -> bool:
    """Whether `text` contains one of `phrases`: whole words in spaced scripts ("no" is not in
    "know"), anywhere in Chinese (no spaces: "不同意" holds "不"), and at a word start in Korean,
    whose particles attach to the word ("동의해요" starts with "동의")."""
    text = " ".join(text.lower().split())
    for phrase in phrases:
        if any("\u3400" <= ch <= "\u9fff" for ch in phrase):
            found = phrase in text
        elif phrase.isascii() or not any("\uac00" <= ch <= "\ud7a3" for ch in phrase):
            found = re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None
        else:
            found = re.search(rf"(?<!\w){re.escape(phrase)}", text) is not None
        if found:
            return True
    return False
