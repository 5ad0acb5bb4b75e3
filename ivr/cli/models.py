"""`ivr models`: which speech model serves each language, and installing them."""
from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import click

from ivr.errors import FlowError, ModelInstallFailed, SettingsError
from ivr.flows.loader import load_flows
from ivr.settings import PROJECT_ROOT
from ivr.speech.model_install import install, load_catalogue
from ivr.speech.voice_models import MODELS_DIR, model_paths

FLOWS_DIR_OPTION = click.option("--flows-dir", type=click.Path(path_type=Path), envvar="IVR_FLOWS_DIR",
                                default=PROJECT_ROOT / "flows", show_default=True,
                                help="Folder of region files (to show which regions use each model).")
MODELS_DIR_OPTION = click.option("--models-dir", type=click.Path(path_type=Path),
                                 default=PROJECT_ROOT / MODELS_DIR, show_default=True,
                                 help="Where models are installed, one folder per language.")


@click.group()
def models() -> None:
    """Offline speech models (vosk), one per language."""


@models.command("list")
@FLOWS_DIR_OPTION
@MODELS_DIR_OPTION
def list_models(flows_dir: Path, models_dir: Path) -> None:
    """Each language: where its model comes from, its size, and the regions that speak it."""
    try:
        found = model_paths(models_dir=models_dir)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    try:
        catalogue = load_catalogue()
    except ModelInstallFailed as error:
        click.echo(f"({error})", err=True)
        catalogue = {}
    regions = _regions_by_language(flows_dir)
    rows = [("LANGUAGE", "SOURCE", "SIZE", "REGIONS", "PATH")]
    for language in sorted(set(found) | set(regions)):
        info = found.get(language)
        used_by = ", ".join(regions.get(language, [])) or "-"
        if info is None:
            fix = f"`ivr models install {language}`" if language in catalogue else "no official vosk model"
            rows.append((language, "none", "-", used_by, f"keypad only ({fix})"))
        else:
            rows.append((language, info.source, f"{info.size_bytes / 1e6:.0f} MB", used_by, str(info.path)))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])


@models.command("install")
@click.argument("language")
@click.option("--from", "source", metavar="PATH_OR_URL",
              help="A model .zip, an unpacked model folder, or a URL. Default: the official model "
                   "listed in voice_models/catalogue.yaml.")
@MODELS_DIR_OPTION
def install_model(language: str, source: str | None, models_dir: Path) -> None:
    """Install LANGUAGE's model into voice_models/LANGUAGE/ (with --from, replacing the one there)."""
    with ExitStack() as bars:
        try:
            result = install(language, source, models_dir, progress=_DownloadBar(bars, f"{language} model"))
        except ModelInstallFailed as error:
            raise click.ClickException(str(error)) from None
    model = result.model
    click.echo(f"{language}: {result.action}: {model.path} ({model.size_bytes / 1e6:.0f} MB, {model.source})")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)


class _DownloadBar:
    """install's progress callback: a click progress bar, opened once the download's size is known."""

    def __init__(self, bars: ExitStack, label: str):
        self.bars, self.label = bars, label
        self.bar = None
        self.shown = 0

    def __call__(self, done: int, total: int | None) -> None:
        if total is None:
            return
        if self.bar is None:
            self.bar = self.bars.enter_context(click.progressbar(length=total, label=self.label))
        self.bar.update(done - self.shown)
        self.shown = done


def _regions_by_language(flows_dir: Path) -> dict[str, list[str]]:
    try:
        flows = load_flows(flows_dir)
    except FlowError as error:
        click.echo(f"(regions not shown: the flows in {flows_dir} fail the check, {len(error.problems)} "
                   f"problem(s); see `ivr flows check`)", err=True)
        return {}
    regions: dict[str, list[str]] = {}
    for flow in flows:
        for language in flow.language_codes:
            regions.setdefault(language, []).append(flow.region)
    return regions
