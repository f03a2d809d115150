"""Where attachment bytes live: one small interface, two backends, chosen by configuration.

`services/attachments.py` checks who may upload or download, spools and sniffs the upload on
local disk, and only then hands the finished file to a backend under its generated key
`<thread_id>/<attachment id>` (thumbnails `<thread_id>/<attachment id>.thumb.webp`).

- `LocalDiskStorage` (default): files under ATTACHMENTS_DIR; downloads are served by the app.
- `supabase_storage.SupabaseStorage` (SUPABASE_URL set): the private bucket
  `message_attachments` written with the service-role key; a download is a short-lived
  signed URL, handed out only after the service's participant check.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from arbibase_chat.adapters import supabase_config
from arbibase_chat.config import Settings, get_settings


class StorageError(RuntimeError):
    """The backend could not store, delete or sign an object (outage, refused key...)."""


class ObjectMissing(StorageError):
    """No object is stored under this key."""


@dataclass(frozen=True)
class SignedUrl:
    """A short-lived URL that serves the object to whoever holds it."""

    url: str
    expires_in: int


class StorageBackend(Protocol):
    kind: str

    def put(self, key: str, source: Path, *, content_type: str) -> None:
        """Store the finished file at `source` under `key` (never overwriting).

        The backend may move `source` away (local disk) or leave it for the caller to remove.
        """
        ...

    def delete(self, key: str) -> None:
        """Remove the object if it exists (clean-up after a failed upload)."""
        ...

    def locate(self, key: str, *, download_name: str | None = None) -> Path | SignedUrl:
        """Where to read the object: a local path, or a signed URL.

        `download_name`: a signed URL makes the browser save the file under this name
        instead of showing it. ObjectMissing when nothing is stored under `key`.
        """
        ...


class LocalDiskStorage:
    """Files under one directory; the app itself serves them (FileResponse)."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts):
            raise StorageError(f"invalid storage key {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, source: Path, *, content_type: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Same file system (the upload was spooled under the same root): an atomic rename.
        os.replace(source, target)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def locate(self, key: str, *, download_name: str | None = None) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise ObjectMissing(f"file {path} is missing")
        return path


_lock = threading.Lock()
_current: tuple[Settings, StorageBackend] | None = None


def get_storage() -> StorageBackend:
    """The configured backend (one per settings object: tests that change the settings and
    clear `get_settings`' cache get a new one)."""
    global _current
    settings = get_settings()
    with _lock:
        if _current is None or _current[0] is not settings:
            _current = (settings, _build(settings))
        return _current[1]


def _build(settings: Settings) -> StorageBackend:
    config = supabase_config(settings)
    if config is None:
        return LocalDiskStorage(settings.attachments_dir)
    from arbibase_chat.adapters.supabase_storage import SupabaseStorage

    return SupabaseStorage(config)
