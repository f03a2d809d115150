"""Attachments: type from content, size limit, thumbnails, generated paths, participants only,
and a message carrying an upload. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import Session

from arbibase_chat.config import get_settings
from arbibase_chat.models import MessagingAttachment
from arbibase_chat.services import attachments, incoming, messages
from arbibase_chat.services.errors import Invalid, NotFound, TooLarge
from tests import factories, files
from tests.factories import Pair


def _store(pair: Pair, name: object, data: bytes, user=None):
    return attachments.store_attachment(
        user_id=(user or pair.operator).id,
        thread_id=pair.thread_id,
        filename=name,
        source=io.BytesIO(data),
        db=pair.db,
    )


def _stored_files(thread_id: uuid.UUID) -> list[Path]:
    folder = get_settings().attachments_dir / str(thread_id)
    return sorted(folder.iterdir()) if folder.exists() else []


def _incoming() -> list[Path]:
    folder = get_settings().attachments_dir / attachments.INCOMING_DIR
    return list(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("lease.pdf", files.pdf(), "application/pdf"),
        ("photo.png", files.image("PNG"), "image/png"),
        ("photo.jpg", files.image("JPEG"), "image/jpeg"),
        ("anim.gif", files.image("GIF"), "image/gif"),
        ("pic.webp", files.image("WEBP"), "image/webp"),
        ("terms.doc", files.doc(), "application/msword"),
        ("terms.docx", files.docx(), incoming.DOCX),
        ("numbers.xls", files.xls(), "application/vnd.ms-excel"),
        ("numbers.xlsx", files.xlsx(), incoming.XLSX),
        ("rent.csv", "month,rent\nJan,3200\nFév,3200\n".encode(), "text/csv"),
        ("notes.txt", b"Keys are in the lockbox.\n", "text/plain"),
    ],
)
def test_allowed_types_are_recognised_by_content(db, name, data, content_type):
    pair = Pair(db)
    att = _store(pair, name, data)
    assert (att.content_type, att.filename, att.size_bytes) == (content_type, name, len(data))
    assert att.is_image == content_type.startswith("image/")
    assert att.has_thumbnail == att.is_image
    assert att.url == f"/api/attachments/{att.id}"
    assert att.thumbnail_url == (f"{att.url}?variant=thumbnail" if att.is_image else None)
    public, path = factories.open_attachment(user_id=pair.owner.id, attachment_id=att.id, db=db)
    assert public == att and path.read_bytes() == data
    # Stored under a generated name, never the client's.
    assert path == get_settings().attachments_dir / str(pair.thread_id) / str(att.id)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("lease.pdf", files.HTML, "HTML/XML markup"),
        ("notes.html", files.HTML, "HTML/XML markup"),
        ("logo.png", files.SVG, "HTML/XML markup"),
        ("bundle.zip", files.zip_archive(), "ZIP files are not allowed"),
        ("lease.pdf", b"just some words, no PDF here", "is not a real PDF"),
        ("photo.pdf", files.image("PNG"), "named like a PDF but its content is a PNG image"),
        ("data.csv", b"a,b\n1,\x002\n", "UTF-8 text without NUL"),
        ("data.txt", b"caf\xe9 latin-1", "UTF-8 text without NUL"),
        ("program", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "ELF files are not allowed"),
        ("mystery.bin", b"\x01\x02\x03 binary", "unrecognized file type"),
    ],
)
def test_refused_content_leaves_nothing_behind(db, name, data, reason):
    pair = Pair(db)
    with pytest.raises(Invalid) as err:
        _store(pair, name, data)
    assert err.value.field == "file" and reason in err.value.message
    assert _stored_files(pair.thread_id) == [] and _incoming() == []


def test_names_are_sanitized_and_only_for_display(db):
    pair = Pair(db)
    att = _store(pair, "../../etc/\u202epasswd\u200b.txt", b"x\n")
    assert att.filename == "passwd.txt"
    att = _store(pair, "C:\\Users\\me\\Lease Draft (v2).pdf", files.pdf())
    assert att.filename == "Lease Draft (v2).pdf"
    att = _store(pair, None, files.image("PNG"))
    assert att.filename == "file.png"  # named after what it really is
    att = _store(pair, "scan", files.image("JPEG"))
    assert att.filename == "scan.jpg"
    att = _store(pair, "x" * 400 + ".pdf", files.pdf())
    assert len(att.filename) == 255 and att.filename.endswith("x.pdf")
    for path in _stored_files(pair.thread_id):  # <uuid> or <uuid>.thumb.webp, nothing else
        uuid.UUID(path.name.removesuffix(".thumb.webp"))


def test_size_limit_is_counted_while_streaming(db, monkeypatch):
    pair = Pair(db)
    monkeypatch.setattr(get_settings(), "max_attachment_bytes", 100_000)
    att = _store(pair, "exact.txt", b"a" * 100_000)
    assert att.size_bytes == 100_000

    class Endless(io.RawIOBase):
        """A client that keeps sending: the service must stop reading, not the client."""

        read_bytes = 0

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            self.read_bytes += n
            return b"b" * n

    source = Endless()
    with pytest.raises(TooLarge) as err:
        attachments.store_attachment(
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            filename="big.txt",
            source=source,  # type: ignore[arg-type]
            db=db,
        )
    assert isinstance(err.value, Invalid) and err.value.field == "file"
    assert "100000 bytes" in err.value.message
    assert source.read_bytes < 100_000 + 2 * incoming.CHUNK_BYTES
    assert [p.name for p in _stored_files(pair.thread_id)] == [str(att.id)]
    assert _incoming() == []
    with pytest.raises(Invalid, match="empty"):
        _store(pair, "empty.txt", b"")


def test_images_get_a_small_thumbnail(db):
    pair = Pair(db)
    att = _store(pair, "wide.png", files.image("PNG", (2000, 1000)))
    _, path = factories.open_attachment(
        user_id=pair.owner.id, attachment_id=att.id, variant="thumbnail", db=db
    )
    with Image.open(path) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (480, 240)
    transparent = _store(pair, "t.png", files.image("PNG", (20, 30), mode="RGBA"))
    _, path = factories.open_attachment(
        user_id=pair.owner.id, attachment_id=transparent.id, variant="thumbnail", db=db
    )
    with Image.open(path) as thumb:
        assert thumb.size == (20, 30) and thumb.mode == "RGBA"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (files.truncated_png(), "could not be decoded"),
        (files.png_header_only(10_000, 6_000), "PNG images may have at most 24 megapixels"),
        (files.png_header_only(100_000, 100_000), "too many pixels"),
    ],
)
def test_images_that_do_not_decode_or_are_bombs_are_refused(db, data, reason):
    pair = Pair(db)
    with pytest.raises(Invalid) as err:
        _store(pair, "photo.png", data)
    assert err.value.field == "file" and reason in err.value.message
    assert _stored_files(pair.thread_id) == [] and _incoming() == []


def test_strangers_get_not_found_and_no_byte_is_read(db):
    pair = Pair(db)
    att = _store(pair, "lease.pdf", files.pdf())

    class Untouchable(io.BytesIO):
        def read(self, *args: object) -> bytes:
            raise AssertionError("a stranger's upload must not be read")

    strangers = [factories.user(db, "operator"), factories.user(db, "owner"), Pair(db).owner]
    for stranger in strangers:
        with pytest.raises(NotFound) as upload:
            attachments.store_attachment(
                user_id=stranger.id,
                thread_id=pair.thread_id,
                filename="x.txt",
                source=Untouchable(),
                db=db,
            )
        with pytest.raises(NotFound) as missing_thread:
            attachments.store_attachment(
                user_id=stranger.id,
                thread_id=uuid.uuid4(),
                filename="x.txt",
                source=Untouchable(),
                db=db,
            )
        assert upload.value.message == missing_thread.value.message
        for variant in ("original", "thumbnail"):
            with pytest.raises(NotFound) as download:
                factories.open_attachment(
                    user_id=stranger.id, attachment_id=att.id, variant=variant, db=db
                )
            with pytest.raises(NotFound) as missing:
                factories.open_attachment(
                    user_id=stranger.id, attachment_id=uuid.uuid4(), variant=variant, db=db
                )
            assert download.value.message == missing.value.message == "Attachment not found"


def test_open_checks_its_arguments(db):
    pair = Pair(db)
    att = _store(pair, "lease.pdf", files.pdf())
    with pytest.raises(NotFound, match="no thumbnail"):
        factories.open_attachment(
            user_id=pair.owner.id, attachment_id=att.id, variant="thumbnail", db=db
        )
    with pytest.raises(Invalid) as err:
        factories.open_attachment(
            user_id=pair.owner.id,
            attachment_id=att.id,
            variant="raw",  # type: ignore[arg-type]
            db=db,
        )
    assert err.value.field == "variant"
    with pytest.raises(Invalid) as err:
        factories.open_attachment(user_id=pair.owner.id, attachment_id="nope", db=db)
    assert err.value.field == "attachment_id"


# --- a message carrying an upload -----------------------------------------------------------


def test_a_message_carries_an_uploaded_file_once(db):
    pair = Pair(db)
    att = _store(pair, "lease.pdf", files.pdf())
    sent = messages.send_message(
        user_id=pair.operator.id,
        thread_id=pair.thread_id,
        body="",
        attachment_id=str(att.id),
        client_msg_id="with-file",
        db=db,
    )
    assert sent.attachment_url == att.url and sent.body is None
    # A retry is the same message, not a second use of the file.
    retry = messages.send_message(
        user_id=pair.operator.id,
        thread_id=pair.thread_id,
        body="",
        attachment_id=att.id,
        client_msg_id="with-file",
        db=db,
    )
    assert retry == sent
    with pytest.raises(Invalid) as err:
        messages.send_message(
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            body="again",
            attachment_id=att.id,
            db=db,
        )
    assert err.value.field == "attachment_id" and "already" in err.value.message
    with Session(db) as session:
        row = session.get(MessagingAttachment, att.id)
        assert row is not None and row.message_id == sent.id


def test_only_the_uploader_in_the_same_thread_may_send_a_file(db):
    pair = Pair(db)
    other = Pair(db)
    mine = _store(pair, "lease.pdf", files.pdf())
    elsewhere = _store(other, "lease.pdf", files.pdf())
    cases = [
        (pair.owner.id, pair.thread_id, mine.id),  # the other participant's upload
        (pair.operator.id, pair.thread_id, elsewhere.id),  # a file of another thread
        (pair.operator.id, pair.thread_id, uuid.uuid4()),  # no such file
    ]
    for user_id, thread_id, attachment_id in cases:
        with pytest.raises(Invalid) as err:
            messages.send_message(
                user_id=user_id, thread_id=thread_id, body="x", attachment_id=attachment_id, db=db
            )
        assert err.value.field == "attachment_id"
    with pytest.raises(Invalid) as err:
        messages.send_message(
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            body="x",
            attachment_id=mine.id,
            attachment_url="https://files.example.com/a.pdf",
            db=db,
        )
    assert err.value.field == "attachment_id"
    with pytest.raises(Invalid) as err:
        messages.send_message(
            user_id=pair.operator.id, thread_id=pair.thread_id, body="x", attachment_id="zz", db=db
        )
    assert err.value.field == "attachment_id"
    assert messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=db) == []
