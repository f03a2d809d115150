"""Attachments in Supabase Storage, through supabase-py (storage3).

The server writes with the service-role key (the bucket is private and the app has already
decided who may upload: the participant check in `services/attachments.py`). Objects go to
bucket `message_attachments` (SUPABASE_STORAGE_BUCKET) at `<thread_id>/<attachment id>`,
the shape the `storage.objects` policies in `supabase/migrations/` expect, so direct
supabase-js clients of the same project see the same files under the same rules.

Downloads are signed URLs (`POST /storage/v1/object/sign/<bucket>/<key>`) valid for
SUPABASE_SIGNED_URL_TTL_SECONDS, issued only after the participant check.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx

from arbibase_chat.adapters import SupabaseConfig, client_options
from arbibase_chat.adapters.storage import ObjectMissing, SignedUrl, StorageError


class SupabaseStorage:
    kind = "supabase"

    def __init__(self, config: SupabaseConfig) -> None:
        self.config = config
        self.bucket = config.bucket
        self.ttl = config.signed_url_ttl
        self._client: Any = None
        self._lock = threading.Lock()

    def _files(self) -> Any:
        """The bucket's file API (one supabase-py client per process, created on first use)."""
        with self._lock:
            if self._client is None:
                from supabase import create_client

                self._client = create_client(
                    self.config.url,
                    self.config.require_service_role_key(),
                    # A server-side client: no session of its own, no refresh timer.
                    options=client_options(),
                )
            return self._client.storage.from_(self.bucket)

    def put(self, key: str, source: Path, *, content_type: str) -> None:
        from storage3.exceptions import StorageApiError

        try:
            self._files().upload(
                key,
                source,
                # content-type: the type sniffed at upload, which Storage serves back.
                {"content-type": content_type, "upsert": "false"},
            )
        except StorageApiError as exc:
            raise StorageError(f"Supabase Storage refused {key}: {exc.message}") from exc
        except httpx.HTTPError as exc:
            raise StorageError(f"Supabase Storage unreachable: {exc}") from exc

    def delete(self, key: str) -> None:
        from storage3.exceptions import StorageApiError

        try:
            self._files().remove([key])
        except StorageApiError as exc:
            raise StorageError(f"Supabase Storage refused to delete {key}: {exc.message}") from exc
        except httpx.HTTPError as exc:
            raise StorageError(f"Supabase Storage unreachable: {exc}") from exc

    def locate(self, key: str, *, download_name: str | None = None) -> SignedUrl:
        from storage3.exceptions import StorageApiError

        options: dict[str, Any] = {"download": download_name} if download_name else {}
        try:
            signed = self._files().create_signed_url(key, self.ttl, options)
        except StorageApiError as exc:
            if str(exc.status) in ("400", "404") and "not found" in exc.message.lower():
                raise ObjectMissing(f"no object {key} in bucket {self.bucket}") from exc
            raise StorageError(f"Supabase Storage refused to sign {key}: {exc.message}") from exc
        except httpx.HTTPError as exc:
            raise StorageError(f"Supabase Storage unreachable: {exc}") from exc
        url = signed.get("signedURL") or signed.get("signedUrl")
        if not url:
            raise StorageError(f"Supabase Storage returned no signed URL for {key}")
        return SignedUrl(url=str(url), expires_in=self.ttl)
