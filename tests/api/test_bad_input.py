"""Hostile input over the REST API (pen test, issue #9): every bad value is a 422 naming its
field, nothing is stored, and a bad row already in the database never breaks a page.

Bodies are sent as `json.dumps` text: it spells a lone surrogate as the escape "\\ud800",
exactly what an attacker sends (httpx's own `json=` cannot encode one).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from arbibase_chat.services import messages
from tests.api.conftest import World

LONE = "\ud800"


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def send_raw(client, method: str, path: str, body: Any, headers: dict[str, str]):
    return client.request(
        method,
        path,
        content=json.dumps(body),
        headers={**headers, "Content-Type": "application/json"},
    )


def history(client, world: World, who: str = "owner") -> list[dict[str, Any]]:
    actor = world.owner if who == "owner" else world.operator
    res = client.get(f"/api/messages/{world.thread_id}", headers=actor.auth)
    assert res.status_code == 200, res.text
    return res.json()["data"]


# --- (4) metadata that used to break the thread's history for both parties ----------------


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param(nested(256), id="nested-256"),
        pytest.param(nested(33), id="nested-33"),
        pytest.param({"note": LONE}, id="surrogate-value"),
        pytest.param({LONE: 1}, id="surrogate-key"),
        pytest.param({"list": [1, ["x", {"deep": LONE}]]}, id="surrogate-inside"),
        pytest.param({"n": "a\u0000b"}, id="nul"),
        pytest.param({"n": 2**64}, id="int-over-64-bits"),
        pytest.param({"pad": "y" * messages.MAX_METADATA_BYTES}, id="too-large"),
    ],
)
def test_bad_metadata_is_422_and_history_stays_readable(client, world: World, metadata):
    path = f"/api/messages/{world.thread_id}"
    res = send_raw(client, "POST", path, {"text": "hi", "metadata": metadata}, world.operator.auth)
    assert res.status_code == 422, res.text
    assert res.json()["field"] == "metadata" and res.json()["code"] == "invalid"
    assert history(client, world, "owner") == history(client, world, "operator") == []


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_in_metadata_are_422(client, world: World, raw):
    body = '{"text": "hi", "metadata": {"rent": ' + raw + "}}"
    res = client.post(
        f"/api/messages/{world.thread_id}",
        content=body,
        headers={**world.operator.auth, "Content-Type": "application/json"},
    )
    assert res.status_code == 422 and res.json()["field"] == "metadata", res.text
    assert history(client, world) == []


def test_metadata_within_the_bounds_round_trips(client, world: World):
    metadata = {
        "offer": {"rent": 2450.5, "months": 12, "terms": ["pets", None, True]},
        "deep": nested(31),
        "text": "caf\u00e9 \U0001f3e0 \u05e9",
    }
    path = f"/api/messages/{world.thread_id}"
    res = send_raw(client, "POST", path, {"text": "hi", "metadata": metadata}, world.operator.auth)
    assert res.status_code == 200, res.text
    assert [m["metadata"] for m in history(client, world)] == [metadata]


def _bad_rows(dialect: str) -> list[tuple[str, Any]]:
    """(stored JSON text, what the page shows) for rows only plain SQL can write."""
    deep = json.dumps(nested(300))
    rows: list[tuple[str, Any]] = [
        (deep, {}),  # pydantic cannot serialize it
        ('{"a": ' * 3000 + "{}" + "}" * 3000, None),  # json cannot even load it back
        ('{"n": 1' + "0" * 5000 + "}", None),  # over Python's 4,300 digits
        ("[1, 2]", {}),  # not an object
    ]
    if dialect == "sqlite":  # PostgreSQL's jsonb refuses these itself
        rows += [
            ('{"note": "\\ud800"}', {}),
            ('{"rent": NaN}', {}),
            ("not json at all", None),
        ]
    return rows


def test_a_bad_stored_row_never_breaks_the_page(client, world: World, db: Engine, caplog):
    path = f"/api/messages/{world.thread_id}"
    good = {"text": "before", "metadata": {"ok": 1}}
    assert send_raw(client, "POST", path, good, world.operator.auth).status_code == 200
    rows = _bad_rows(db.dialect.name)
    ids = []
    for _ in rows:
        res = send_raw(client, "POST", path, {"text": "victim"}, world.operator.auth)
        ids.append(res.json()["id"])
    after = {"text": "after", "metadata": {"ok": 2}}
    assert send_raw(client, "POST", path, after, world.owner.auth).status_code == 200
    cast = "CAST(:raw AS jsonb)" if db.dialect.name == "postgresql" else ":raw"
    with db.begin() as conn:
        for message_id, (raw, _shown) in zip(ids, rows, strict=True):
            conn.execute(
                text(f"UPDATE messaging_messages SET metadata = {cast} WHERE id = :id"),
                {
                    "raw": raw,
                    "id": message_id if db.dialect.name == "postgresql" else _hex(message_id),
                },
            )
    with caplog.at_level(logging.WARNING):
        for who in ("owner", "operator"):
            page = history(client, world, who)
            assert [m["metadata"] for m in page] == [
                {"ok": 1},
                *(shown for _raw, shown in rows),
                {"ok": 2},
            ]
    assert "shown as {}" in caplog.text or "read as null" in caplog.text


def _hex(message_id: str) -> str:
    return message_id.replace("-", "")


# --- (8) lone surrogates anywhere in a body: 422 naming the field, never a 500 ---------------

SIGNUP = {"email": "new@example.com", "password": "long enough pw", "display_name": "New"}
LOGIN = {"email": "new@example.com", "password": "long enough pw"}


def _with(body: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    return {**body, field: value}


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("login", _with(LOGIN, "email", f"a{LONE}@example.com"), "email"),
        ("login", _with(LOGIN, "password", f"pass{LONE}word!!"), "password"),
        ("signup", _with(SIGNUP, "email", f"a{LONE}@example.com"), "email"),
        ("signup", _with(SIGNUP, "password", f"pass{LONE}word!!"), "password"),
        ("signup", _with(SIGNUP, "display_name", f"Name {LONE}"), "display_name"),
        ("patch", {"subject": f"Lease {LONE}"}, "subject"),
        ("patch", {"addTags": ["ok", f"x{LONE}"]}, "addTags"),
        ("patch", {"removeTags": [LONE]}, "removeTags"),
        ("patch", {"addTags": ["ok"], "removeTags": [LONE]}, "removeTags"),
        ("send", {"text": f"hi {LONE}"}, "text"),
        (
            "send",
            {"text": "hi", "attachmentUrl": f"https://files.example.com/{LONE}"},
            "attachmentUrl",
        ),
        ("send", {"text": "hi", "attachmentUrl": f"/api/attachments/{LONE}"}, "attachmentUrl"),
        ("open", {"subject": f"s{LONE}"}, "subject"),
    ],
)
def test_lone_surrogates_are_422_naming_the_field(client, world: World, route, body, field):
    auth = world.operator.auth
    method, path = {
        "login": ("POST", "/api/auth/login"),
        "signup": ("POST", "/api/auth/signup"),
        "patch": ("PATCH", f"/api/messages/threads/{world.thread_id}"),
        "send": ("POST", f"/api/messages/{world.thread_id}"),
        "open": ("POST", "/api/messages/threads"),
    }[route]
    if route == "open":
        body = {
            **body,
            "propertyId": str(world.pair.property.id),
            "ownerId": str(world.owner.user.id),
        }
    res = send_raw(client, method, path, body, auth if route not in ("login", "signup") else {})
    assert res.status_code == 422, res.text
    assert res.json()["field"] == field and res.json()["code"] == "invalid"
    assert "Unicode" in res.json()["error"]
    rows = client.get("/api/messages/threads", headers=auth).json()["data"]
    assert [(t["id"], t["subject"], t["tags"]) for t in rows] == [
        (world.thread_id, "Lease offer", [])
    ]
    assert history(client, world) == []
    login = client.post("/api/auth/login", json=LOGIN)
    assert login.status_code == 401  # no account was created


def test_error_bodies_never_fail_on_what_they_echo():
    from arbibase_chat.api.errors import ApiError, error_body

    body = error_body(f"bad {LONE}", "invalid", f"f{LONE}")
    rendered = json.loads(bytes(ApiError(422, body).response().body))
    assert rendered["code"] == "invalid" and rendered["field"].startswith("f")


# --- (13) one PATCH may not both add and remove a tag --------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"addTags": ["x"], "removeTags": ["x"]},
        {"addTags": ["Offer Sent"], "removeTags": [" Offer \r\n Sent "]},
        {"addTags": ["HOA", "x"], "removeTags": ["x"], "subject": "changed"},
    ],
)
def test_adding_and_removing_the_same_tag_is_422(client, world: World, body):
    path = f"/api/messages/threads/{world.thread_id}"
    res = client.patch(path, json=body, headers=world.operator.auth)
    assert res.status_code == 422, res.text
    assert res.json()["field"] == "addTags" and "added and removed at once" in res.json()["error"]
    rows = client.get("/api/messages/threads", headers=world.operator.auth).json()["data"]
    assert [(t["subject"], t["tags"]) for t in rows] == [("Lease offer", [])]


# --- (11) attachmentUrl: only http(s) or this site's own attachment route ------------------

OFF_SITE_LINKS = [
    "/\\example.org/lease.pdf",  # the pen test's bypass: a browser reads /\ as //
    "//example.org/lease.pdf",
    "\\\\example.org/lease.pdf",
    "\\/example.org/lease.pdf",
    "/%5Cexample.org/lease.pdf",
    "/%2F/example.org/lease.pdf",
    "/\t/example.org/lease.pdf",  # browsers drop tab and line feed inside URLs
    "/\n/example.org/lease.pdf",
    "/\r\\example.org",
    "/\x0b/example.org",  # controls used to be silently dropped, leaving "//"
    "/\x01\\example.org",
    "/\u200b/example.org",
    "/\u00a0/example.org",
    "/api/attachments/../../\\example.org",
    "/lease.pdf",  # a site path, but not an attachment of this app
    "/api/attachments/not-a-uuid",
    "/api/attachments/00000000-0000-0000-0000-000000000000/../x",
    "/api/attachments/00000000-0000-0000-0000-000000000000?variant=thumbnail&x=1",
    "https://files.example.com/a\\b",
    "https://files.example.com/\tlease.pdf",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://example.org/x",
    "example.org/lease.pdf",
]


@pytest.mark.parametrize("url", OFF_SITE_LINKS)
def test_attachment_url_that_could_leave_the_site_is_422(client, world: World, url):
    path = f"/api/messages/{world.thread_id}"
    res = send_raw(
        client, "POST", path, {"text": "lease", "attachmentUrl": url}, world.operator.auth
    )
    assert res.status_code == 422, res.text
    assert res.json()["field"] == "attachmentUrl" and res.json()["code"] == "invalid"
    assert history(client, world) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://files.example.com/lease.pdf",
        "http://files.example.com/lease.pdf?x=1#p2",
        "/api/attachments/0b8f4a4e-54a1-4d5e-9a52-1c1f1b2a3c4d",
        "/api/attachments/0b8f4a4e-54a1-4d5e-9a52-1c1f1b2a3c4d?variant=thumbnail",
        "  https://files.example.com/lease.pdf  ",
    ],
)
def test_attachment_urls_that_stay_allowed(client, world: World, url):
    path = f"/api/messages/{world.thread_id}"
    res = send_raw(
        client, "POST", path, {"text": "lease", "attachmentUrl": url}, world.operator.auth
    )
    assert res.status_code == 200, res.text
    assert [m["attachment_url"] for m in history(client, world)] == [url.strip()]


def test_a_stored_link_that_could_leave_the_site_is_not_shown(client, world: World, db: Engine):
    """A row stored before the link rules (or by plain SQL) keeps its text; its link is
    dropped on the way out, so no page ever renders "/\\host" as a link."""
    path = f"/api/messages/{world.thread_id}"
    res = send_raw(client, "POST", path, {"text": "lease"}, world.operator.auth)
    message_id = res.json()["id"]
    with db.begin() as conn:
        conn.execute(
            text("UPDATE messaging_messages SET attachment_url = :url WHERE id = :id"),
            {
                "url": "/\\evil.example/lease.pdf",
                "id": message_id if db.dialect.name == "postgresql" else _hex(message_id),
            },
        )
    for who in ("owner", "operator"):
        shown = next(m for m in history(client, world, who) if m["id"] == message_id)
        assert shown["attachment_url"] is None and shown["body"] == "lease"
