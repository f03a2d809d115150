"""The UI's sign-in in Supabase mode: the login page's handlers (run on real Reflex state
objects, without a browser) sign in through supabase-py against the stand-in, the cookie gets
Supabase's token, and `SessionState` restores a user from such a cookie and lets it go when
it expires. Local mode keeps the app's own tokens."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import reflex as rx
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat.config import get_settings
from arbibase_chat.pages.login import LoginState
from arbibase_chat.services import tokens
from arbibase_chat.session import SessionState
from tests import factories
from tests.supabase_adapters.standin import SupabaseStandIn

PASSWORD = "supabase password 1"


@pytest.fixture
def app_db(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The handlers use the configured database: point it at the test's."""
    url = next(u for u, engine in dbmod._engines.items() if engine is db)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield db
    monkeypatch.undo()
    get_settings.cache_clear()


def _states() -> tuple[LoginState, SessionState]:
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]
    login = root.get_substate(LoginState.get_full_name().split(".")[1:])
    session = root.get_substate(SessionState.get_full_name().split(".")[1:])
    assert isinstance(login, LoginState) and isinstance(session, SessionState)
    return login, session


async def _call(state: rx.State, handler: str, *args: Any) -> Any:
    return await type(state).event_handlers[handler].fn(state, *args)


async def test_log_in_through_supabase(standin: SupabaseStandIn, supabase_mode: None, app_db):
    user = standin.create_user(
        "ui@example.com", PASSWORD, user_metadata={"display_name": "Uma", "role": "owner"}
    )
    login, session = _states()

    result = await _call(login, "log_in", {"email": "ui@example.com", "password": "wrong"})
    assert result is None and login.error == "Wrong e-mail or password."
    assert session.access_token == ""

    result = await _call(login, "log_in", {"email": "UI@example.com", "password": PASSWORD})
    assert login.error == "" and result is not None  # the redirect to the inbox
    claims = jwt.decode(session.access_token, options={"verify_signature": False})
    assert claims["iss"] == standin.issuer and claims["sub"] == user.id
    assert session.display_name == "Uma" and session.role == "owner"
    assert await session._current_user_id() == uuid.UUID(user.id)
    assert standin.seen("POST", "/auth/v1/token")[-1].query == {"grant_type": ["password"]}


async def test_sign_up_through_supabase(standin: SupabaseStandIn, supabase_mode: None, app_db):
    login, session = _states()
    form = {
        "email": "fresh@example.com",
        "password": "a long password",
        "display_name": "Fay",
        "role": "operator",
    }
    result = await _call(login, "sign_up", form)
    assert result is not None and login.error == ""
    assert standin.users["fresh@example.com"].user_metadata == {
        "display_name": "Fay",
        "role": "operator",
    }
    assert session.display_name == "Fay" and session.access_token

    # A project that confirms addresses: no session yet, the page says what to do.
    standin.autoconfirm = False
    login, session = _states()
    await _call(login, "sign_up", {**form, "email": "later@example.com"})
    assert "Confirm your e-mail address" in login.notice and session.access_token == ""
    # ...and does not tell whether an address is taken (GoTrue answers a decoy user).
    login, session = _states()
    await _call(login, "sign_up", {**form, "email": "fresh@example.com"})
    assert login.error == "" and "Confirm your e-mail address" in login.notice


async def test_the_session_restores_from_a_supabase_cookie_and_ends_with_it(
    standin: SupabaseStandIn, supabase_mode: None, app_db
):
    user = standin.create_user("cookie@example.com", user_metadata={"display_name": "Cy"})
    _, session = _states()
    session.access_token = standin.access_token(user, "ES256")
    assert await session._current_user_id() == uuid.UUID(user.id)
    assert session.display_name == "Cy"
    assert abs(session._expires_at - (time.time() + standin.token_ttl)) < 5

    # The token runs out while the tab is open: signed out, not half signed in.
    session._expires_at = int(time.time()) - 1
    assert await session._current_user_id() is None
    assert session.access_token == "" and session.display_name == ""

    # An expired or forged cookie never signs in.
    _, session = _states()
    now = int(time.time())
    session.access_token = standin.access_token(user, "ES256", exp=now - 1, iat=now - 3601)
    assert await session._current_user_id() is None and session.access_token == ""


async def test_local_mode_keeps_local_tokens(db: Engine, app_db):
    get_settings.cache_clear()
    account = factories.user(db, "operator")
    login, session = _states()
    await _call(login, "log_in", {"email": account.email, "password": factories.PASSWORD})
    assert login.error == ""
    claims = jwt.decode(session.access_token, options={"verify_signature": False})
    assert claims["iss"] == tokens.ISSUER and claims["sub"] == str(account.id)
    assert session._expires_at == claims["exp"]  # both modes: the session ends with its token
    assert await session._current_user_id() == account.id
