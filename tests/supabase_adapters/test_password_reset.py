"""Password resets in Supabase mode (issue #13): the passwords are Supabase Auth's, so the app
neither issues links nor sets passwords; /forgot says so, the API answers 503, and a Supabase
user's local row (no password of ours) never gets a link in local mode either."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from arbibase_chat.services import password_resets
from arbibase_chat.services.errors import ResetsElsewhere
from tests.supabase_adapters.standin import SupabaseStandIn


def test_the_services_refuse(supabase_mode: None, db: Engine) -> None:
    assert password_resets.local_accounts() is False
    with pytest.raises(ResetsElsewhere) as refused:
        password_resets.request_reset(email="a@example.com", client="192.0.2.1", db=db)
    assert refused.value.code == "password_reset_unavailable"
    with pytest.raises(ResetsElsewhere):
        password_resets.reset_password(token="0" * 64, new_password="long enough pw", db=db)


def test_the_api_answers_503(api, standin: SupabaseStandIn) -> None:
    res = api.post("/api/auth/password-reset", json={"email": "a@example.com"})
    assert res.status_code == 503
    assert res.json()["code"] == "password_reset_unavailable"
    assert res.json()["error"] == password_resets.ELSEWHERE


def test_a_supabase_users_local_row_gets_no_link(
    negotiation, db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arbibase_chat.config import get_settings

    # Back in local mode, the row made for a Supabase user has no password of the app's.
    monkeypatch.delenv("SUPABASE_URL", raising=False)
    get_settings.cache_clear()
    assert password_resets.local_accounts() is True
    email = negotiation.operator.user.email
    assert password_resets.request_reset(email=email, client="192.0.2.1", db=db) is None
