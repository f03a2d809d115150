"""The sign-in / sign-up limits in Supabase mode (checked before Supabase Auth is asked), and on
the login page (its client address is the socket's, `router.session.client_ip`)."""

from __future__ import annotations

import reflex as rx
from fastapi.testclient import TestClient
from reflex import constants
from reflex.istate.data import RouterData

from arbibase_chat.pages.login import LoginState
from arbibase_chat.session import SessionState
from tests import factories
from tests.supabase_adapters.standin import SupabaseStandIn
from tests.supabase_adapters.test_ui_login import _call, app_db  # noqa: F401  (fixture)

PASSWORD = "supabase password 1"


def test_supabase_is_not_asked_once_limited(api: TestClient, standin: SupabaseStandIn):
    standin.create_user("target@example.com", PASSWORD)
    before = len(standin.seen("POST", "/auth/v1/token"))
    login = {"email": "target@example.com"}
    codes = [
        api.post("/api/auth/login", json={**login, "password": f"guess {i}"}).status_code
        for i in range(8)
    ]
    assert codes == [401] * 5 + [429] * 3
    res = api.post("/api/auth/login", json={**login, "password": PASSWORD})
    assert res.status_code == 429 and 50 < int(res.headers["retry-after"]) <= 60
    assert res.json()["code"] == "rate_limited"
    assert len(standin.seen("POST", "/auth/v1/token")) - before == 5


def test_supabase_sign_ups_are_limited_before_supabase(api: TestClient, standin: SupabaseStandIn):
    def signup(i: int) -> int:
        body = {"email": f"s{i}@example.com", "password": "a long password", "display_name": "S"}
        return api.post("/api/auth/signup", json=body).status_code

    assert [signup(i) for i in range(7)] == [201] * 5 + [429] * 2
    assert len(standin.seen("POST", "/auth/v1/signup")) == 5


def _states(client_ip: str) -> tuple[LoginState, SessionState]:
    """The page's states for a socket from `client_ip` (Reflex sets the root's router)."""
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]
    root.router = RouterData.from_router_data({constants.RouteVar.CLIENT_IP: client_ip})
    login = root.get_substate(LoginState.get_full_name().split(".")[1:])
    session = root.get_substate(SessionState.get_full_name().split(".")[1:])
    assert isinstance(login, LoginState) and isinstance(session, SessionState)
    return login, session


async def test_the_page_says_when_to_try_again(db, app_db):  # noqa: F811
    account = factories.user(db, "operator")
    wrong = {"email": account.email, "password": "not the password"}
    login, session = _states("203.0.113.20")
    for _ in range(5):
        assert await _call(login, "log_in", wrong) is None
        assert login.error == "Wrong e-mail or password."
    await _call(login, "log_in", {**wrong, "password": factories.PASSWORD})
    assert login.error == "Too many attempts. Try again in 1 minute."
    assert session.access_token == ""
    # The page keys the limit on the socket's address: the owner elsewhere signs in.
    login, session = _states("198.51.100.20")
    result = await _call(login, "log_in", {**wrong, "password": factories.PASSWORD})
    assert login.error == "" and result is not None and session.access_token


async def test_the_sign_up_page_says_when_to_try_again(db, app_db):  # noqa: F811
    form = {"password": "a long enough password", "display_name": "N", "role": "operator"}
    login, _session = _states("203.0.113.21")
    for i in range(5):
        await _call(login, "sign_up", {**form, "email": f"n{i}@example.com"})
        assert login.error == ""
    await _call(login, "sign_up", {**form, "email": "n9@example.com"})
    assert login.error == "Too many attempts. Try again in 5 minutes."
    login, _session = _states("198.51.100.21")
    await _call(login, "sign_up", {**form, "email": "n9@example.com"})
    assert login.error == ""
