"""PATCH /api/messages/threads/{id} status (issue #13): archive is mine, close is shared and
announced; the thread's shape is unchanged (status as the caller sees it, plus archived_at)."""

from __future__ import annotations

from tests.api.conftest import World


def _ids(client, actor, status: str) -> list[str]:
    res = client.get("/api/messages/threads", params={"status": status}, headers=actor.auth)
    assert res.status_code == 200
    return [row["id"] for row in res.json()["data"]]


def test_archive_is_mine_close_is_ours(client, world: World) -> None:
    tid = str(world.pair.thread_id)
    path = f"/api/messages/threads/{tid}"
    res = client.patch(path, json={"status": "archived"}, headers=world.operator.auth)
    assert res.status_code == 200
    body = res.json()
    assert body["status"] == "archived" and body["archived_at"] is not None
    assert _ids(client, world.operator, "archived") == [tid]
    assert _ids(client, world.owner, "active") == [tid]
    assert _ids(client, world.owner, "archived") == []

    res = client.patch(path, json={"status": "closed"}, headers=world.owner.auth)
    assert res.status_code == 200 and res.json()["status"] == "closed"
    for actor in (world.operator, world.owner):
        assert _ids(client, actor, "closed") == [tid]
    history = client.get(f"/api/messages/{tid}", headers=world.operator.auth).json()["data"]
    assert history[-1]["kind"] == "system"
    assert history[-1]["body"].endswith("closed the conversation")
    refused = client.post(f"/api/messages/{tid}", json={"text": "hi"}, headers=world.operator.auth)
    assert refused.status_code == 422

    res = client.patch(path, json={"status": "active"}, headers=world.operator.auth)
    assert res.status_code == 200 and res.json()["status"] == "active"
    assert _ids(client, world.owner, "active") == [tid]
