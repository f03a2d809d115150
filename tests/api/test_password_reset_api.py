"""The REST side of password resets (issue #13): 202 whatever the address, the link in the
written e-mail (no SMTP here) sets the password once; 400 / 422 / 429 otherwise. SQLite and
PostgreSQL."""

from __future__ import annotations

import email
import re
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from arbibase_chat.config import get_settings
from arbibase_chat.services import password_resets
from tests import factories
from tests.factories import PASSWORD

NEW = "a new long password"


@pytest.fixture
def mail_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SMTP_HOST", "")
    monkeypatch.setenv("MAIL_DIR", str(tmp_path / "mail"))
    get_settings.cache_clear()
    yield tmp_path / "mail"
    get_settings.cache_clear()


def _token(mail_dir: Path, address: str) -> str:
    found = []
    for path in mail_dir.glob("*.eml"):
        mail = email.message_from_bytes(path.read_bytes(), policy=default)
        assert isinstance(mail, EmailMessage)
        if mail["To"].addresses[0].addr_spec == address:
            body = mail.get_body(preferencelist=("plain",))
            assert body is not None
            found += re.findall(r"/reset\?token=([0-9a-f]{64})", str(body.get_content()))
    assert len(found) == 1, found
    return found[0]


def test_request_then_confirm_then_log_in(client, db, mail_dir: Path) -> None:
    user = factories.user(db)
    res = client.post("/api/auth/password-reset", json={"email": user.email})
    assert res.status_code == 202
    assert res.json() == {"message": password_resets.SENT}
    token = _token(mail_dir, user.email)

    short = client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "short"}
    )
    assert short.status_code == 422 and short.json()["field"] == "password"
    ok = client.post("/api/auth/password-reset/confirm", json={"token": token, "password": NEW})
    assert ok.status_code == 200 and set(ok.json()) == {"message"}
    again = client.post("/api/auth/password-reset/confirm", json={"token": token, "password": NEW})
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_reset_token" and again.json()["field"] == "token"

    old = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert old.status_code == 401
    new = client.post("/api/auth/login", json={"email": user.email, "password": NEW})
    assert new.status_code == 200


def test_an_unknown_address_gets_the_same_answer(client, db, mail_dir: Path) -> None:
    res = client.post("/api/auth/password-reset", json={"email": "nobody@example.com"})
    assert res.status_code == 202 and res.json() == {"message": password_resets.SENT}
    assert not mail_dir.exists() or list(mail_dir.glob("*.eml")) == []


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"email": "not an address"}, 422, "email"),
        ({}, 422, "email"),
        ({"email": ["a@b.c"]}, 422, "email"),
        ({"email": "a@b.c", "extra": 1}, 422, "extra"),
    ],
)
def test_a_bad_request_is_422(client, body, status, field) -> None:
    res = client.post("/api/auth/password-reset", json=body)
    assert res.status_code == status and res.json()["field"] == field, res.json()


def test_requests_for_one_address_are_limited(client, db, mail_dir: Path) -> None:
    user = factories.user(db)
    burst = get_settings().password_reset_account_burst
    for _ in range(burst):
        assert (
            client.post("/api/auth/password-reset", json={"email": user.email}).status_code == 202
        )
    res = client.post("/api/auth/password-reset", json={"email": user.email})
    assert res.status_code == 429 and int(res.headers["Retry-After"]) >= 1
    assert res.json()["code"] == "rate_limited"
