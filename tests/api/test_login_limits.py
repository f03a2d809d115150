"""Sign-in and sign-up limits over HTTP (pen test finding 7): 429 with Retry-After and the
rate-limit body, keyed on the TCP peer's address; X-Forwarded-For only behind trusted proxies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from arbibase_chat.api import create_api
from arbibase_chat.config import get_settings
from tests.api.conftest import World
from tests.factories import PASSWORD


@pytest.fixture
def peer(db: Engine, fresh_limits) -> Iterator[TestClient]:
    """The API as seen from one address (203.0.113.5)."""
    with TestClient(create_api(engine=db), client=("203.0.113.5", 40000)) as test_client:
        yield test_client


def _login(client: TestClient, email: str, password: str, **headers: str):
    return client.post(
        "/api/auth/login", json={"email": email, "password": password}, headers=headers
    )


def test_forty_wrong_passwords_then_the_right_one_is_429(peer: TestClient, world: World):
    email = world.operator.user.email
    codes = [_login(peer, email, f"guess number {i}").status_code for i in range(40)]
    assert codes == [401] * 5 + [429] * 35
    res = _login(peer, email, PASSWORD)
    assert res.status_code == 429
    # One more try a minute (less the time the 40 attempts took).
    seconds = int(res.headers["retry-after"])
    assert 50 < seconds <= 60
    assert res.json() == {
        "error": "Too many attempts. Try again in 1 minute.",
        "code": "rate_limited",
        "retry_after": seconds,
    }


def test_another_address_signs_in(peer: TestClient, db: Engine, world: World, fresh_limits):
    email = world.operator.user.email
    for _ in range(6):
        _login(peer, email, "wrong wrong")
    with TestClient(create_api(engine=db), client=("198.51.100.7", 40000)) as owner:
        assert _login(owner, email, PASSWORD).status_code == 200


def test_forwarded_for_is_ignored_without_trusted_proxies(peer: TestClient, world: World):
    """A client cannot dodge its limit by writing another address in X-Forwarded-For."""
    email = world.operator.user.email
    codes = [
        _login(peer, email, "wrong wrong", **{"X-Forwarded-For": f"192.0.2.{i}"}).status_code
        for i in range(7)
    ]
    assert codes == [401] * 5 + [429] * 2


def test_behind_a_trusted_proxy_the_forwarded_address_counts(
    peer: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "1")
    get_settings.cache_clear()
    try:
        email = world.operator.user.email
        # The proxy (the TCP peer) appends the address it saw; what the client wrote before
        # that is not trusted.
        spoofed = {"X-Forwarded-For": "10.9.9.9, 192.0.2.1"}
        codes = [_login(peer, email, "wrong wrong", **spoofed).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]
        other = {"X-Forwarded-For": "10.9.9.9, 192.0.2.2"}
        assert _login(peer, email, PASSWORD, **other).status_code == 200
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_sign_ups_per_address_are_429(peer: TestClient):
    def signup(i: int):
        body = {
            "email": f"new{i}@example.com",
            "password": "a long enough password",
            "display_name": f"New {i}",
            "role": "operator",
        }
        return peer.post("/api/auth/signup", json=body)

    codes = [signup(i).status_code for i in range(6)]
    assert codes == [201] * 5 + [429]
    res = signup(7)
    assert 290 < int(res.headers["retry-after"]) <= 300
    assert res.json()["error"] == "Too many attempts. Try again in 5 minutes."
    # Bad input is answered as before and takes nothing.
    bad = peer.post(
        "/api/auth/signup",
        json={"email": "x@example.com", "password": "short", "display_name": "X"},
    )
    assert bad.status_code == 422
