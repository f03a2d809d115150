"""PATCH / DELETE /api/messages/{threadId}/{messageId}: the exact contract."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from arbibase_chat import db as dbmod
from arbibase_chat.models import MessagingMessage
from arbibase_chat.services import accounts, events
from tests.api.conftest import World


def _send(client, world: World, text: str = "first", actor=None) -> dict:
    actor = actor or world.operator
    res = client.post(f"/api/messages/{world.thread_id}", json={"text": text}, headers=actor.auth)
    assert res.status_code == 200, res.text
    return res.json()


def _url(world: World, message_id: str) -> str:
    return f"/api/messages/{world.thread_id}/{message_id}"


def _history(client, world: World) -> list[dict]:
    res = client.get(f"/api/messages/{world.thread_id}", headers=world.owner.auth)
    return res.json()["data"]


def test_edit_answers_200_with_the_message_and_the_other_side_sees_it(client, world: World):
    sent = _send(client, world)
    seen: list[events.DomainEvent] = []
    unsubscribe = events.subscribe(seen.append)
    try:
        res = client.patch(
            _url(world, sent["id"]), json={"text": "second"}, headers=world.operator.auth
        )
    finally:
        unsubscribe()
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["id"] == sent["id"] and body["body"] == "second"
    assert body["edited_at"] is not None and body["deleted_at"] is None
    assert {"seq", "kind", "sender_id", "thread_id", "created_at"} <= set(body)
    (shown,) = _history(client, world)
    assert shown["body"] == "second" and shown["edited_at"] == body["edited_at"]
    assert any(isinstance(e, events.MessagesChanged) for e in seen)


def test_delete_answers_200_with_the_tombstone(client, world: World):
    sent = _send(client, world)
    res = client.delete(_url(world, sent["id"]), headers=world.operator.auth)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["id"] == sent["id"] and body["deleted_at"] is not None
    assert body["body"] is None and body["attachment"] is None and body["attachment_url"] is None
    assert _history(client, world)[0]["deleted_at"] == body["deleted_at"]
    again = client.delete(_url(world, sent["id"]), headers=world.operator.auth)
    assert again.status_code == 409 and again.json()["code"] == "message_deleted"
    edit = client.patch(_url(world, sent["id"]), json={"text": "x"}, headers=world.operator.auth)
    assert edit.status_code == 409 and edit.json()["code"] == "message_deleted"


def test_refusals_have_stable_codes(client, world: World, db):
    sent = _send(client, world)
    theirs = client.patch(_url(world, sent["id"]), json={"text": "x"}, headers=world.owner.auth)
    assert theirs.status_code == 409 and theirs.json()["code"] == "not_sender"
    with dbmod.write_session(db) as session:
        session.execute(
            update(MessagingMessage)
            .where(col(MessagingMessage.id) == uuid.UUID(sent["id"]))
            .values(created_at=dbmod.utcnow() - timedelta(hours=1))
        )
    late = client.patch(_url(world, sent["id"]), json={"text": "x"}, headers=world.operator.auth)
    assert late.status_code == 409 and late.json()["code"] == "edit_window_closed"
    late = client.delete(_url(world, sent["id"]), headers=world.operator.auth)
    assert late.status_code == 409 and late.json()["code"] == "edit_window_closed"


def test_bad_input_is_422_naming_the_field(client, world: World):
    sent = _send(client, world)
    for payload in ({"text": ""}, {"text": "   "}, {}, {"text": "x" * 10_001}, {"text": 5}):
        res = client.patch(_url(world, sent["id"]), json=payload, headers=world.operator.auth)
        assert res.status_code == 422, (payload, res.text)
        assert "text" in str(res.json()), res.json()
    extra = client.patch(
        _url(world, sent["id"]), json={"text": "x", "kind": "offer"}, headers=world.operator.auth
    )
    assert extra.status_code == 422
    # Ids are matched as UUIDs by the route itself (below): anything else is no such resource.
    bad = client.patch(
        f"/api/messages/{world.thread_id}/nope", json={"text": "x"}, headers=world.operator.auth
    )
    assert bad.status_code == 404 and bad.json()["code"] == "not_found"


def test_strangers_and_missing_ids_get_the_same_404(client, world: World):
    sent = _send(client, world)
    answers = [
        client.patch(_url(world, sent["id"]), json={"text": "x"}, headers=world.stranger.auth),
        client.delete(_url(world, sent["id"]), headers=world.stranger_owner.auth),
        client.patch(
            _url(world, str(uuid.uuid4())), json={"text": "x"}, headers=world.operator.auth
        ),
    ]
    assert {r.status_code for r in answers} == {404}
    assert _history(client, world)[0]["body"] == "first"


def test_an_unverified_owner_gets_403_verify_ownership(client, world: World, db):
    sent = _send(client, world, "from the owner", actor=world.owner)
    accounts.set_verified(user_id=world.owner.user.id, verified=False, db=db)
    res = client.patch(_url(world, sent["id"]), json={"text": "x"}, headers=world.owner.auth)
    assert res.status_code == 403 and res.json()["code"] == "verify_ownership"
    res = client.delete(_url(world, sent["id"]), headers=world.owner.auth)
    assert res.status_code == 403 and res.json()["code"] == "verify_ownership"


def test_other_routes_are_untouched(client, world: World):
    res = client.patch(
        f"/api/messages/threads/{world.thread_id}",
        json={"subject": "renamed"},
        headers=world.operator.auth,
    )
    assert res.status_code == 200 and res.json()["subject"] == "renamed"


def test_the_new_routes_do_not_shadow_their_neighbours(client, world: World):
    """`/{threadId}/{messageId}` would also match `/{threadId}/read`, `/{threadId}/attachments`
    and `/threads/{threadId}`: the ids are matched as UUIDs, so those keep their own methods."""
    auth = world.operator.auth
    for path, allowed in (
        (f"/api/messages/{world.thread_id}/read", "POST"),
        (f"/api/messages/{world.thread_id}/attachments", "POST"),
    ):
        res = client.patch(path, json={}, headers=auth)
        assert res.status_code == 405 and res.headers["allow"] == allowed, (path, res.text)
    res = client.delete(f"/api/messages/threads/{world.thread_id}", headers=auth)
    assert res.status_code == 405 and "DELETE" not in res.headers["allow"]
