"""The REST API on the real `reflex run --env prod` server: the seed's four calls exactly as
its client sends them, uploads, the rate limit, and JSON everywhere under /api.

Every test signs up its own people through the API: the demo users' threads (which the browser
tests check) are never touched.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from arbibase_chat import db as dbmod
from arbibase_chat.services import accounts
from tests import files

PASSWORD = "a long enough password"
# What the seed's fetch() sends for a string body without headers.
SEED_FETCH = {"Content-Type": "text/plain;charset=UTF-8"}


@pytest.fixture(scope="module")
def api(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=30) as client:
        yield client


def person(api: httpx.Client, role: str) -> tuple[dict[str, Any], dict[str, str]]:
    email = f"{role}-{uuid.uuid4().hex[:10]}@live.example"
    signup = api.post(
        "/api/auth/signup",
        json={"email": email, "password": PASSWORD, "role": role, "display_name": role.title()},
    )
    assert signup.status_code == 201, signup.text
    login = api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return login.json()["user"], {"Authorization": f"Bearer {login.json()['access_token']}"}


def negotiation(api: httpx.Client) -> dict[str, Any]:
    """A fresh operator, an owner with a listed property, and their thread (seed call 2)."""
    owner, owner_auth = person(api, "owner")
    operator, operator_auth = person(api, "operator")
    prop = api.post(
        "/api/properties",
        json={"title": "Live Loft", "address": "1 Test St", "city": "Austin"},
        headers=owner_auth,
    )
    assert prop.status_code == 201, prop.text
    opened = api.post(
        "/api/messages/threads",
        content=json.dumps(
            {"propertyId": prop.json()["id"], "ownerId": owner["id"], "subject": "Live test"}
        ),
        headers={**SEED_FETCH, **operator_auth},
    )
    assert opened.status_code == 200 and set(opened.json()) == {"id"}, opened.text
    return {
        "owner": owner,
        "owner_auth": owner_auth,
        "operator": operator,
        "operator_auth": operator_auth,
        "property_id": prop.json()["id"],
        "thread_id": opened.json()["id"],
    }


def test_the_seeds_four_calls_work_unchanged(api: httpx.Client) -> None:
    n = negotiation(api)
    tid, auth = n["thread_id"], n["operator_auth"]
    # 4. POST /api/messages/{threadId} {text}: the ChatPanel's send(), as fetch sends it.
    sent = api.post(
        f"/api/messages/{tid}", content=json.dumps({"text": "Hello from the seed"}),
        headers={**SEED_FETCH, **auth},
    )  # fmt: skip
    assert sent.status_code == 200 and set(sent.json()) == {"id", "created_at"}
    # 1. GET /api/messages/threads?role=operator&propertyId=...
    listed = api.get(
        "/api/messages/threads",
        params={"role": "operator", "propertyId": n["property_id"]},
        headers=auth,
    )
    assert listed.status_code == 200
    (row,) = listed.json()["data"]
    assert row["id"] == tid and row["operator_id"] == n["operator"]["id"]
    assert row["owner_id"] == n["owner"]["id"] and row["status"] == "active"
    assert row["last_message"]["body"] == "Hello from the seed"
    # 3. GET /api/messages/{threadId}: what ChatPanel.load() reads (json.data).
    history = api.get(f"/api/messages/{tid}", headers=n["owner_auth"])
    assert history.status_code == 200
    (message,) = history.json()["data"]
    assert message["id"] == sent.json()["id"] and message["body"] == "Hello from the seed"
    assert message["sender_id"] == n["operator"]["id"] and message["attachment_url"] is None
    # No or bad credentials: the seed's 401.
    for headers in ({}, {"Authorization": "Bearer forged"}):
        res = api.get(f"/api/messages/{tid}", headers=headers)
        assert res.status_code == 401 and res.json() == {"error": "Unauthorized"}
    # A stranger: 404, exactly like a missing thread.
    _, stranger = person(api, "operator")
    mine = api.get(f"/api/messages/{tid}", headers=stranger)
    missing = api.get(f"/api/messages/{uuid.uuid4()}", headers=stranger)
    assert mine.status_code == missing.status_code == 404 and mine.json() == missing.json()


def test_upload_and_download_on_the_live_server(api: httpx.Client, e2e_database_url: str) -> None:
    n = negotiation(api)
    # File sharing is a Pro feature of the operator's plan (a new sign-up is on Beta).
    accounts.set_tier(
        email=n["operator"]["email"], tier="pro", db=dbmod.get_engine(e2e_database_url)
    )
    up = api.post(
        f"/api/messages/{n['thread_id']}/attachments",
        files={"file": ("front.png", files.image("PNG", (900, 600)), "image/png")},
        headers=n["operator_auth"],
    )
    assert up.status_code == 201, up.text
    att = up.json()
    sent = api.post(
        f"/api/messages/{n['thread_id']}",
        json={"text": "Photo", "attachmentId": att["id"]},
        headers=n["operator_auth"],
    )
    assert sent.status_code == 200
    thumb = api.get(att["thumbnail_url"], headers=n["owner_auth"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    assert thumb.headers["content-security-policy"] == "default-src 'none'; sandbox"
    fake = api.post(
        f"/api/messages/{n['thread_id']}/attachments",
        files={"file": ("lease.pdf", files.HTML, "application/pdf")},
        headers=n["operator_auth"],
    )
    assert fake.status_code == 422 and fake.json()["field"] == "file"


def test_sending_too_fast_is_429_with_retry_after(api: httpx.Client) -> None:
    n = negotiation(api)
    codes = []
    for i in range(30):
        res = api.post(
            f"/api/messages/{n['thread_id']}", json={"text": f"m{i}"}, headers=n["operator_auth"]
        )
        codes.append(res.status_code)
        if res.status_code == 429:
            assert int(res.headers["retry-after"]) >= 1
            assert res.json()["code"] == "rate_limited"
    assert codes[:20] == [200] * 20 and 429 in codes


def test_everything_under_api_is_json_and_documented(api: httpx.Client) -> None:
    schema = api.get("/api/openapi.json")
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "ArbiBase Chat API"
    docs = api.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    missing = api.get("/api/no/such/route")  # not Reflex's HTML 404 page
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    _, auth = person(api, "operator")
    foreign = api.get("/api/me", headers={"Origin": "https://evil.example", **auth})
    assert foreign.status_code == 403 and foreign.json()["code"] == "origin"
    big = api.post(
        "/api/auth/login", content=b'{"email": "' + b"x" * 400_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert big.status_code == 413
    # The app itself still answers next to the API.
    assert api.get("/ping").status_code == 200
