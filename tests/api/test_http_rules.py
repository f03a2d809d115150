"""The HTTP rules around the routes: the browser cookie and CSRF, CORS limited to configured
origins, and the per-user send rate limit (429 with Retry-After)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from arbibase_chat.api import create_api
from arbibase_chat.config import ACCESS_TOKEN_COOKIE, get_settings
from arbibase_chat.services import ratelimit
from tests.api.conftest import World

SELF = "http://testserver"  # TestClient's own origin


@pytest.fixture
def browser(client: TestClient, world: World) -> TestClient:
    """The client as a signed-in browser: the token is in the app's cookie, no header."""
    client.cookies.set(ACCESS_TOKEN_COOKIE, world.operator.token)
    return client


def test_cookie_works_from_our_own_pages(browser, world: World):
    path = f"/api/messages/{world.thread_id}"
    # Same-origin GET: browsers send no Origin; Sec-Fetch-Site says same-origin.
    assert browser.get(path).status_code == 200
    assert browser.get(path, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    # Opening a download link typed or bookmarked: Sec-Fetch-Site none.
    assert browser.get("/api/me", headers={"Sec-Fetch-Site": "none"}).status_code == 200
    # The seed's POST from our page: Origin is ours.
    res = browser.post(path, content='{"text": "from the page"}', headers={"Origin": SELF})
    assert res.status_code == 200
    res = browser.post(path, json={"text": "referer only"}, headers={"Referer": SELF + "/inbox"})
    assert res.status_code == 200


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("POST", {}),  # no Origin, no Referer
        ("POST", {"Origin": "https://evil.example"}),
        ("POST", {"Origin": "null"}),
        ("POST", {"Referer": "https://evil.example/page"}),
        ("POST", {"Origin": SELF, "Sec-Fetch-Site": "cross-site"}),
        ("POST", {"Origin": SELF, "Sec-Fetch-Site": "same-site"}),
        ("GET", {"Sec-Fetch-Site": "cross-site"}),
    ],
)
def test_cookie_is_refused_cross_site(browser, world: World, db, method, headers):
    path = f"/api/messages/{world.thread_id}"
    res = browser.request(method, path, json={"text": "forged"}, headers=headers)
    assert res.status_code == 403, res.json()
    assert res.json()["code"] in ("csrf", "origin")
    # A header token is not a cookie: whoever holds it may call from anywhere we allow.
    browser.cookies.clear()
    assert browser.get(path, headers=world.owner.auth).json() == {"data": []}


def test_a_bad_header_does_not_fall_back_to_the_cookie(browser):
    res = browser.get("/api/me", headers={"Authorization": "Bearer not-a-token"})
    assert res.status_code == 401 and res.json() == {"error": "Unauthorized"}


def test_cors_only_for_configured_origins(db, world: World, fresh_limits, monkeypatch):
    monkeypatch.setattr(get_settings(), "cors_origins", ["https://portfolio.arbibase.example"])
    with TestClient(create_api(engine=db)) as client:
        allowed = "https://portfolio.arbibase.example"
        pre = client.options(
            "/api/messages/threads",
            headers={
                "Origin": allowed,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == allowed
        assert "authorization" in pre.headers["access-control-allow-headers"].lower()
        res = client.get("/api/me", headers={"Origin": allowed, **world.operator.auth})
        assert res.status_code == 200 and res.headers["access-control-allow-origin"] == allowed
        assert "access-control-allow-credentials" not in res.headers

        for evil in ("https://evil.example", "https://portfolio.arbibase.example.evil.example"):
            pre = client.options(
                "/api/me", headers={"Origin": evil, "Access-Control-Request-Method": "GET"}
            )
            assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers
            res = client.get("/api/me", headers={"Origin": evil, **world.operator.auth})
            assert res.status_code == 403 and res.json()["code"] == "origin"
            assert "access-control-allow-origin" not in res.headers
        # Servers and scripts send no Origin at all.
        assert client.get("/api/me", headers=world.operator.auth).status_code == 200


def test_send_rate_limit_is_429_with_retry_after(client, world: World):
    path = f"/api/messages/{world.thread_id}"
    with ratelimit.use(ratelimit.LocalBuckets(burst=3, per_second=0.2)):
        codes = [
            client.post(path, json={"text": f"m{i}"}, headers=world.operator.auth).status_code
            for i in range(5)
        ]
        assert codes == [200, 200, 200, 429, 429]
        res = client.post(path, json={"text": "again"}, headers=world.operator.auth)
        assert res.status_code == 429
        assert res.headers["retry-after"] == "5"
        assert res.json()["code"] == "rate_limited" and res.json()["retry_after"] == 5
        # Another user is not affected.
        assert client.post(path, json={"text": "hi"}, headers=world.owner.auth).status_code == 200
    data = client.get(path, headers=world.owner.auth).json()["data"]
    assert [m["body"] for m in data] == ["m0", "m1", "m2", "hi"]


def test_the_configured_default_limit_applies(client, world: World):
    """The settings' burst (20 by default) goes through, then 429 while it refills.

    Sends until the first refusal: the refill during the run (rate x elapsed) is counted in,
    so a slow machine cannot make this pass or fail by timing alone."""
    settings = get_settings()
    burst = settings.send_rate_burst
    if burst == 0:
        pytest.skip("SEND_RATE_BURST=0 turns the limit off in this environment")
    path = f"/api/messages/{world.thread_id}"
    started = time.monotonic()
    accepted = 0
    for _ in range(burst + 200):
        code = client.post(path, json={"text": "x"}, headers=world.operator.auth).status_code
        if code == 429:
            break
        assert code == 200
        accepted += 1
    else:
        pytest.fail("never refused")
    refilled = (time.monotonic() - started) * settings.send_rate_per_second
    assert burst <= accepted <= burst + refilled + 1
