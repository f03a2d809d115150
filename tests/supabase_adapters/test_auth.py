"""Supabase Auth in the REST API: access tokens signed HS256 (the project's secret) and
ES256/RS256 (its JWKS) accepted, everything else refused with 401; the local row made on first
sight; sign-in and sign-up through supabase-py against the stand-in."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from arbibase_chat.models import User
from arbibase_chat.services import accounts, identity, tokens
from tests import factories
from tests.supabase_adapters.conftest import person
from tests.supabase_adapters.standin import SupabaseStandIn

UNAUTHORIZED = {"error": "Unauthorized"}
CLIENT = "203.0.113.7"  # the caller's address (sign-in limits)


def _me(api: TestClient, token: str):
    return api.get("/api/me", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("signing", ["HS256", "ES256", "RS256"])
def test_supabase_tokens_are_accepted(api: TestClient, standin: SupabaseStandIn, signing: str):
    user = standin.create_user(
        "ada@example.com", user_metadata={"display_name": "Ada L.", "role": "owner"}
    )
    token = standin.access_token(user, signing)
    assert jwt.get_unverified_header(token)["alg"] == signing
    res = _me(api, token)
    assert res.status_code == 200, res.text
    assert res.json() == {
        "id": user.id,
        "email": "ada@example.com",
        "display_name": "Ada L.",
        "role": "owner",
        "tier": "beta",
        "verified": False,
        "is_staff": False,
    }
    # The same cookie the app's pages use works too (same-origin).
    api.cookies.set("arbibase_access_token", token)
    try:
        res = api.get("/api/me", headers={"Origin": "http://testserver"})
    finally:
        api.cookies.clear()
    assert res.status_code == 200 and res.json()["id"] == user.id


def test_the_jwks_is_fetched_once_and_cached(api: TestClient, standin: SupabaseStandIn):
    user = standin.create_user("cache@example.com")
    for signing in ("ES256", "RS256", "ES256", "RS256"):
        assert _me(api, standin.access_token(user, signing)).status_code == 200
    assert len(standin.seen("GET", "/auth/v1/.well-known/jwks.json")) == 1


def _forged_es256(standin: SupabaseStandIn, claims: dict) -> str:
    other = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims, other, algorithm="ES256", headers={"kid": standin.ec_kid})


def test_bad_tokens_get_401(api: TestClient, standin: SupabaseStandIn, db: Engine):
    user = standin.create_user("eve@example.com")
    now = int(time.time())
    claims = standin.claims(user)
    bad = {
        "expired HS256": standin.access_token(user, "HS256", exp=now - 5, iat=now - 3605),
        "expired ES256": standin.access_token(user, "ES256", exp=now - 5, iat=now - 3605),
        "wrong aud": standin.access_token(user, "ES256", aud="anon"),
        "wrong aud HS256": standin.access_token(user, "HS256", aud="service"),
        "no aud": standin.sign({k: v for k, v in claims.items() if k != "aud"}, "HS256"),
        "no exp": standin.sign({k: v for k, v in claims.items() if k != "exp"}, "ES256"),
        "wrong role": standin.access_token(user, "ES256", role="service_role"),
        "wrong secret": jwt.encode(claims, "not-the-project-secret-0123456789", algorithm="HS256"),
        "forged ES256 signature": _forged_es256(standin, claims),
        "unknown kid": jwt.encode(
            claims, standin.ec_key, algorithm="ES256", headers={"kid": "rotated-away"}
        ),
        "alg none": jwt.encode(claims, "", algorithm="none"),
        "HS384": jwt.encode(claims, standin.jwt_secret, algorithm="HS384"),
        "anon key": standin.anon_key,
        "service role key": standin.service_role_key,
        "not a uuid sub": standin.access_token(user, "HS256", sub="eve"),
        "local token": tokens.issue_access_token(user_id=factories.user(db).id),
        "garbage": "abc.def.ghi",
    }
    for what, token in bad.items():
        res = _me(api, token)
        assert res.status_code == 401, what
        assert res.json() == UNAUTHORIZED, what
    with Session(db) as session:
        found = session.scalar(select(col(User.id)).where(col(User.email) == "eve@example.com"))
        assert found is None


def test_hs256_needs_the_jwt_secret(
    api: TestClient, standin: SupabaseStandIn, monkeypatch: pytest.MonkeyPatch
):
    from arbibase_chat.config import get_settings

    monkeypatch.delenv("SUPABASE_JWT_SECRET")
    get_settings.cache_clear()
    user = standin.create_user("jwks-only@example.com")
    assert _me(api, standin.access_token(user, "HS256")).status_code == 401
    assert _me(api, standin.access_token(user, "ES256")).status_code == 200


def test_a_custom_jwks_url(api: TestClient, standin: SupabaseStandIn, monkeypatch):
    from arbibase_chat.config import get_settings

    monkeypatch.setenv("SUPABASE_JWKS_URL", f"{standin.url}/auth/v1/.well-known/jwks.json")
    monkeypatch.setenv("SUPABASE_URL", "http://127.0.0.1:9")  # nothing listens there
    get_settings.cache_clear()
    user = standin.create_user("custom@example.com")
    assert _me(api, standin.access_token(user, "RS256")).status_code == 200


def test_first_sight_creates_then_refreshes_the_local_row(
    api: TestClient, standin: SupabaseStandIn, db: Engine
):
    user = standin.create_user(
        "Olivia@Example.com",
        user_metadata={"full_name": "Olivia Owner", "role": "owner"},
    )
    assert _me(api, standin.access_token(user)).json()["verified"] is False
    with Session(db) as session:
        row = session.get(User, uuid.UUID(user.id))
        assert row is not None
        assert (row.email, row.display_name, row.role, row.tier) == (
            "olivia@example.com",
            "Olivia Owner",
            "owner",
            "beta",
        )
        # No password signs in locally as this user.
        assert row.password_hash == identity.EXTERNAL_PASSWORD_HASH
    with pytest.raises(Exception, match="Wrong e-mail or password"):
        accounts.authenticate(email="olivia@example.com", password="anything at all", db=db)

    # Staff verified her (app_metadata, service role only); she renamed herself; a user cannot
    # change role by editing user_metadata; the tier comes from app_metadata.
    user.app_metadata = {"verified": True, "tier": "pro"}
    user.user_metadata = {"display_name": "Olivia O.", "role": "operator"}
    me = _me(api, standin.access_token(user)).json()
    assert me == {
        "id": user.id,
        "email": "olivia@example.com",
        "display_name": "Olivia O.",
        "role": "owner",
        "tier": "pro",
        "verified": True,
        "is_staff": False,
    }
    # user_metadata.verified is the user's own claim and never counts.
    user.app_metadata = {}
    user.user_metadata = {"display_name": "Olivia O.", "verified": True}
    assert _me(api, standin.access_token(user)).json()["verified"] is False


def test_a_role_set_in_app_metadata_wins_over_the_users_own_claim(
    api: TestClient, standin: SupabaseStandIn
):
    # The Supabase policies only let app_metadata.role = "operator" open threads; the local
    # row must not make an operator of someone the project calls an owner.
    user = standin.create_user(
        "hook@example.com",
        user_metadata={"role": "operator"},
        app_metadata={"role": "owner"},
    )
    assert _me(api, standin.access_token(user)).json()["role"] == "owner"


def test_first_sight_with_an_email_of_a_local_account_is_refused(
    api: TestClient, standin: SupabaseStandIn, db: Engine
):
    local = factories.user(db, "owner")
    user = standin.create_user(local.email)
    assert _me(api, standin.access_token(user)).status_code == 401
    with Session(db) as session:
        assert session.get(User, uuid.UUID(user.id)) is None


def test_login_and_signup_routes_go_through_supabase(
    api: TestClient, standin: SupabaseStandIn, db: Engine
):
    res = api.post(
        "/api/auth/signup",
        json={
            "email": "New@Example.com",
            "password": "a long password",
            "role": "owner",
            "display_name": "Nina",
        },
    )
    assert res.status_code == 201, res.text
    created = res.json()
    auth_user = standin.users["new@example.com"]
    assert created["id"] == auth_user.id
    assert auth_user.user_metadata == {"display_name": "Nina", "role": "owner"}
    assert created["role"] == "owner" and created["verified"] is False

    again = api.post(
        "/api/auth/signup",
        json={"email": "new@example.com", "password": "a long password", "display_name": "N"},
    )
    assert again.status_code == 409 and again.json()["field"] == "email"

    res = api.post(
        "/api/auth/login", json={"email": "new@example.com", "password": "a long password"}
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["user"]["id"] == auth_user.id
    # The token is Supabase's (issued by the stand-in's GoTrue), and the API takes it.
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["iss"] == standin.issuer and claims["sub"] == auth_user.id
    assert _me(api, body["access_token"]).json()["email"] == "new@example.com"

    wrong = api.post(
        "/api/auth/login", json={"email": "new@example.com", "password": "not the password"}
    )
    assert wrong.status_code == 401 and wrong.json() == UNAUTHORIZED
    unknown = api.post("/api/auth/login", json={"email": "nobody@example.com", "password": "x"})
    assert unknown.status_code == 401
    # Nothing was asked of Supabase for an address that cannot be one.
    before = len(standin.seen("POST", "/auth/v1/token"))
    assert api.post("/api/auth/login", json={"email": "nope", "password": "x"}).status_code == 401
    assert len(standin.seen("POST", "/auth/v1/token")) == before


def test_sign_in_service_errors(standin: SupabaseStandIn, db: Engine, supabase_mode: None):
    """What the login page shows (it calls these services)."""
    from arbibase_chat.services.errors import AuthenticationFailed, Invalid

    standin.create_user("pending@example.com", "pending password", confirmed=False)
    with pytest.raises(AuthenticationFailed, match="Confirm your e-mail"):
        identity.password_sign_in(
            email="pending@example.com", password="pending password", client=CLIENT, db=db
        )
    with pytest.raises(AuthenticationFailed, match="Wrong e-mail or password"):
        identity.password_sign_in(email="pending@example.com", password="bad", client=CLIENT, db=db)
    # The app's own password rule applies before Supabase is asked.
    with pytest.raises(Invalid) as short:
        identity.password_sign_up(
            email="s@example.com",
            password="short",
            display_name="S",
            role="operator",
            client=CLIENT,
            db=db,
        )
    assert short.value.field == "password"
    assert standin.seen("POST", "/auth/v1/signup") == []

    # A project that confirms e-mail addresses: an account, no session yet.
    standin.autoconfirm = False
    signed_up = identity.password_sign_up(
        email="confirm@example.com",
        password="a long password",
        display_name="Cora",
        role="operator",
        client=CLIENT,
        db=db,
    )
    assert signed_up.signed_in is None and signed_up.user.display_name == "Cora"
    cora = standin.users["confirm@example.com"]
    assert str(signed_up.user.id) == cora.id
    with Session(db) as session:  # the row comes with the first sign-in, not before
        assert session.get(User, uuid.UUID(cora.id)) is None
    with pytest.raises(AuthenticationFailed, match="Confirm your e-mail"):
        identity.password_sign_in(
            email="confirm@example.com", password="a long password", client=CLIENT, db=db
        )

    # Someone signs up again with Cora's address: GoTrue answers with a decoy user under a
    # random id, which must not claim her e-mail address in the app.
    decoy = identity.password_sign_up(
        email="confirm@example.com",
        password="another long password",
        display_name="Mallory",
        role="owner",
        client=CLIENT,
        db=db,
    )
    assert decoy.signed_in is None and str(decoy.user.id) != cora.id
    cora.confirmed = True  # she follows the link in her e-mail
    signed = identity.password_sign_in(
        email="confirm@example.com", password="a long password", client=CLIENT, db=db
    )
    assert str(signed.user.id) == cora.id and signed.user.display_name == "Cora"


def test_auth_outage_is_503_not_500(api: TestClient, standin: SupabaseStandIn, db: Engine):
    user = standin.create_user("out@example.com", "out password 1")
    token = standin.access_token(user, "ES256")
    standin.outage = True  # connections dropped: Supabase unreachable
    res = api.post("/api/auth/login", json={"email": "out@example.com", "password": "x"})
    assert res.status_code == 503 and res.json()["code"] == "unavailable"
    # JWKS unreachable and never fetched: cannot verify, so no access (503, not a 200).
    res = _me(api, token)
    assert res.status_code == 503


def test_people_helper_makes_rows(standin: SupabaseStandIn, db: Engine, supabase_mode: None):
    owner = person(standin, db, "owner", verified=True)
    assert owner.user.role == "owner" and owner.user.verified is True
    assert str(owner.user.id) == owner.auth.id
