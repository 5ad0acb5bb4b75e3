"""Installing speech models into voice_models/<language>/: from a folder, a .zip, or a download.

Downloads come from the official catalogue (voice_models/catalogue.yaml) or any URL, resume
from a .part file after an interruption, and are checked against the catalogue's size and
sha256. Nothing is unpacked in place: the model is assembled in a hidden folder beside its
destination and renamed over it only once it is complete and looks like a vosk model.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import requests
import yaml

from ivr.errors import ModelInstallFailed
from ivr.settings import PROJECT_ROOT
from ivr.speech.voice_models import MODELS_DIR, PACKAGED, ModelInfo, layout_problems, model_root, package_model

CATALOGUE = PROJECT_ROOT / MODELS_DIR / "catalogue.yaml"
PROVENANCE = "installed.json"  # written into each model folder we install
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
CHUNK = 1 << 16

Progress = Callable[[int, "int | None"], None]  # (bytes so far, total bytes if known)


class Unreachable(ModelInstallFailed):
    """The download's server could not be reached at all (offline, DNS, firewall)."""


@dataclass(frozen=True)
class CatalogueEntry:
    """One official model: where to download it and what the archive must measure."""

    language: str
    name: str
    url: str
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Installed:
    """What `install` did, the model now serving the language, and anything the operator should know."""

    model: ModelInfo
    action: Literal["installed", "already installed", "provided by package"]
    notes: tuple[str, ...] = ()


def load_catalogue(path: Path = CATALOGUE) -> dict[str, CatalogueEntry]:
    """The catalogue file as language -> entry."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ModelInstallFailed(f"{path}: cannot read the model catalogue: {error}") from None
    try:
        return {language: CatalogueEntry(language=language, **fields) for language, fields in raw.items()}
    except (TypeError, AttributeError) as error:
        raise ModelInstallFailed(f"{path}: each language needs name, url, size and sha256: {error}") from None


def install(language: str, source: str | None = None, dest_root: Path = PROJECT_ROOT / MODELS_DIR,
            progress: Progress | None = None,
            catalogue: Mapping[str, CatalogueEntry] | None = None) -> Installed:
    """Install a model for `language` from a folder, a .zip, a URL, or (no source) the catalogue."""
    if not LANGUAGE_CODE.fullmatch(language):
        raise ModelInstallFailed(f"{language!r} is not a language code like ko, en or zh")
    dest_root.mkdir(parents=True, exist_ok=True)
    if source is None:
        return _install_default(language, dest_root, progress, catalogue)
    if urlsplit(source).scheme in ("http", "https"):
        entries = (load_catalogue() if catalogue is None else catalogue).values()
        entry = next((e for e in entries if e.url == source), None)
        name = Path(urlsplit(source).path).stem or language
        return _install_download(entry or CatalogueEntry(language, name, source), language, dest_root, progress)
    path = Path(source).expanduser()
    if path.is_dir():
        return _install_folder(path, language, dest_root)
    if zipfile.is_zipfile(path):
        return _install_zip(path, language, dest_root, {"source": str(path)})
    if not path.exists():
        raise ModelInstallFailed(f"{source}: no such file or folder")
    raise ModelInstallFailed(f"{source}: neither a .zip archive nor a folder holding a vosk model")


def download(url: str, part: Path, size: int | None = None, sha256: str | None = None,
             progress: Progress | None = None, timeout: float = 30) -> str:
    """Fetch `url` into `part`, resuming what is already there; returns the file's sha256."""
    done = part.stat().st_size if part.exists() else 0
    if size is not None and done > size:
        part.unlink()
        done = 0
    if size is None or done < size:
        done = _fetch(url, part, done, size, progress, timeout)
    if size is not None and done != size:
        raise ModelInstallFailed(f"download of {url} stopped at {done} of {size} bytes; "
                                 f"run the same command again to resume")
    digest = _sha256(part)
    if sha256 is not None and digest != sha256.lower():
        part.unlink()
        raise ModelInstallFailed(f"{url}: checksum mismatch (sha256 {digest}, catalogue says {sha256}); "
                                 f"the download was deleted, try again or install with --from a verified copy")
    return digest


def _install_default(language: str, dest_root: Path, progress: Progress | None,
                     catalogue: Mapping[str, CatalogueEntry] | None) -> Installed:
    existing = model_root(dest_root / language) if (dest_root / language).is_dir() else None
    if existing is not None:
        return Installed(ModelInfo.measure(language, existing, "folder"), "already installed",
                         (f"pass --from to replace the model in {existing}",))
    packaged = package_model(language)
    if packaged is not None:
        package = PACKAGED[language].replace("_", "-")
        return Installed(ModelInfo.measure(language, packaged, "package"), "provided by package",
                         (f"the {package} package already provides it; pass --from to install another model",))
    entries = load_catalogue() if catalogue is None else catalogue
    if language not in entries:
        raise ModelInstallFailed(f"no official vosk model for {language!r} in the catalogue ({CATALOGUE.name}); "
                                 f"install one with `ivr models install {language} --from model.zip`")
    return _install_download(entries[language], language, dest_root, progress)


def _install_download(entry: CatalogueEntry, language: str, dest_root: Path,
                      progress: Progress | None) -> Installed:
    part = dest_root / ".downloads" / f"{entry.name}.zip.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    try:
        digest = download(entry.url, part, entry.size, entry.sha256, progress)
    except Unreachable as offline:
        raise ModelInstallFailed(f"{offline}; download {entry.url} on a machine that can and install it "
                                 f"with `ivr models install {language} --from {part.name.removesuffix('.part')}`"
                                 ) from None
    try:
        installed = _install_zip(part, language, dest_root, {"source": entry.url, "sha256": digest})
    finally:
        part.unlink()  # installed, or unusable: either way a rerun must download afresh
    if entry.sha256 is not None:
        return installed
    note = (f"no published sha256 for {entry.url}; this download's is {digest} (kept in "
            f"{installed.model.path / PROVENANCE}): add it to {CATALOGUE.name} to pin it")
    return Installed(installed.model, installed.action, (*installed.notes, note))


def _install_zip(archive: Path, language: str, dest_root: Path, provenance: dict) -> Installed:
    with tempfile.TemporaryDirectory(dir=dest_root, prefix=f".{language}.installing-") as staging:
        try:
            with zipfile.ZipFile(archive) as bundle:
                bundle.extractall(staging)  # extractall strips absolute paths and ".." from names
        except (zipfile.BadZipFile, OSError) as error:
            raise ModelInstallFailed(f"{provenance['source']}: cannot unpack: {error}") from None
        model = _model_in(Path(staging), provenance["source"])
        return _put_in_place(model, language, dest_root, provenance)


def _install_folder(folder: Path, language: str, dest_root: Path) -> Installed:
    model = _model_in(folder, str(folder))
    with tempfile.TemporaryDirectory(dir=dest_root, prefix=f".{language}.installing-") as staging:
        copy = Path(staging) / "model"
        shutil.copytree(model, copy, ignore=shutil.ignore_patterns(PROVENANCE))
        return _put_in_place(copy, language, dest_root, {"source": str(model.resolve())})


def _model_in(folder: Path, source: str) -> Path:
    model = model_root(folder)
    if model is None:
        missing = ", ".join(layout_problems(folder))
        raise ModelInstallFailed(f"{source} holds no vosk model (missing {missing}); "
                                 f"use an official model from https://alphacephei.com/vosk/models")
    return model


def _put_in_place(model: Path, language: str, dest_root: Path, provenance: dict) -> Installed:
    stamp = {"language": language, **provenance, "installed_at": datetime.now(UTC).isoformat()}
    (model / PROVENANCE).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    target = dest_root / language
    retired = None
    if target.exists():
        retired = Path(tempfile.mkdtemp(dir=dest_root, prefix=f".{language}.replaced-"))
        target.rename(retired / language)
    model.rename(target)
    if retired is not None:
        shutil.rmtree(retired)
    return Installed(ModelInfo.measure(language, target, "folder"), "installed")


def _fetch(url: str, part: Path, done: int, size: int | None, progress: Progress | None, timeout: float) -> int:
    host = urlsplit(url).hostname or url
    headers = {"Range": f"bytes={done}-"} if done else {}
    try:
        response = requests.get(url, headers=headers, stream=True, timeout=timeout)
    except requests.RequestException as error:
        raise Unreachable(f"cannot reach {host}: {_reason(error)}") from None
    with response:
        if response.status_code == 416:  # the part file already holds the whole archive
            return done
        if response.status_code not in (200, 206):
            raise ModelInstallFailed(f"{url}: the server answered HTTP {response.status_code} {response.reason}")
        if response.status_code == 200:
            done = 0  # the server ignored Range and sent it all from the start
        length = response.headers.get("Content-Length")
        total = size or (done + int(length) if length and length.isdigit() else None)
        try:
            with part.open("ab" if done else "wb") as out:
                for chunk in response.iter_content(CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
        except requests.RequestException as error:
            raise ModelInstallFailed(f"download of {url} was interrupted after {done} bytes ({_reason(error)}); "
                                     f"run the same command again to resume") from None
    return done


def _reason(error: Exception) -> str:
    # requests buries the useful words ("Connection refused") in a long chain of wrapped errors
    text = str(error)
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    return match.group(1).strip() if match else text


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
