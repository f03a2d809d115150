"""Outside services, chosen by configuration.

Each outside service is one interface with a local and a Supabase backend, chosen once from
the settings: `auth.get_auth()` (who holds the passwords and signs the tokens) and
`storage.get_storage()` (where attachment bytes live). With SUPABASE_URL set the app runs in
Supabase mode: sign-in and sign-up go to Supabase Auth and its access tokens are verified
with the project's JWT secret or its JWKS (`supabase_auth.SupabaseAuth`, through supabase-py),
and attachment bytes live in Supabase Storage (`supabase_storage.py`). With nothing
configured everything is local: argon2 accounts, HS256 tokens signed with JWT_SECRET
(`auth.LocalAuth`), files under ATTACHMENTS_DIR (`storage.LocalDiskStorage`). `supabase_config()`
is read here only: the rest of the app asks `get_auth()` / `get_storage()`. Nothing here
imports a web framework: the services use it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from arbibase_chat.config import Settings, get_settings

if TYPE_CHECKING:  # supabase-py is imported only when Supabase mode is used
    from supabase import ClientOptions

HTTP_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


class NotConfigured(RuntimeError):
    """Supabase mode is on but a key this feature needs is missing (a deployment error)."""


@dataclass(frozen=True)
class SupabaseConfig:
    url: str  # https://<project>.supabase.co, no trailing slash
    anon_key: str | None
    service_role_key: str | None
    jwt_secret: str | None
    jwks_url: str
    bucket: str
    signed_url_ttl: int

    def require_anon_key(self) -> str:
        if not self.anon_key:
            raise NotConfigured("SUPABASE_ANON_KEY is needed to sign in through Supabase Auth")
        return self.anon_key

    def require_service_role_key(self) -> str:
        if not self.service_role_key:
            raise NotConfigured(
                "SUPABASE_SERVICE_ROLE_KEY is needed to store attachments in Supabase Storage"
            )
        return self.service_role_key


def supabase_config(settings: Settings | None = None) -> SupabaseConfig | None:
    """The Supabase settings, or None in local mode (SUPABASE_URL unset or empty)."""
    settings = settings or get_settings()
    url = (settings.supabase_url or "").strip().rstrip("/")
    if not url:
        return None
    jwks = (settings.supabase_jwks_url or "").strip() or f"{url}/auth/v1/.well-known/jwks.json"
    return SupabaseConfig(
        url=url,
        anon_key=settings.supabase_anon_key or None,
        service_role_key=settings.supabase_service_role_key or None,
        jwt_secret=settings.supabase_jwt_secret or None,
        jwks_url=jwks,
        bucket=settings.supabase_storage_bucket,
        signed_url_ttl=settings.supabase_signed_url_ttl_seconds,
    )


_http_lock = threading.Lock()
_http: httpx.Client | None = None


def http_client() -> httpx.Client:
    """One pooled HTTP client for every supabase-py client of the process (thread-safe).

    supabase-py sends each service's headers (API key, Authorization) per request, so the
    pool carries no credentials of its own.
    """
    global _http
    with _http_lock:
        if _http is None:
            _http = httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False)
        return _http


def client_options() -> ClientOptions:
    """supabase-py options for a server: no session storage, no refresh timer, shared pool."""
    from supabase import ClientOptions

    return ClientOptions(
        auto_refresh_token=False,
        persist_session=False,
        flow_type="implicit",
        httpx_client=http_client(),
    )
