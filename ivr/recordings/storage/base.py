"""What every recordings store offers: keep a file under a key, read it back (whole or a byte
range, for players that seek), say how big it is, delete it. Keys look like
`gb/2026-11-24/6201906/RE....ogg`; a store never lets a key leave its own place."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from ivr.errors import StorageError

KEY = re.compile(r"^[a-z0-9_-]{1,16}(/[A-Za-z0-9_.-]{1,64}){1,5}$")


def checked_key(key: str) -> str:
    """A key made of plain segments: no `..`, no absolute path, nothing a path trick could use."""
    if not KEY.match(key) or any(part in (".", "..") or part.startswith(".") for part in key.split("/")):
        raise StorageError(f"not a recording key: {key[:80]!r}")
    return key


class Store(Protocol):
    name: str  # local or s3

    def put(self, key: str, source: Path, content_type: str) -> None:
        """Keep the file at `source` under `key`, replacing what was there (a retried ingest)."""

    def read(self, key: str, start: int | None = None, end: int | None = None) -> bytes:
        """The stored bytes, or bytes start..end inclusive (an HTTP Range)."""

    def size(self, key: str) -> int | None:
        """Its size in bytes, or None when nothing is stored under `key`."""

    def delete(self, key: str) -> None:
        """Remove it; nothing stored there is not an error."""

    def where(self, key: str) -> str:
        """Where it is, for people (a path or an s3:// URL)."""


class StoredStream:
    """A stored file sent in chunks, read from the store as it goes (never whole in memory), and
    seekable: what werkzeug's Range handling needs to serve byte ranges of it (a player seeking)
    from either store."""

    CHUNK = 64 * 1024

    def __init__(self, store: Store, key: str, size: int):
        self.store, self.key, self.size, self.position = store, key, size, 0

    def seekable(self) -> bool:
        return True

    def seek(self, position: int) -> int:
        self.position = max(0, min(position, self.size))
        return self.position

    def tell(self) -> int:
        return self.position

    def __iter__(self) -> StoredStream:
        return self

    def __next__(self) -> bytes:
        if self.position >= self.size:
            raise StopIteration
        end = min(self.position + self.CHUNK, self.size) - 1
        data = self.store.read(self.key, self.position, end)
        if not data:
            raise StopIteration
        self.position += len(data)
        return data

    def close(self) -> None:
        """Nothing held open between chunks."""
