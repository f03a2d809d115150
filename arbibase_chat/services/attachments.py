"""Attachments: store an uploaded file safely; open it again for a participant.

- Only participants of the thread may upload or download; anyone else gets NotFound, exactly
  as for an id that does not exist.
- The upload is streamed to a temporary file under ATTACHMENTS_DIR while its bytes are counted
  (over MAX_ATTACHMENT_BYTES: refused, nothing left on disk).
- The type comes from the CONTENT (magic bytes, `filetype`), never from the name or the
  client's Content-Type. Allowed: PDF, PNG/JPEG/GIF/WebP, Word (.doc/.docx), Excel
  (.xls/.xlsx), and CSV / plain text, which have no magic bytes: accepted only when the name
  ends .csv/.txt and the content is valid UTF-8 without NUL bytes.
- Images must decode (Pillow): a WebP thumbnail of at most 480 px is made, which also strips
  the metadata for inline display; more than MAX_IMAGE_PIXELS pixels is refused before
  decoding (decompression bombs).
- The file is stored as `<thread_id>/<attachment id>`; the original name is sanitized and kept
  for display only, never used as a path.
- Where the finished bytes go is the storage backend's business (`adapters/storage.py`,
  chosen by configuration): ATTACHMENTS_DIR by default, the private Supabase Storage bucket
  when SUPABASE_URL is set. Every check above happens first, on the local spool file.
  Downloads: `locate_attachment` does the participant check, then asks the backend where the
  bytes are: a local path, or a short-lived signed URL.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import filetype
from PIL import Image, ImageOps
from sqlalchemy import and_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from arbibase_chat.adapters.storage import (
    ObjectMissing,
    SignedUrl,
    StorageBackend,
    StorageError,
    get_storage,
)
from arbibase_chat.config import get_settings
from arbibase_chat.models import AttachmentPublic, MessagingAttachment, Participant
from arbibase_chat.services import policy, validation
from arbibase_chat.services._access import participant_thread
from arbibase_chat.services._tx import reading, transaction
from arbibase_chat.services.errors import Invalid, NotFound, TooLarge, Unavailable

log = logging.getLogger(__name__)

A, P = MessagingAttachment, Participant

URL_PREFIX = "/api/attachments/"
ATTACHMENT_NOT_FOUND = "attachment not found"
VARIANTS = ("original", "thumbnail")
THUMBNAIL_PX = 480
THUMBNAIL_TYPE = "image/webp"
MAX_IMAGE_PIXELS = 50_000_000  # 50 MP: phone cameras fit; far below a decompression bomb
MAX_FILENAME_CHARS = 255
CHUNK_BYTES = 64 * 1024
SNIFF_BYTES = 8192  # what `filetype` looks at
INCOMING_DIR = ".incoming"


@dataclass(frozen=True)
class Kind:
    label: str
    extensions: tuple[str, ...]
    pil_format: str | None = None  # images: the Pillow format that must decode


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ALLOWED: dict[str, Kind] = {
    "application/pdf": Kind("PDF", ("pdf",)),
    "image/png": Kind("PNG image", ("png",), "PNG"),
    "image/jpeg": Kind("JPEG image", ("jpg", "jpeg", "jpe", "jfif"), "JPEG"),
    "image/gif": Kind("GIF image", ("gif",), "GIF"),
    "image/webp": Kind("WebP image", ("webp",), "WEBP"),
    "application/msword": Kind("Word document", ("doc",)),
    DOCX: Kind("Word document", ("docx",)),
    "application/vnd.ms-excel": Kind("Excel workbook", ("xls",)),
    XLSX: Kind("Excel workbook", ("xlsx",)),
    "text/csv": Kind("CSV file", ("csv",)),
    "text/plain": Kind("text file", ("txt",)),
}
# Text types have no magic bytes: the name decides, the content must be UTF-8 text.
TEXT_BY_EXTENSION = {"csv": "text/csv", "txt": "text/plain"}
# Detected types that are one of the allowed ones under another name.
ALIASES = {"image/apng": "image/png"}
KNOWN_EXTENSIONS = {ext: mime for mime, kind in ALLOWED.items() for ext in kind.extensions}
ALLOWED_TEXT = "PDF, PNG/JPEG/GIF/WebP images, Word (.doc/.docx), Excel (.xls/.xlsx), CSV, text"
_MARKUP = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<?xml")


def _root() -> Path:
    return get_settings().attachments_dir


def to_public(att: MessagingAttachment) -> AttachmentPublic:
    url = f"{URL_PREFIX}{att.id}"
    return AttachmentPublic(
        id=att.id,
        thread_id=att.thread_id,
        uploader_id=att.uploader_id,
        filename=att.filename,
        content_type=att.content_type,
        size_bytes=att.size_bytes,
        is_image=att.content_type.startswith("image/"),
        has_thumbnail=att.thumbnail_key is not None,
        url=url,
        thumbnail_url=f"{url}?variant=thumbnail" if att.thumbnail_key else None,
        created_at=att.created_at,
    )


# --- names ----------------------------------------------------------------------------------


def clean_filename(value: Any) -> str:
    """A display name: the last path segment, no control/format characters, bounded."""
    name = unicodedata.normalize("NFC", value) if isinstance(value, str) else ""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc control, Cf format (bidi overrides, zero-width), Cs/Co/Cn, line/paragraph separators.
    name = "".join(
        ch
        for ch in name
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
    )
    name = " ".join(name.split()).strip(" .")
    if not name:
        name = "file"
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_FILENAME_CHARS - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:MAX_FILENAME_CHARS]
    return name


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    if size >= 1024:
        return f"{size / 1024:g} KB"
    return f"{size} bytes"


# --- receiving ------------------------------------------------------------------------------


@dataclass
class _Received:
    path: Path
    size: int
    head: bytes
    utf8_text: bool


def _receive(source: BinaryIO, *, into: Path, limit: int, check_text: bool) -> _Received:
    """Copy `source` to a new temp file in `into`, counting; removed again on any error."""
    into.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=into, prefix="upload-")
    path = Path(name)
    try:
        size = 0
        head = bytearray()
        decoder = codecs.getincrementaldecoder("utf-8")()
        text = check_text
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = source.read(CHUNK_BYTES)
                if not chunk:
                    break
                if not isinstance(chunk, bytes | bytearray | memoryview):
                    raise Invalid("file must be read as bytes", field="file")
                chunk = bytes(chunk)
                size += len(chunk)
                if size > limit:
                    raise TooLarge(
                        f"file is larger than the {_human(limit)} limit ({limit} bytes)",
                        field="file",
                    )
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                if text and b"\x00" in chunk:
                    text = False
                elif text:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        text = False
                out.write(chunk)
            if text:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    text = False
            out.flush()
            os.fsync(out.fileno())
        return _Received(path=path, size=size, head=bytes(head), utf8_text=text)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _sniff(received: _Received, name: str) -> tuple[str, str]:
    """(content type, display name) from the content; Invalid with a clear reason otherwise."""
    ext = _extension(name)
    guess = filetype.guess(received.head)
    mime = ALIASES.get(guess.mime, guess.mime) if guess is not None else None
    if mime is None and ext in TEXT_BY_EXTENSION and received.utf8_text:
        return TEXT_BY_EXTENSION[ext], name
    if mime is None or mime not in ALLOWED:
        raise Invalid(_refusal(received, name, ext, guess), field="file")
    kind = ALLOWED[mime]
    if ext in kind.extensions:
        return mime, name
    if ext in KNOWN_EXTENSIONS:
        claimed = ALLOWED[KNOWN_EXTENSIONS[ext]].label
        raise Invalid(
            f"{name!r} is named like a {claimed} but its content is a {kind.label}", field="file"
        )
    # No extension, or one we do not know: name it after what it really is.
    return mime, clean_filename(f"{name}.{kind.extensions[0]}")


def _refusal(received: _Received, name: str, ext: str, guess: Any) -> str:
    start = received.head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if any(start.startswith(tag) for tag in _MARKUP) or b"<script" in start:
        return (
            f"{name!r} contains HTML/XML markup, which is not an allowed attachment type "
            f"(allowed: {ALLOWED_TEXT})"
        )
    if guess is not None:
        return f"{guess.extension.upper()} files are not allowed (allowed: {ALLOWED_TEXT})"
    if ext in TEXT_BY_EXTENSION:
        return f"a .{ext} file must be UTF-8 text without NUL bytes"
    if ext in KNOWN_EXTENSIONS:
        return f"{name!r} is not a real {ALLOWED[KNOWN_EXTENSIONS[ext]].label}"
    return f"unrecognized file type (allowed: {ALLOWED_TEXT})"


def _make_thumbnail(src: Path, dst: Path, kind: Kind) -> None:
    """Decode the image (refusing bombs) and write a WebP thumbnail of at most 480 px."""
    assert kind.pil_format is not None
    try:
        with Image.open(src, formats=[kind.pil_format]) as img:
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                raise Invalid(
                    f"image is {width}x{height} pixels; at most {MAX_IMAGE_PIXELS // 1_000_000}"
                    " megapixels are allowed",
                    field="file",
                )
            img.draft("RGB", (THUMBNAIL_PX, THUMBNAIL_PX))  # JPEG: decode at a smaller scale
            thumb = ImageOps.exif_transpose(img)
            thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            if thumb.mode not in ("RGB", "RGBA"):
                thumb = thumb.convert("RGBA" if thumb.has_transparency_data else "RGB")
            thumb.save(dst, "WEBP", quality=80, method=4)
    except Invalid:
        raise
    except Image.DecompressionBombError:
        raise Invalid("image has too many pixels to be decoded safely", field="file") from None
    except (OSError, SyntaxError, ValueError, EOFError, Image.UnidentifiedImageError):
        raise Invalid(
            "image could not be decoded (damaged or not a real image)", field="file"
        ) from None


# --- storing --------------------------------------------------------------------------------


def check_upload(*, user_id: uuid.UUID, thread_id: Any, db: Engine | None = None) -> uuid.UUID:
    """May `user_id` upload to this thread? Its id, NotFound (strangers, missing ids) or
    VerifyOwnership (services/policy.py).

    `store_attachment` does this first; a web handler can also call it before it receives
    the request body, so strangers cannot make the server spool their bytes.
    """
    with reading(db, as_user=user_id) as session:
        thread, _ = participant_thread(session, user_id=user_id, thread_id=thread_id)
        policy.require_in_thread(session, user_id=user_id, thread=thread, action="upload")
        return thread.id


def store_attachment(
    *,
    user_id: uuid.UUID,
    thread_id: Any,
    filename: Any,
    source: BinaryIO,
    db: Engine | None = None,
) -> AttachmentPublic:
    """Store an upload for a thread the user takes part in; returns its public record."""
    # Strangers are refused before a byte is read.
    tid = check_upload(user_id=user_id, thread_id=thread_id, db=db)
    settings = get_settings()
    root = _root()
    name = clean_filename(filename)
    received = _receive(
        source,
        into=root / INCOMING_DIR,
        limit=settings.max_attachment_bytes,
        check_text=_extension(name) in TEXT_BY_EXTENSION,
    )
    written: list[Path] = [received.path]
    stored: list[str] = []  # keys already handed to the storage backend
    try:
        if received.size == 0:
            raise Invalid("file is empty", field="file")
        content_type, name = _sniff(received, name)
        kind = ALLOWED[content_type]
        attachment_id = uuid.uuid4()
        thumbnail_key = None
        if kind.pil_format is not None:
            thumb_tmp = received.path.with_name(received.path.name + ".thumb")
            written.append(thumb_tmp)
            _make_thumbnail(received.path, thumb_tmp, kind)
            thumbnail_key = f"{tid}/{attachment_id}.thumb.webp"
        storage_key = f"{tid}/{attachment_id}"
        backend = get_storage()
        _put(backend, storage_key, received.path, content_type)
        stored.append(storage_key)
        if thumbnail_key is not None:
            _put(backend, thumbnail_key, written[1], THUMBNAIL_TYPE)
            stored.append(thumbnail_key)
        with transaction(db, as_user=user_id) as (session, _events):
            thread, _ = participant_thread(session, user_id=user_id, thread_id=tid)
            policy.require_in_thread(session, user_id=user_id, thread=thread, action="upload")
            row = A(
                id=attachment_id,
                thread_id=tid,
                uploader_id=user_id,
                filename=name,
                content_type=content_type,
                size_bytes=received.size,
                storage_key=storage_key,
                thumbnail_key=thumbnail_key,
            )
            session.add(row)
            session.flush()
            result = to_public(row)
        return result
    except BaseException:
        for key in stored:
            try:
                backend.delete(key)
            except (OSError, StorageError) as exc:
                log.error("attachment upload failed; could not remove %s: %s", key, exc)
        raise
    finally:
        # The spool files (a remote backend copied them; the local one moved them away).
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def _put(backend: StorageBackend, key: str, source: Path, content_type: str) -> None:
    try:
        backend.put(key, source, content_type=content_type)
    except StorageError as exc:
        log.error("attachment storage failed for %s: %s", key, exc)
        raise Unavailable(
            "the file could not be stored right now; try again", field="file"
        ) from None


# --- opening --------------------------------------------------------------------------------


def locate_attachment(
    *,
    user_id: uuid.UUID,
    attachment_id: Any,
    variant: Literal["original", "thumbnail"] = "original",
    db: Engine | None = None,
) -> tuple[AttachmentPublic, Path | SignedUrl]:
    """For a participant of its thread: the attachment and where its bytes are.

    The participant check comes first (a stranger gets NotFound and the storage backend is
    never asked); then a local path, or a signed URL valid SUPABASE_SIGNED_URL_TTL_SECONDS
    that makes the browser save the file (images and thumbnails: shown in place).
    """
    chosen = validation.choice(variant, field="variant", allowed=VARIANTS)
    aid = validation.as_uuid(attachment_id, field="attachment_id")
    with reading(db, as_user=user_id) as session:
        row = session.scalar(
            select(A)
            .join(P, and_(col(P.thread_id) == col(A.thread_id), col(P.user_id) == user_id))
            .where(col(A.id) == aid)
        )
    if row is None:
        raise NotFound(ATTACHMENT_NOT_FOUND)
    key = row.storage_key if chosen == "original" else row.thumbnail_key
    if key is None:
        raise NotFound("this attachment has no thumbnail")
    public = to_public(row)
    inline = public.is_image or chosen == "thumbnail"
    try:
        where = get_storage().locate(key, download_name=None if inline else public.filename)
    except ObjectMissing as exc:
        log.error("attachment %s: %s", row.id, exc)
        raise NotFound(ATTACHMENT_NOT_FOUND) from None
    except StorageError as exc:
        log.error("attachment %s: storage failed: %s", row.id, exc)
        raise Unavailable("the file cannot be fetched right now; try again") from None
    return public, where


def open_attachment(
    *,
    user_id: uuid.UUID,
    attachment_id: Any,
    variant: Literal["original", "thumbnail"] = "original",
    db: Engine | None = None,
) -> tuple[AttachmentPublic, Path]:
    """The attachment and the local path of its bytes (local storage only)."""
    public, where = locate_attachment(
        user_id=user_id, attachment_id=attachment_id, variant=variant, db=db
    )
    if not isinstance(where, Path):
        raise RuntimeError("attachments are in remote storage: use locate_attachment")
    return public, where


def claim_for_message(
    session: Session, *, attachment_id: uuid.UUID, thread_id: uuid.UUID, user_id: uuid.UUID
) -> MessagingAttachment:
    """Inside send_message's transaction: the attachment a new message carries.

    It must be in the same thread, uploaded by the sender and not on another message yet.
    The caller sets `message_id` once the message exists.
    """
    row = session.scalar(select(A).where(col(A.id) == attachment_id).with_for_update())
    if row is None or row.thread_id != thread_id or row.uploader_id != user_id:
        raise Invalid(
            "attachment_id is not a file you uploaded to this thread", field="attachment_id"
        )
    if row.message_id is not None:
        raise Invalid("this attachment is already on another message", field="attachment_id")
    return row
