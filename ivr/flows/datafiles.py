"""Checks shared by the YAML files a support team edits (flows, the rota, phrasebooks), so their
error messages read the same everywhere."""
from __future__ import annotations

from pathlib import Path


def yaml_where(exc: Exception) -> str:
    """Where a YAML error is: 'line N: problem'."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}: {problem}" if mark else problem


def relative(path: Path, base: Path) -> str:
    """A path as the operator knows it: 'flows/us.yaml'."""
    try:
        return str(Path(base.name) / path.relative_to(base))
    except ValueError:
        return str(path)
