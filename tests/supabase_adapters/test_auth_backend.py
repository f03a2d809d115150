"""`get_auth()`: the auth backend is chosen once from the settings and follows them."""

from __future__ import annotations

from arbibase_chat.adapters.auth import LocalAuth, get_auth
from arbibase_chat.adapters.supabase_auth import SupabaseAuth
from arbibase_chat.config import get_settings
from tests.supabase_adapters.standin import SupabaseStandIn


def test_local_mode_is_the_default():
    get_settings.cache_clear()
    backend = get_auth()
    assert isinstance(backend, LocalAuth)
    assert backend.kind == "local" and backend.hashes_passwords
    assert get_auth() is backend  # chosen once per settings object


def test_supabase_mode_and_back(standin: SupabaseStandIn, monkeypatch):
    get_settings.cache_clear()
    local = get_auth()
    monkeypatch.setenv("SUPABASE_URL", standin.url)
    monkeypatch.setenv("SUPABASE_ANON_KEY", standin.anon_key)
    get_settings.cache_clear()
    backend = get_auth()
    assert isinstance(backend, SupabaseAuth)
    assert backend.kind == "supabase" and not backend.hashes_passwords
    assert backend.config.url == standin.url
    assert get_auth() is backend
    monkeypatch.undo()
    get_settings.cache_clear()
    assert isinstance(get_auth(), LocalAuth) and get_auth() is not local
