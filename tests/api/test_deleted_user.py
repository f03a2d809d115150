"""A token outlives nothing: once its user is gone it is refused everywhere (finding 3)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import col

from arbibase_chat.config import ACCESS_TOKEN_COOKIE
from arbibase_chat.models import User
from tests import factories
from tests.api.conftest import Actor


def test_a_deleted_users_token_is_refused(client, db):
    gone = Actor(factories.user(db, "operator"))
    token = gone.token
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with db.begin() as conn:
        conn.execute(delete(User).where(col(User.id) == gone.user.id))

    response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized"}
    client.cookies.set(ACCESS_TOKEN_COOKIE, token)
    try:
        assert client.get("/api/messages/threads").status_code == 401
    finally:
        client.cookies.clear()
