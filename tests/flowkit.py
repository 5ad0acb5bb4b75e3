"""Building flows for tests: the shipped ones, or a small one written on the spot."""
from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from ivr.flows.loader import load_flows

SHIPPED = Path(__file__).resolve().parent.parent / "flows"

MINI_PROMPTS = {
    "welcome": "Welcome.", "language_option": "For English press {digit}.", "consent_request": "Press 1 or say yes.",
    "recording_notice": "This call is recorded.", "consent_given": "Thanks, recording.",
    "consent_declined": "Not recording.", "words_yes": "yes, sure", "words_no": "no",
    "no_input": "Nothing heard.", "invalid_choice": "Not a choice.", "apology": "Sorry.", "goodbye": "Bye.",
    "menu": "Press 1 or 2.", "one": "You chose one.", "two": "You chose two {issue}.",
    "ticket": "Ticket {ticket_digits}.",
}


def shipped():
    return load_flows(SHIPPED)


def write_flows(folder: Path, region_yaml: str, prompts: dict | None = None, name: str = "zz.yaml") -> Path:
    """A flows folder holding one region file and English prompts."""
    (folder / "prompts").mkdir(parents=True, exist_ok=True)
    (folder / "prompts" / "en.yaml").write_text(yaml.safe_dump(prompts or MINI_PROMPTS, allow_unicode=True))
    (folder / name).write_text(textwrap.dedent(region_yaml))
    return folder


def mini_region(steps: str, consent: str = "all-party", start: str = "greeting", hours: str = "always") -> str:
    """A one-language region around the given steps (YAML indented by 2)."""
    header = f"""\
        region: zz
        name: Testland
        numbers: ["+14155550199"]
        timezone: America/New_York
        languages: [{{code: en, say: en-US}}]
        hours: {hours}
        consent: {consent}
        start: {start}
        steps:
        """
    return textwrap.dedent(header) + textwrap.indent(textwrap.dedent(steps), "  ")


def at(local: str, zone: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone))
