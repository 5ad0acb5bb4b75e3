"""`ivr intents`: the n-gram model that backs the phrasebooks, trained on the labelled transcripts."""
from __future__ import annotations

from pathlib import Path

import click

from ivr.settings import PROJECT_ROOT
from ivr.speech.labelled_cases import HOLDOUT_EVERY, CasesError, read_folders
from ivr.speech.ngram import MODEL_DIR, train

CASES = (PROJECT_ROOT / "tests" / "intent_cases", PROJECT_ROOT / "tests" / "intent_cases" / "dev")


@click.group()
def intents() -> None:
    """What callers say, as intents: the phrasebooks' second opinion."""


@intents.command("train")
@click.option("--cases", "folders", type=click.Path(path_type=Path, file_okay=False, exists=True), multiple=True,
              help="A folder of <language>.yaml labelled transcripts ({text, intent}); repeat for more. "
                   "Default: tests/intent_cases and tests/intent_cases/dev.")
@click.option("--part", type=click.Choice(["all", "tune"]), default="all", show_default=True,
              help=f"tune: leave out every {HOLDOUT_EVERY}th case of each file (what `bench/intent_accuracy.py "
                   "--part holdout` scores), to measure the model on cases it never saw.")
@click.option("--flows-dir", type=click.Path(path_type=Path), envvar="IVR_FLOWS_DIR",
              default=PROJECT_ROOT / "flows", show_default=True, help="The model goes to <flows-dir>/intents/model/.")
def train_command(folders: tuple[Path, ...], part: str, flows_dir: Path) -> None:
    """Train one model per language on the labelled transcripts and write it beside the phrasebooks."""
    try:
        cases = read_folders(folders or CASES, part)
    except CasesError as exc:
        raise click.ClickException(str(exc)) from None
    cases = {language: labelled for language, labelled in cases.items() if labelled}
    if not cases:
        raise click.ClickException("no labelled transcripts found")
    out = flows_dir / MODEL_DIR
    out.mkdir(parents=True, exist_ok=True)
    for language, labelled in sorted(cases.items()):
        model = train(labelled, language)
        (out / f"{language}.json").write_text(model.to_json() + "\n", encoding="utf-8")
        click.echo(f"{language}: {len(labelled)} cases ({part}), {len(model.weights)} pieces -> "
                   f"{out / f'{language}.json'}")
