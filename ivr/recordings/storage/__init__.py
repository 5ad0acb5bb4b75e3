"""Where recordings are kept: a local folder (the default) or S3-compatible object storage,
behind one small interface (`base.Store`). `open_store(settings)` picks by IVR_RECORDINGS_URL."""
from __future__ import annotations

from ivr.recordings.storage.base import Store, StoredStream, checked_key
from ivr.recordings.storage.local import LocalStore
from ivr.recordings.storage.s3 import S3Store
from ivr.settings import Settings


def open_store(settings: Settings) -> Store:
    if settings.recordings_url:
        return S3Store(settings.recordings_url, settings.recordings_s3_sse)
    return LocalStore(settings.recordings_dir)


__all__ = ["LocalStore", "S3Store", "Store", "StoredStream", "checked_key", "open_store"]
