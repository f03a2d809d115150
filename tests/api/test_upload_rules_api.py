"""Pen test (issue #9) over HTTP: what an unverified owner may do (403 with the policy's code),
the upload limits (413 storage quota, 429 pending uploads) and image bounds (422)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from arbibase_chat.config import get_settings
from arbibase_chat.services import accounts, messages
from tests import files
from tests.api.conftest import World


def _upload(client: TestClient, world: World, name: str, data: bytes, actor=None):
    return client.post(
        f"/api/messages/{world.thread_id}/attachments",
        files={"file": (name, data, "application/octet-stream")},
        headers=(actor or world.operator).auth,
    )


def test_an_unverified_owner_gets_403_verify_ownership(client, world: World, db):
    accounts.set_verified(user_id=world.owner.user.id, verified=False, db=db)
    messages.send_message(
        user_id=world.operator.user.id, thread_id=world.pair.thread_id, body="Offer", db=db
    )
    thread = f"/api/messages/threads/{world.thread_id}"
    refused = {
        "send": client.post(
            f"/api/messages/{world.thread_id}", json={"text": "hi"}, headers=world.owner.auth
        ),
        "upload": _upload(client, world, "lease.pdf", files.pdf(), actor=world.owner),
        "status": client.patch(thread, json={"status": "closed"}, headers=world.owner.auth),
        "rename": client.patch(thread, json={"subject": "Mine"}, headers=world.owner.auth),
        "tag": client.patch(thread, json={"addTags": ["HOA"]}, headers=world.owner.auth),
    }
    for what, res in refused.items():
        assert res.status_code == 403, (what, res.json())
        assert res.json()["code"] == "verify_ownership", what
        assert res.json()["error"].startswith("Verify ownership"), what
    # Reading and marking read: allowed.
    assert (
        client.get(f"/api/messages/{world.thread_id}", headers=world.owner.auth).status_code == 200
    )
    read = client.post(f"/api/messages/{world.thread_id}/read", headers=world.owner.auth)
    assert read.status_code == 200 and read.json()["unread_count"] == 0
    # Owners do not open negotiations, verified or not.
    opened = client.post(
        "/api/messages/threads",
        json={"propertyId": str(world.pair.property.id), "ownerId": str(world.owner.user.id)},
        headers=world.stranger_owner.auth,
    )
    assert opened.status_code == 403 and opened.json()["code"] == "operators_only"


def test_upload_limits_are_413_and_429_with_their_codes(client, world: World, monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "max_pending_uploads", 2)
    monkeypatch.setattr(settings, "attachment_quota_bytes", 5_000)
    assert _upload(client, world, "a.txt", b"a" * 2_000).status_code == 201
    over = _upload(client, world, "b.txt", b"b" * 4_000)
    assert over.status_code == 413
    assert over.json()["code"] == "storage_quota_exceeded" and over.json()["field"] == "file"
    assert "storage quota" in over.json()["error"]
    assert _upload(client, world, "c.txt", b"c" * 1_000).status_code == 201
    pending = _upload(client, world, "d.txt", b"d")
    assert pending.status_code == 429 and "retry-after" not in pending.headers
    assert pending.json()["code"] == "too_many_pending_uploads"
    assert pending.json()["field"] == "file"


def test_an_image_bomb_is_422_naming_the_limit(client, world: World):
    res = _upload(client, world, "bomb.png", files.png_of(7060, 7060))
    assert res.status_code == 422
    body = res.json()
    assert body["code"] == "image_too_large" and body["field"] == "file"
    assert "PNG images may have at most 24 megapixels" in body["error"]
