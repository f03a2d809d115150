import time
import uuid

import jwt
import pytest
from argon2 import PasswordHasher

from arbibase_chat.config import get_settings
from arbibase_chat.services import accounts, identity, tokens
from arbibase_chat.services.errors import AuthenticationFailed, Conflict, Invalid, NotFound
from tests import factories


def test_sign_up_normalizes_email_and_hides_hash(db):
    user = accounts.sign_up(
        email="  Alice@Example.COM ", password="long enough pw", display_name=" Alice  Ops ", db=db
    )
    assert user.email == "alice@example.com"
    assert user.display_name == "Alice Ops"
    assert user.role == "operator" and user.tier == "beta" and user.verified
    assert "password_hash" not in user.model_dump()


def test_owner_starts_unverified(db):
    owner = accounts.sign_up(
        email="o@example.com", password="long enough pw", display_name="O", role="owner", db=db
    )
    assert owner.verified is False


def test_duplicate_email_is_a_conflict_whatever_the_case(db):
    accounts.sign_up(email="bob@example.com", password="long enough pw", display_name="B", db=db)
    with pytest.raises(Conflict) as err:
        accounts.sign_up(
            email="BOB@example.com", password="long enough pw", display_name="B", db=db
        )
    assert err.value.field == "email"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"password": "short"}, "password"),
        ({"password": " " * 12}, "password"),
        ({"password": "x" * 300}, "password"),
        ({"password": "nul\x00password!"}, "password"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "x" * 81}, "display_name"),
        ({"role": "admin"}, "role"),
        ({"email": 42}, "email"),
        ({"email": "a\ud800@example.com"}, "email"),
        ({"password": "long enough \udfff"}, "password"),
        ({"display_name": "C \ud83d"}, "display_name"),
    ],
)
def test_sign_up_rejects_bad_input(db, fields, field):
    base = {"email": "c@example.com", "password": "long enough pw", "display_name": "C"}
    with pytest.raises(Invalid) as err:
        accounts.sign_up(**(base | fields), db=db)
    assert err.value.field == field


def test_authenticate(db):
    accounts.sign_up(email="d@example.com", password="long enough pw", display_name="D", db=db)
    assert accounts.authenticate(email=" D@EXAMPLE.com", password="long enough pw", db=db).email
    for email, password in [
        ("d@example.com", "wrong password!"),
        ("nobody@example.com", "long enough pw"),
        ("garbage", "x"),
        ("d@example.com", None),
    ]:
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(email=email, password=password, db=db)


def test_get_user(db):
    user = factories.user(db)
    assert accounts.get_user(user_id=user.id, db=db) == user
    with pytest.raises(NotFound):
        accounts.get_user(user_id=uuid.uuid4(), db=db)


def test_production_hasher_is_argon2id_with_library_defaults():
    # conftest swaps in a cheap hasher for speed; the real one must keep strong defaults.
    from argon2 import Type

    defaults = PasswordHasher()
    assert accounts._DUMMY_HASH.startswith("$argon2id$")
    assert f"m={defaults.memory_cost},t={defaults.time_cost}" in accounts._DUMMY_HASH
    assert defaults.type is Type.ID


def test_access_token_is_shaped_like_supabase():
    user_id = uuid.uuid4()
    token = tokens.issue_access_token(user_id=user_id, email="e@example.com")
    claims = jwt.decode(
        token, get_settings().signing_secret(), algorithms=["HS256"], audience="authenticated"
    )
    assert claims["sub"] == str(user_id)
    assert claims["role"] == "authenticated"
    assert claims["exp"] > time.time()
    assert tokens.verify_token(token=token).user_id == user_id


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not.a.jwt",
        jwt.encode({"sub": str(uuid.uuid4()), "aud": "authenticated", "exp": 1}, "x" * 32),
        "x" * 5000,
    ],
)
def test_bad_tokens_are_refused(token):
    with pytest.raises(AuthenticationFailed):
        tokens.verify_token(token=token)


def test_expired_or_foreign_tokens_are_refused():
    secret = get_settings().signing_secret()
    base = {"sub": str(uuid.uuid4()), "aud": "authenticated", "role": "authenticated"}
    expired = jwt.encode(base | {"exp": int(time.time()) - 10}, secret)
    anon = jwt.encode(base | {"role": "anon", "exp": int(time.time()) + 60}, secret)
    other_secret = jwt.encode(base | {"exp": int(time.time()) + 60}, "another-secret-" * 3)
    none_alg = jwt.encode(base | {"exp": int(time.time()) + 60}, "", algorithm="none")
    for token in (expired, anon, other_secret, none_alg):
        with pytest.raises(AuthenticationFailed):
            tokens.verify_token(token=token)


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("e\ud800@example.com", "long enough pw", "email"),
        ("e@example.com", "long enough \ud800", "password"),
    ],
)
def test_sign_in_with_a_lone_surrogate_is_invalid_input_not_a_crash(db, email, password, field):
    """argon2 cannot encode such a password: a clear Invalid naming the field (the UI's toast,
    the API's 422), not a UnicodeEncodeError, in either sign-in path."""
    accounts.sign_up(email="e@example.com", password="long enough pw", display_name="E", db=db)
    with pytest.raises(Invalid) as err:
        accounts.authenticate(email=email, password=password, db=db)
    assert err.value.field == field
    with pytest.raises(Invalid) as err:
        identity.password_sign_in(email=email, password=password, client="192.0.2.1", db=db)
    assert err.value.field == field
