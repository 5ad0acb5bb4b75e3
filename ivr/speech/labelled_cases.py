"""Labelled transcripts ({text, intent} per case, a <language>.yaml file per language) and the split
between the part that tunes the phrasebooks and the model and the part held out to judge them.

The split is the same everywhere it is made: `--part holdout` of bench/intent_accuracy.py scores
every HOLDOUT_EVERY-th case of each file, and `ivr intents train --part tune` trains on the others
only, so a held-out figure is one the model has never seen.
"""
from __future__ import annotations

from pathlib import Path

import yaml

HOLDOUT_EVERY = 4  # holdout: cases 4, 8, 12, ... of each file (numbered from 1); tune: the others
PARTS = ("all", "tune", "holdout")


class CasesError(ValueError):
    """A labelled file that cannot be read, with its path in the message."""


def part_of(cases: list[dict], part: str = "all") -> list[dict]:
    """The cases of one file that belong to `part` (all, tune or holdout)."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, not {part!r}")
    if part == "all":
        return list(cases)
    held = part == "holdout"
    return [case for number, case in enumerate(cases) if (number % HOLDOUT_EVERY == HOLDOUT_EVERY - 1) == held]


def read_cases(path: Path, part: str = "all") -> list[dict]:
    """One <language>.yaml file's cases of `part`; CasesError if it is not a list of {text, intent}."""
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CasesError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(loaded, list):
        loaded = [loaded]
    bad = [n for n, case in enumerate(loaded) if not (isinstance(case, dict) and isinstance(case.get("text"), str)
                                                      and isinstance(case.get("intent"), str))]
    if bad:
        raise CasesError(f"{path}: each case must be {{text: ..., intent: ...}} (case {bad[0] + 1})")
    return part_of(loaded, part)


def read_folders(folders, part: str = "all") -> dict[str, list[dict]]:
    """language -> the cases of `part` from every folder's <language>.yaml, in folder order."""
    cases: dict[str, list[dict]] = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("*.yaml")):
            cases.setdefault(path.stem, []).extend(read_cases(path, part))
    return cases
