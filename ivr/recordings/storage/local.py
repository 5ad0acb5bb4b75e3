"""Recordings in a local folder (IVR_RECORDINGS_DIR, `recordings/` by default): files 0600 in
folders 0700, written to a temporary name, flushed to disk and renamed, so a file either is
complete or is not there."""
from __future__ import annotations

import errno
import os
from pathlib import Path

from ivr.errors import StorageError
from ivr.recordings.storage.base import checked_key

COPY_CHUNK = 1024 * 1024


class LocalStore:
    name = "local"

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def put(self, key: str, source: Path, content_type: str) -> None:
        target = self.path(key)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            self._folders(target.parent)
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as out, open(source, "rb") as data:
                while chunk := data.read(COPY_CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise StorageError(_explain(error, target)) from None

    def read(self, key: str, start: int | None = None, end: int | None = None) -> bytes:
        try:
            with open(self.path(key), "rb") as stored:
                if start is None:
                    return stored.read()
                stored.seek(start)
                return stored.read(None if end is None else end - start + 1)
        except OSError as error:
            raise StorageError(_explain(error, self.path(key))) from None

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StorageError(_explain(error, self.path(key))) from None

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError as error:
            raise StorageError(_explain(error, self.path(key))) from None

    def where(self, key: str) -> str:
        return str(self.path(key))

    def _folders(self, folder: Path) -> None:
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for created in reversed(missing):
            created.mkdir(mode=0o700, exist_ok=True)


def _explain(error: OSError, path: Path) -> str:
    if error.errno == errno.ENOSPC:
        return f"the recordings disk is full (no space left writing {path})"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"the recordings folder refuses writes ({error.strerror}: {path})"
    return f"{error.strerror or error} ({path})"
