"""Password resets (issue #13): one-time links, hashed at rest, expiring, rate-limited, and
saying nothing about whether an address has an account. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.engine import Engine
from sqlmodel import col

from arbibase_chat.config import get_settings
from arbibase_chat.db import read_session, utcnow
from arbibase_chat.models import PasswordResetToken, User
from arbibase_chat.services import accounts, password_resets, ratelimit
from arbibase_chat.services.errors import (
    AuthenticationFailed,
    Invalid,
    InvalidResetToken,
    RateLimited,
)
from tests import factories
from tests.factories import PASSWORD

CLIENT = "198.51.100.7"
NEW = "a brand new passphrase"


def _rows(db: Engine) -> list[PasswordResetToken]:
    with read_session(db) as session:
        return list(session.scalars(select(PasswordResetToken)))


def _request(db: Engine, email: str, **kw: object) -> password_resets.ResetMail:
    mail = password_resets.request_reset(email=email, client=CLIENT, db=db, **kw)  # type: ignore[arg-type]
    assert mail is not None
    return mail


def test_a_link_resets_the_password_once(db: Engine) -> None:
    user = factories.user(db)
    mail = _request(db, user.email.upper())  # any case: the address is normalized
    assert mail.email == user.email and mail.display_name == user.display_name
    assert len(mail.token) == 64 and password_resets.TOKEN_RE.fullmatch(mail.token)
    done = password_resets.reset_password(token=mail.token, new_password=NEW, db=db)
    assert done.id == user.id
    assert accounts.authenticate(email=user.email, password=NEW, db=db).id == user.id
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(email=user.email, password=PASSWORD, db=db)
    # Used up: the same link again is refused, and the password stays the new one.
    with pytest.raises(InvalidResetToken) as refused:
        password_resets.reset_password(token=mail.token, new_password="yet another one!", db=db)
    assert refused.value.code == "invalid_reset_token"
    assert accounts.authenticate(email=user.email, password=NEW, db=db).id == user.id


def test_only_the_hash_is_stored(db: Engine) -> None:
    user = factories.user(db)
    mail = _request(db, user.email)
    (row,) = _rows(db)
    assert row.token_hash == hashlib.sha256(mail.token.encode()).hexdigest()
    assert row.user_id == user.id and row.used_at is None
    with read_session(db) as session:
        dump = " ".join(
            str(v) for r in session.execute(text("select * from password_reset_tokens")) for v in r
        )
    assert mail.token not in dump


def test_the_link_expires(db: Engine) -> None:
    user = factories.user(db)
    start = utcnow()
    mail = _request(db, user.email, now=start)
    ttl = get_settings().password_reset_ttl_seconds
    assert ttl == 3600
    assert mail.expires_at == start + timedelta(seconds=ttl)
    with pytest.raises(InvalidResetToken):
        password_resets.reset_password(
            token=mail.token, new_password=NEW, db=db, now=start + timedelta(seconds=ttl)
        )
    # Just before the end it still works.
    password_resets.reset_password(
        token=mail.token, new_password=NEW, db=db, now=start + timedelta(seconds=ttl - 1)
    )


def test_a_new_link_voids_the_earlier_ones(db: Engine) -> None:
    user = factories.user(db)
    first = _request(db, user.email)
    second = _request(db, user.email)
    assert first.token != second.token
    assert len(_rows(db)) == 1
    with pytest.raises(InvalidResetToken):
        password_resets.reset_password(token=first.token, new_password=NEW, db=db)
    password_resets.reset_password(token=second.token, new_password=NEW, db=db)


def test_links_of_other_users_are_untouched(db: Engine) -> None:
    alice, bob = factories.user(db), factories.user(db)
    a, b = _request(db, alice.email), _request(db, bob.email)
    password_resets.reset_password(token=a.token, new_password=NEW, db=db)
    password_resets.reset_password(token=b.token, new_password=NEW + "!", db=db)
    assert accounts.authenticate(email=bob.email, password=NEW + "!", db=db).id == bob.id


@pytest.mark.parametrize(
    "token",
    ["", "nope", "0" * 64, "A" * 64, "0" * 63, None, 42, ["0" * 64], "é" * 64, "0" * 64 + "\x00"],
)
def test_bad_tokens_get_one_clear_error(db: Engine, token: object) -> None:
    factories.user(db)
    with pytest.raises(InvalidResetToken) as refused:
        password_resets.reset_password(token=token, new_password=NEW, db=db)
    assert refused.value.code == "invalid_reset_token"
    assert refused.value.message == password_resets.INVALID_LINK


@pytest.mark.parametrize("password", ["short", " " * 12, None, 12345678901, "x\x00" * 6, "y" * 257])
def test_the_new_password_follows_the_sign_up_rules_and_keeps_the_link(
    db: Engine, password: object
) -> None:
    user = factories.user(db)
    mail = _request(db, user.email)
    with pytest.raises(Invalid) as refused:
        password_resets.reset_password(token=mail.token, new_password=password, db=db)
    assert refused.value.code == "invalid" and refused.value.field == "password"
    # A typo does not use the link up.
    password_resets.reset_password(token=mail.token, new_password=NEW, db=db)


def test_an_unknown_address_gets_the_same_answer_and_stores_nothing(db: Engine) -> None:
    factories.user(db)
    assert password_resets.request_reset(email="nobody@example.com", client=CLIENT, db=db) is None
    assert _rows(db) == []


def test_a_malformed_address_is_invalid(db: Engine) -> None:
    with pytest.raises(Invalid) as refused:
        password_resets.request_reset(email="not an address", client=CLIENT, db=db)
    assert refused.value.field == "email"


def test_requests_are_limited_per_address_known_or_not(db: Engine) -> None:
    user = factories.user(db)
    burst = get_settings().password_reset_account_burst
    for address in (user.email, "ghost@example.com"):
        for i in range(burst):
            password_resets.request_reset(email=address, client=f"192.0.2.{i}", db=db)
        with pytest.raises(RateLimited) as refused:
            password_resets.request_reset(email=address, client="192.0.2.200", db=db)
        assert refused.value.message.startswith("Too many attempts. Try again in ")


def test_requests_are_limited_per_client(db: Engine) -> None:
    burst = get_settings().password_reset_client_burst
    for i in range(burst):
        password_resets.request_reset(email=f"someone{i}@example.com", client=CLIENT, db=db)
    with pytest.raises(RateLimited):
        password_resets.request_reset(email="another@example.com", client=CLIENT, db=db)
    # A refused client took nothing from the address's own bucket.
    with ratelimit.use(ratelimit.Unlimited(), kind=ratelimit.RESET_CLIENT):
        for _ in range(get_settings().password_reset_account_burst):
            password_resets.request_reset(email="another@example.com", client=CLIENT, db=db)


def test_deleting_the_user_deletes_their_links(db: Engine) -> None:
    user = factories.user(db)
    mail = _request(db, user.email)
    with db.begin() as conn:
        conn.execute(delete(User).where(col(User.id) == user.id))
    assert _rows(db) == []
    with pytest.raises(InvalidResetToken):
        password_resets.reset_password(token=mail.token, new_password=NEW, db=db)


def _token_issued(user_id: object, at: int) -> str:
    """An access token of the app's own, as if issued at Unix time `at`."""
    import jwt

    from arbibase_chat.adapters.auth import AUDIENCE, ISSUER

    claims = {
        "sub": str(user_id),
        "role": "authenticated",
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": at,
        "exp": at + 3600,
    }
    return jwt.encode(claims, get_settings().signing_secret(), algorithm="HS256")


def test_a_reset_ends_the_sessions_of_the_old_password(db: Engine) -> None:
    import time

    from arbibase_chat.services import identity

    user, other = factories.user(db), factories.user(db)
    now = int(time.time())
    before = _token_issued(user.id, now - 5)
    bystander = _token_issued(other.id, now - 5)
    assert identity.resolve_session(token=before, db=db).user.id == user.id
    password_resets.reset_password(token=_request(db, user.email).token, new_password=NEW, db=db)
    with pytest.raises(AuthenticationFailed) as ended:
        identity.resolve_session(token=before, db=db)
    assert ended.value.message == identity.PASSWORD_CHANGED
    # A sign-in with the new password (same second or later) works; other users are untouched.
    signed_in = identity.password_sign_in(email=user.email, password=NEW, client=CLIENT, db=db)
    assert identity.resolve_session(token=signed_in.access_token, db=db).user.id == user.id
    later = _token_issued(user.id, int(time.time()))
    assert identity.resolve_session(token=later, db=db).user.id == user.id
    assert identity.resolve_session(token=bystander, db=db).user.id == other.id
