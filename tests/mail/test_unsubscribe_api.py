"""RFC 8058 one-click unsubscribe: the POST mutes the thread until unmuted for the token's
user, with no session; the GET only asks (link scanners follow links); a bad token is 404."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from arbibase_chat import db as dbmod
from arbibase_chat.api import create_api
from arbibase_chat.db import utcnow
from arbibase_chat.models import MUTED_FOREVER, EmailToken, Participant
from arbibase_chat.services import email_tokens
from tests import factories

ONE_CLICK = {"content": "List-Unsubscribe=One-Click"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(db: Engine) -> Iterator[TestClient]:
    with TestClient(create_api(engine=db)) as test_client:
        yield test_client


def _token(db: Engine, pair: factories.Pair) -> str:
    with dbmod.write_session(db) as session:
        return email_tokens.issue_in(session, user_id=pair.owner.id, thread_id=pair.thread_id)


def _muted_until(db: Engine, pair: factories.Pair, user_id: uuid.UUID) -> object:
    with dbmod.read_session(db) as session:
        return session.scalar(
            select(col(Participant.muted_until)).where(
                col(Participant.thread_id) == pair.thread_id, col(Participant.user_id) == user_id
            )
        )


def test_one_click_post_mutes_the_thread_forever(client: TestClient, db: Engine) -> None:
    pair = factories.Pair(db)
    token = _token(db, pair)
    res = client.post(f"/api/email/unsubscribe/{token}", headers=FORM, **ONE_CLICK)
    assert res.status_code == 200, res.text
    assert res.json() == {
        "thread_id": str(pair.thread_id),
        "muted_until": MUTED_FOREVER.isoformat().replace("+00:00", "Z"),
    }
    assert _muted_until(db, pair, pair.owner.id) == MUTED_FOREVER
    assert _muted_until(db, pair, pair.operator.id) is None  # the other party: unchanged
    # Again: the same answer, nothing else changes.
    again = client.post(f"/api/email/unsubscribe/{token}", headers=FORM, **ONE_CLICK)
    assert again.status_code == 200


def test_get_asks_and_changes_nothing(client: TestClient, db: Engine) -> None:
    pair = factories.Pair(db)
    token = _token(db, pair)
    res = client.get(f"/api/email/unsubscribe/{token}")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    assert res.headers["cache-control"] == "no-store"
    assert f'<form method="post" action="/api/email/unsubscribe/{token}">' in res.text
    assert _muted_until(db, pair, pair.owner.id) is None
    # The page's button: a browser's form POST gets a page back, and the thread is muted.
    done = client.post(
        f"/api/email/unsubscribe/{token}",
        headers={**FORM, "Accept": "text/html"},
        **ONE_CLICK,
    )
    assert done.status_code == 200 and "Conversation muted" in done.text
    assert _muted_until(db, pair, pair.owner.id) == MUTED_FOREVER


@pytest.mark.parametrize("bad", ["0" * 32, "not-a-token", "A" * 32, "f" * 33])
def test_an_unknown_token_is_404(client: TestClient, db: Engine, bad: str) -> None:
    pair = factories.Pair(db)
    _token(db, pair)
    res = client.post(f"/api/email/unsubscribe/{bad}", headers=FORM, **ONE_CLICK)
    assert res.status_code == 404
    assert res.json() == {"error": "this link is unknown or has expired", "code": "not_found"}
    page = client.get(f"/api/email/unsubscribe/{bad}")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert _muted_until(db, pair, pair.owner.id) is None


def test_an_expired_token_is_404(client: TestClient, db: Engine) -> None:
    pair = factories.Pair(db)
    token = _token(db, pair)
    with dbmod.write_session(db) as session:
        session.execute(update(EmailToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    res = client.post(f"/api/email/unsubscribe/{token}", headers=FORM, **ONE_CLICK)
    assert res.status_code == 404
    assert _muted_until(db, pair, pair.owner.id) is None


def test_no_body_and_any_credentials_are_fine(client: TestClient, db: Engine) -> None:
    """The token is the credential: no body, a stranger's bearer token, none, all the same."""
    pair = factories.Pair(db)
    token = _token(db, pair)
    res = client.post(
        f"/api/email/unsubscribe/{token}", headers={"Authorization": "Bearer garbage"}
    )
    assert res.status_code == 200
    assert _muted_until(db, pair, pair.owner.id) == MUTED_FOREVER
