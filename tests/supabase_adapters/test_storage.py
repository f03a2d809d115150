"""Attachments in Supabase Storage (the stand-in's storage-api): the same checks as local
mode before a byte leaves the server, objects at `<thread_id>/<attachment id>` written with the
service-role key, and downloads as short-lived signed URLs for participants only."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from arbibase_chat.adapters.storage import LocalDiskStorage, SignedUrl, get_storage
from arbibase_chat.config import get_settings
from tests import files
from tests.supabase_adapters.conftest import Negotiation
from tests.supabase_adapters.standin import BUCKET, SupabaseStandIn


def _upload(api: TestClient, n: Negotiation, name: str, data: bytes, who=None):
    return api.post(
        f"/api/messages/{n.thread_id}/attachments",
        files={"file": (name, data, "application/octet-stream")},
        headers=(who or n.operator).headers,
    )


def _local_files(thread_id: str) -> list[str]:
    root = get_settings().attachments_dir
    found = [p.name for p in (root / thread_id).glob("*")] if (root / thread_id).exists() else []
    return found + [p.name for p in (root / ".incoming").glob("*")]


def test_upload_goes_to_the_bucket_and_participants_get_a_signed_url(
    api: TestClient, negotiation: Negotiation, standin: SupabaseStandIn
):
    n = negotiation
    res = _upload(api, n, "Lease.pdf", files.pdf())
    assert res.status_code == 201, res.text
    att = res.json()
    key = f"{n.thread_id}/{att['id']}"
    stored = standin.objects()
    assert list(stored) == [key]
    assert stored[key].data == files.pdf()
    assert stored[key].content_type == "application/pdf"  # the sniffed type
    assert stored[key].owner_role == "service_role"
    upload = standin.seen("POST", f"/storage/v1/object/{BUCKET}/")[-1]
    assert upload.path == f"/storage/v1/object/{BUCKET}/{key}"
    assert upload.headers["apikey"] == standin.service_role_key
    assert upload.headers["x-upsert"] == "false"
    # Nothing kept on local disk (the spool file is gone too).
    assert _local_files(n.thread_id) == []

    # The owner (a participant) is redirected to a short-lived signed URL...
    res = api.get(att["url"], headers=n.owner.headers, follow_redirects=False)
    assert res.status_code == 302
    assert res.headers["cache-control"] == "no-store"
    location = res.headers["location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == standin.url
    assert parts.path == f"/storage/v1/object/sign/{BUCKET}/{key}"
    query = parse_qs(parts.query, keep_blank_values=True)
    assert query["download"] == ["Lease.pdf"]  # a PDF downloads, it is not shown in place
    claims = jwt.decode(query["token"][0], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60
    sign = standin.seen("POST", "/storage/v1/object/sign/")[-1]
    assert sign.headers["authorization"] == f"Bearer {standin.service_role_key}"
    # ...which serves the bytes with their type.
    got = httpx.get(location)
    assert got.status_code == 200 and got.content == files.pdf()
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment;")

    # JSON for API clients that want the URL itself.
    res = api.get(att["url"], headers={**n.operator.headers, "Accept": "application/json"})
    assert res.status_code == 200
    body = res.json()
    assert body["expires_in"] == 60 and body["url"].startswith(
        f"{standin.url}/storage/v1/object/sign/{BUCKET}/{key}?token="
    )
    assert httpx.get(body["url"]).content == files.pdf()


def test_a_stranger_gets_404_and_no_url(
    api: TestClient, negotiation: Negotiation, standin: SupabaseStandIn
):
    n = negotiation
    att = _upload(api, n, "Lease.pdf", files.pdf()).json()
    signs_before = len(standin.seen("POST", "/storage/v1/object/sign/"))
    for accept in ("*/*", "application/json"):
        res = api.get(
            att["url"], headers={**n.stranger.headers, "Accept": accept}, follow_redirects=False
        )
        assert res.status_code == 404
        assert "location" not in res.headers and standin.url not in res.text
    # ...and cannot upload into the thread either.
    res = _upload(api, n, "x.pdf", files.pdf(), who=n.stranger)
    assert res.status_code == 404
    # Storage was never asked to sign anything for them, nor given their bytes.
    assert len(standin.seen("POST", "/storage/v1/object/sign/")) == signs_before
    assert len(standin.objects()) == 1
    # Anonymous: 401.
    assert api.get(att["url"], follow_redirects=False).status_code == 401


def test_images_and_their_thumbnails(
    api: TestClient, negotiation: Negotiation, standin: SupabaseStandIn
):
    n = negotiation
    att = _upload(api, n, "front.jpg", files.image("JPEG", (1600, 1200))).json()
    key = f"{n.thread_id}/{att['id']}"
    stored = standin.objects()
    assert sorted(stored) == [key, f"{key}.thumb.webp"]
    assert stored[key].content_type == "image/jpeg"
    assert stored[f"{key}.thumb.webp"].content_type == "image/webp"

    res = api.get(att["thumbnail_url"], headers=n.owner.headers, follow_redirects=False)
    assert res.status_code == 302
    location = res.headers["location"]
    assert urlsplit(location).path == f"/storage/v1/object/sign/{BUCKET}/{key}.thumb.webp"
    assert "download" not in parse_qs(urlsplit(location).query)  # images show in place
    with Image.open(io.BytesIO(httpx.get(location).content)) as img:
        assert img.size == (480, 360)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("lease.pdf", files.HTML, "HTML/XML markup"),
        ("bomb.png", files.png_header_only(100_000, 100_000), "too many pixels"),
        ("archive.zip", files.zip_archive(), "ZIP files are not allowed"),
    ],
)
def test_refused_files_never_reach_storage(
    api: TestClient, negotiation: Negotiation, standin: SupabaseStandIn, name, data, reason
):
    res = _upload(api, negotiation, name, data)
    assert res.status_code == 422 and reason in res.json()["error"]
    assert standin.seen("POST", "/storage/v1/object/") == []
    assert _local_files(negotiation.thread_id) == []


def test_the_size_limit_applies_before_storage(
    api: TestClient, negotiation: Negotiation, standin: SupabaseStandIn, monkeypatch
):
    monkeypatch.setenv("MAX_ATTACHMENT_BYTES", "1000")
    get_settings.cache_clear()
    res = _upload(api, negotiation, "big.txt", b"a" * 1001)
    assert res.status_code == 413
    assert standin.objects() == {}


def test_storage_outage_is_503_and_leaves_nothing(
    api: TestClient, negotiation: Negotiation, standin: SupabaseStandIn
):
    n = negotiation
    att = _upload(api, n, "Lease.pdf", files.pdf()).json()
    with standin.lock:
        del standin.buckets[BUCKET]  # a misconfigured project: the bucket is not there
    res = _upload(api, n, "again.pdf", files.pdf())
    assert res.status_code == 503 and res.json()["code"] == "unavailable"
    assert _local_files(n.thread_id) == []
    listed = api.get(f"/api/messages/{n.thread_id}", headers=n.operator.headers)
    assert listed.status_code == 200
    with standin.lock:
        standin.buckets[BUCKET] = {}
    standin.outage = True  # connections dropped: Supabase unreachable
    res = api.get(att["url"], headers=n.owner.headers, follow_redirects=False)
    assert res.status_code == 503
    res = _upload(api, n, "again.pdf", files.pdf())
    assert res.status_code == 503 and _local_files(n.thread_id) == []


def test_a_failed_row_write_removes_the_uploaded_objects(
    negotiation: Negotiation, standin: SupabaseStandIn, db, monkeypatch
):
    from arbibase_chat.services import attachments

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(attachments, "to_public", broken)
    with pytest.raises(RuntimeError):
        attachments.store_attachment(
            user_id=negotiation.operator.user.id,
            thread_id=negotiation.thread_id,
            filename="front.png",
            source=io.BytesIO(files.image("PNG")),
            db=db,
        )
    assert len(standin.seen("POST", "/storage/v1/object/message_attachments/")) == 2
    assert standin.objects() == {}


def test_signed_urls_expire(negotiation: Negotiation, standin: SupabaseStandIn, db, monkeypatch):
    from arbibase_chat.services import attachments

    # Long enough that a loaded machine still fetches it in time (the stand-in's `exp` is a
    # whole second, so a 1 s URL could already be dead on the first fetch).
    monkeypatch.setenv("SUPABASE_SIGNED_URL_TTL_SECONDS", "4")
    get_settings.cache_clear()
    att = attachments.store_attachment(
        user_id=negotiation.operator.user.id,
        thread_id=negotiation.thread_id,
        filename="a.pdf",
        source=io.BytesIO(files.pdf()),
        db=db,
    )
    _, where = attachments.locate_attachment(
        user_id=negotiation.owner.user.id, attachment_id=att.id, db=db
    )
    assert isinstance(where, SignedUrl) and where.expires_in == 4
    assert httpx.get(where.url).status_code == 200
    time.sleep(5.1)
    expired = httpx.get(where.url)
    assert expired.status_code == 400 and expired.json()["error"] == "InvalidJWT"


def test_local_mode_is_the_default():
    get_settings.cache_clear()
    backend = get_storage()
    assert isinstance(backend, LocalDiskStorage)
    assert backend.root == get_settings().attachments_dir
