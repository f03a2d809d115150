"""The stand-in answers supabase-py 2.34.1 itself: the real client parses every reply, and the
requests it sent are the ones the real Supabase expects (paths, query, API key, JSON)."""

from __future__ import annotations

import json

import httpx
import pytest
from supabase_auth.errors import AuthApiError, AuthWeakPasswordError

from supabase import ClientOptions, create_client
from tests.supabase_adapters.standin import BUCKET, SupabaseStandIn


def _client(standin: SupabaseStandIn, key: str):
    return create_client(
        standin.url, key, options=ClientOptions(auto_refresh_token=False, persist_session=False)
    )


def test_gotrue_sign_up_sign_in_get_user(standin: SupabaseStandIn):
    client = _client(standin, standin.anon_key)
    signed_up = client.auth.sign_up(
        {
            "email": "Ada@Example.com",
            "password": "long enough password",
            "options": {"data": {"display_name": "Ada", "role": "owner"}},
        }
    )
    assert signed_up.session is not None and signed_up.user is not None
    assert signed_up.user.user_metadata["display_name"] == "Ada"
    request = standin.seen("POST", "/auth/v1/signup")[-1]
    assert request.headers["apikey"] == standin.anon_key
    assert request.headers["x-supabase-api-version"] == "2024-01-01"
    sent = json.loads(request.body)
    assert sent["email"] == "Ada@Example.com" and sent["data"]["role"] == "owner"

    fresh = _client(standin, standin.anon_key)
    session = fresh.auth.sign_in_with_password(
        {"email": "ada@example.com", "password": "long enough password"}
    ).session
    assert session is not None and session.token_type == "bearer"
    token_request = standin.seen("POST", "/auth/v1/token")[-1]
    assert token_request.query == {"grant_type": ["password"]}
    user = fresh.auth.get_user(session.access_token)
    assert user is not None and user.user.email == "ada@example.com"
    assert standin.seen("GET", "/auth/v1/user")[-1].headers["authorization"] == (
        f"Bearer {session.access_token}"
    )


def test_gotrue_errors_parse_as_supabase_errors(standin: SupabaseStandIn):
    standin.create_user("bob@example.com", "right password 1")
    client = _client(standin, standin.anon_key)
    with pytest.raises(AuthApiError) as wrong:
        client.auth.sign_in_with_password({"email": "bob@example.com", "password": "nope"})
    assert wrong.value.code == "invalid_credentials" and wrong.value.status == 400
    with pytest.raises(AuthApiError) as taken:
        client.auth.sign_up({"email": "bob@example.com", "password": "whatever 123"})
    assert taken.value.code == "user_already_exists" and taken.value.status == 422
    with pytest.raises(AuthWeakPasswordError) as weak:
        client.auth.sign_up({"email": "new@example.com", "password": "123"})
    assert weak.value.reasons == ["length"]
    # The API gateway wants a key.
    res = httpx.post(f"{standin.url}/auth/v1/token?grant_type=password", json={})
    assert res.status_code == 401


def test_storage_upload_sign_download_remove(standin: SupabaseStandIn, tmp_path):
    files = _client(standin, standin.service_role_key).storage.from_(BUCKET)
    source = tmp_path / "lease.pdf"
    source.write_bytes(b"%PDF-1.4 stand-in")
    done = files.upload("t1/a1", source, {"content-type": "application/pdf", "upsert": "false"})
    assert done.full_path == f"{BUCKET}/t1/a1"
    upload = standin.seen("POST", f"/storage/v1/object/{BUCKET}/")[-1]
    assert upload.headers["authorization"] == f"Bearer {standin.service_role_key}"
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert standin.objects()["t1/a1"].content_type == "application/pdf"

    signed = files.create_signed_url("t1/a1", 30, {"download": "Lease.pdf"})
    url = signed["signedURL"]
    assert url.startswith(f"{standin.url}/storage/v1/object/sign/{BUCKET}/t1/a1?token=")
    got = httpx.get(url)
    assert got.status_code == 200 and got.content == b"%PDF-1.4 stand-in"
    assert got.headers["content-disposition"] == "attachment; filename=Lease.pdf"
    # A signed URL is for its object only.
    other = url.replace("/t1/a1?", "/t1/other?")
    assert httpx.get(other).status_code == 400

    from storage3.exceptions import StorageApiError

    with pytest.raises(StorageApiError) as dup:
        files.upload("t1/a1", source, {"content-type": "application/pdf"})
    assert str(dup.value.status) == "409"
    anon = _client(standin, standin.anon_key).storage.from_(BUCKET)
    with pytest.raises(StorageApiError):
        anon.upload("t1/a2", source, {"content-type": "application/pdf"})
    assert files.remove(["t1/a1"]) == [{"name": "t1/a1", "bucket_id": BUCKET}]
    assert standin.objects() == {}
