"""Upload and download over HTTP: limits, refused disguises, strangers, and the headers that
keep a stored file from ever acting as a page of ours."""

from __future__ import annotations

import io
import uuid
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from arbibase_chat.api import create_api
from arbibase_chat.api.app import MULTIPART_OVERHEAD
from arbibase_chat.config import get_settings
from tests import files
from tests.api.conftest import World

NAME = "Lease \u2013 final.pdf"  # a non-ASCII name: kept for display, RFC 5987 in headers


def _upload(
    client, world: World, name: str, data: bytes, actor=None, mime="application/octet-stream"
):
    return client.post(
        f"/api/messages/{world.thread_id}/attachments",
        files={"file": (name, data, mime)},
        headers=(actor or world.operator).auth,
    )


def _stored(world: World) -> list[str]:
    folder = get_settings().attachments_dir / world.thread_id
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_upload_then_send_then_download(client, world: World):
    res = _upload(client, world, NAME, files.pdf(), mime="text/html")
    assert res.status_code == 201
    att = res.json()
    assert set(att) == {
        "id", "thread_id", "uploader_id", "filename", "content_type", "size_bytes",
        "is_image", "has_thumbnail", "url", "thumbnail_url", "created_at",
    }  # fmt: skip
    # The type comes from the content, not from what the client claimed (text/html).
    assert att["content_type"] == "application/pdf" and att["filename"] == NAME
    assert att["url"] == f"/api/attachments/{att['id']}" and att["thumbnail_url"] is None

    sent = client.post(
        f"/api/messages/{world.thread_id}",
        json={"text": "Signed copy", "attachmentId": att["id"]},
        headers=world.operator.auth,
    )
    assert sent.status_code == 200
    rows = client.get(f"/api/messages/{world.thread_id}", headers=world.owner.auth).json()["data"]
    assert rows[-1]["attachment_url"] == att["url"]
    again = client.post(
        f"/api/messages/{world.thread_id}",
        json={"text": "again", "attachmentId": att["id"]},
        headers=world.operator.auth,
    )
    assert again.status_code == 422 and again.json()["field"] == "attachmentId"

    res = client.get(att["url"], headers=world.owner.auth)
    assert res.status_code == 200 and res.content == files.pdf()
    assert res.headers["content-type"] == "application/pdf"
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert res.headers["cache-control"] == "private"
    disposition = res.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(NAME, safe='')}" in disposition
    assert 'filename="Lease _ final.pdf"' in disposition


def test_images_are_inline_with_a_thumbnail(client, world: World):
    att = _upload(client, world, "front.jpg", files.image("JPEG", (1600, 1200))).json()
    assert att["is_image"] and att["has_thumbnail"]
    original = client.get(att["url"], headers=world.owner.auth)
    assert original.headers["content-type"] == "image/jpeg"
    assert original.headers["content-disposition"].startswith("inline;")
    thumb = client.get(att["thumbnail_url"], headers=world.owner.auth)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    assert "front.webp" in thumb.headers["content-disposition"]
    assert thumb.headers["content-security-policy"] == "default-src 'none'; sandbox"
    with Image.open(io.BytesIO(thumb.content)) as img:
        assert img.size == (480, 360)
    pdf = _upload(client, world, "a.pdf", files.pdf()).json()
    res = client.get(f"{pdf['url']}?variant=thumbnail", headers=world.owner.auth)
    assert res.status_code == 404
    res = client.get(f"{pdf['url']}?variant=raw", headers=world.owner.auth)
    assert res.status_code == 422 and res.json()["field"] == "variant"


def test_text_is_served_as_plain_text_never_as_a_page(client, world: World):
    # Valid UTF-8 named .txt is accepted, markup and all; it can only ever be plain text.
    att = _upload(client, world, "notes.txt", files.HTML).json()
    res = client.get(att["url"], headers=world.owner.auth)
    assert res.headers["content-type"] == "text/plain; charset=utf-8"
    assert res.headers["content-disposition"].startswith("attachment;")
    assert res.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("lease.pdf", files.HTML, "HTML/XML markup"),
        ("logo.png", files.SVG, "HTML/XML markup"),
        ("photo.png", files.truncated_png(), "could not be decoded"),
        ("bomb.png", files.png_header_only(100_000, 100_000), "too many pixels"),
        ("archive.zip", files.zip_archive(), "ZIP files are not allowed"),
    ],
)
def test_disguised_or_broken_files_are_refused(client, world: World, name, data, reason):
    res = _upload(client, world, name, data, mime="application/pdf")
    assert res.status_code == 422, res.json()
    assert res.json()["field"] == "file" and reason in res.json()["error"]
    assert _stored(world) == []


def test_size_limit(db, world: World, fresh_limits, monkeypatch):
    limit = 50_000
    monkeypatch.setattr(get_settings(), "max_attachment_bytes", limit)
    with TestClient(create_api(engine=db)) as client:
        ok = _upload(client, world, "exact.txt", b"a" * limit)
        assert ok.status_code == 201 and ok.json()["size_bytes"] == limit
        # Just over: the service counts the bytes.
        over = _upload(client, world, "over.txt", b"a" * (limit + 1))
        assert over.status_code == 413 and over.json()["field"] == "file"
        assert f"{limit} bytes" in over.json()["error"]
        # Far over: refused at the door, before multipart parsing.
        far = _upload(client, world, "far.txt", b"a" * (limit + MULTIPART_OVERHEAD + 1))
        assert far.status_code == 413 and far.json()["code"] == "too_large"

        def endless():  # no Content-Length: counted while it streams in
            yield b'--xx\r\nContent-Disposition: form-data; name="file"; filename="s.txt"\r\n\r\n'
            for _ in range(40):
                yield b"s" * 10_000

        streamed = client.post(
            f"/api/messages/{world.thread_id}/attachments",
            content=endless(),
            headers={**world.operator.auth, "Content-Type": "multipart/form-data; boundary=xx"},
        )
        assert streamed.status_code == 413
    assert _stored(world) == [ok.json()["id"]]
    incoming = get_settings().attachments_dir / ".incoming"
    assert not incoming.exists() or list(incoming.iterdir()) == []


def test_malformed_uploads_name_the_file_field(client, world: World):
    path = f"/api/messages/{world.thread_id}/attachments"
    for kwargs in (
        {"json": {"file": "x"}},
        {"data": {"file": "not a file"}},
        {"files": {"other": ("a.txt", b"hi", "text/plain")}},
        {
            "files": [
                ("file", ("a.txt", b"a", "text/plain")),
                ("file", ("b.txt", b"b", "text/plain")),
            ]
        },
    ):
        res = client.post(path, headers=world.operator.auth, **kwargs)
        assert res.status_code == 422 and res.json()["field"] == "file", (kwargs, res.json())
    res = _upload(client, world, "empty.txt", b"")
    assert res.status_code == 422 and "empty" in res.json()["error"]


def test_a_third_user_gets_404_like_a_missing_id(client, world: World):
    att = _upload(client, world, "photo.png", files.image("PNG")).json()
    for stranger in (world.stranger, world.stranger_owner):
        for url in (att["url"], att["thumbnail_url"]):
            res = client.get(url, headers=stranger.auth)
            missing = client.get(url.replace(att["id"], str(uuid.uuid4())), headers=stranger.auth)
            assert res.status_code == missing.status_code == 404
            assert (
                res.json()
                == missing.json()
                == {"error": "Attachment not found", "code": "not_found"}
            )
        res = _upload(client, world, "x.txt", b"x", actor=stranger)
        assert res.status_code == 404 and res.json()["error"] == "Thread not found"
    assert client.get(att["url"]).json() == {"error": "Unauthorized"}
    bad = client.get("/api/attachments/not-a-uuid", headers=world.owner.auth)
    assert bad.status_code == 422 and bad.json()["field"] == "attachmentId"
