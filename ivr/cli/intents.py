"""`ivr intents`: the n-gram model that backs the phrasebooks, trained on the labelled transcripts."""
from __future__ import annotations

from pathlib import Path

import click
import yaml

from ivr.settings import PROJECT_ROOT
from ivr.speech.ngram import MODEL_DIR, train

CASES = (PROJECT_ROOT / "tests" / "intent_cases", PROJECT_ROOT / "tests" / "intent_cases" / "dev")


@click.group()
def intents() -> None:
    """What callers say, as intents: the phrasebooks' second opinion."""


@intents.command("train")
@click.option("--cases", "folders", type=click.Path(path_type=Path, file_okay=False, exists=True), multiple=True,
              help="A folder of <language>.yaml labelled transcripts ({text, intent}); repeat for more. "
                   "Default: tests/intent_cases and tests/intent_cases/dev.")
@click.option("--flows-dir", type=click.Path(path_type=Path), envvar="IVR_FLOWS_DIR",
              default=PROJECT_ROOT / "flows", show_default=True, help="The model goes to <flows-dir>/intents/model/.")
def train_command(folders: tuple[Path, ...], flows_dir: Path) -> None:
    """Train one model per language on every labelled transcript and write it beside the phrasebooks."""
    cases: dict[str, list[dict]] = {}
    for folder in folders or CASES:
        for path in sorted(Path(folder).glob("*.yaml")):
            try:
                loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or []
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise click.ClickException(f"{path}: not valid YAML: {exc}") from None
            if not isinstance(loaded, list):
                loaded = [loaded]
            bad = [n for n, case in enumerate(loaded)
                   if not (isinstance(case, dict) and isinstance(case.get("text"), str)
                           and isinstance(case.get("intent"), str))]
            if bad:
                raise click.ClickException(f"{path}: each case must be {{text: ..., intent: ...}} "
                                           f"(case {bad[0] + 1 if bad else 1})")
            cases.setdefault(path.stem, []).extend(loaded)
    if not cases:
        raise click.ClickException("no labelled transcripts found")
    out = flows_dir / MODEL_DIR
    out.mkdir(parents=True, exist_ok=True)
    for language, labelled in sorted(cases.items()):
        model = train(labelled, language)
        (out / f"{language}.json").write_text(model.to_json() + "\n", encoding="utf-8")
        click.echo(f"{language}: {len(labelled)} cases, {len(model.weights)} pieces -> {out / f'{language}.json'}")
