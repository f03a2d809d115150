"""Attachments: store an uploaded file safely; open it again for a participant.

- Only participants of the thread may upload or download; anyone else gets NotFound, exactly
  as for an id that does not exist. Uploading is also a matter of policy (services/policy.py:
  an unverified owner may not) and of limits: ATTACHMENT_QUOTA_BYTES per user (all their
  files) and MAX_PENDING_UPLOADS not yet sent in a message.
- The upload is streamed to a temporary file under ATTACHMENTS_DIR while its bytes are counted
  (over MAX_ATTACHMENT_BYTES: refused, nothing left on disk).
- The type comes from the CONTENT (magic bytes, `filetype`), never from the name or the
  client's Content-Type. Allowed: PDF, PNG/JPEG/GIF/WebP, Word (.doc/.docx), Excel
  (.xls/.xlsx), and CSV / plain text, which have no magic bytes: accepted only when the name
  ends .csv/.txt and the content is valid UTF-8 without NUL bytes.
- Images must decode (Pillow): a WebP thumbnail of at most 480 px is made, which also strips
  the metadata for inline display. The pixel count is read from the header and bounded per
  format before anything is decoded (decompression bombs; "images" below), and only
  MAX_CONCURRENT_DECODES images are decoded at once per process.
- The file is stored as `<thread_id>/<attachment id>`; the original name is sanitized and kept
  for display only, never used as a path.
- Where the finished bytes go is the storage backend's business (`adapters/storage.py`,
  chosen by configuration): ATTACHMENTS_DIR by default, the private Supabase Storage bucket
  when SUPABASE_URL is set. Every check above happens first, on the local spool file.
  Downloads: `locate_attachment` does the participant check, then asks the backend where the
  bytes are: a local path, or a short-lived signed URL.
- Uploads never sent in a message are deleted after PENDING_UPLOAD_GRACE_SECONDS by
  `sweep_pending_uploads` (arbibase_chat/maintenance.py, `cli sweep-uploads`).
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import mmap
import os
import tempfile
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, Literal

import filetype
from PIL import Image, ImageOps
from sqlalchemy import case, delete, func, select, text
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
from arbibase_chat.db import utcnow
from arbibase_chat.models import AttachmentPublic, MessagingAttachment, Participant
from arbibase_chat.services import _access, policy, validation
from arbibase_chat.services._tx import reading, transaction
from arbibase_chat.services.errors import (
    Busy,
    ImageTooLarge,
    Invalid,
    NotFound,
    QuotaExceeded,
    TooLarge,
    TooManyPending,
    Unavailable,
)

log = logging.getLogger(__name__)

A, P = MessagingAttachment, Participant

URL_PREFIX = "/api/attachments/"
ATTACHMENT_NOT_FOUND = _access.ATTACHMENT_NOT_FOUND
VARIANTS = ("original", "thumbnail")
THUMBNAIL_PX = 480
THUMBNAIL_TYPE = "image/webp"
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
ALLOWED_IMAGE_LABELS = {k.pil_format: k.label for k in ALLOWED.values() if k.pil_format}
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


# --- images ---------------------------------------------------------------------------------
#
# A small file can describe a huge picture (a 7060x7060 PNG of one colour is 190 KB and decoded
# to ~580 MB of memory here), so the size is read from the header first and bounded per format
# by what decoding it costs. Measured with Pillow 13 (peak RSS growth of one thumbnail):
#
# - JPEG, sequential with one scan (what phone cameras write): decoded at 1/2..1/8 scale
#   (`draft`, inside `thumbnail`): a 12 or 48 MP photo costs ~18 MB. 64 MP covers every phone
#   camera's default output (12-50 MP) with room and stays under Pillow's own bomb warning
#   (89 MP); larger photos (108/200 MP modes) are also over MAX_ATTACHMENT_BYTES in practice.
# - JPEG, progressive or with several scans: libjpeg keeps every DCT coefficient of the whole
#   image (2 bytes a sample) whatever the output scale: at most JPEG_COEFFICIENT_BYTES, which
#   is 52 MP for the usual 4:2:0 layout (a 48 MP progressive photo: 150 MB), 26 MP for 4:4:4.
# - PNG and GIF cannot be decoded at reduced scale: 24 MP (a 24 MP RGBA PNG: ~113 MB; RGB or
#   palette less). WebP goes through libwebp's animation decoder, which holds two canvases
#   besides Pillow's copy (~15 bytes a pixel): 8 MP (~123 MB).
# - Animations (GIF, APNG, WebP): the first frame is all the server decodes (bounded above), but
#   a browser plays every frame: frames x canvas is bounded by MAX_ANIMATION_PIXELS.
#
# At most MAX_CONCURRENT_DECODES images are decoded at once per process (uploads run in worker
# threads); a few more wait, past that an upload is refused at once as busy (503, retry).
# Four parallel uploads at the limits: ~+270 MB (PNG, WebP) instead of +2.1 GB for four of
# the 7060x7060 PNG before these bounds.

MAX_PIXELS: dict[str, int] = {
    "JPEG": 64_000_000,
    "PNG": 24_000_000,
    "GIF": 24_000_000,
    "WEBP": 8_000_000,
}
JPEG_COEFFICIENT_BYTES = 150 * 1024 * 1024
MAX_ANIMATION_PIXELS = 200_000_000
MAX_CONCURRENT_DECODES = 2
MAX_WAITING_DECODES = 8
DECODE_WAIT_SECONDS = 30.0
BUSY_DECODING = "The server is busy processing images right now; try the upload again shortly."
_SEQUENTIAL_SOF = (0xC0, 0xC1, 0xC9)  # baseline / extended sequential (Huffman, arithmetic)


class _DecodeSlots:
    """At most `running` decodes at once; at most `waiting` more wait, each `timeout` s."""

    def __init__(self, running: int, waiting: int, timeout: float) -> None:
        self._running = threading.BoundedSemaphore(running)
        self._lock = threading.Lock()
        self._waiting = 0
        self.max_waiting = waiting
        self.timeout = timeout

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        if not self._running.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self.max_waiting:
                    raise Busy(BUSY_DECODING, field="file")
                self._waiting += 1
            try:
                acquired = self._running.acquire(timeout=self.timeout)
            finally:
                with self._lock:
                    self._waiting -= 1
            if not acquired:
                raise Busy(BUSY_DECODING, field="file")
        try:
            yield
        finally:
            self._running.release()


decode_slots = _DecodeSlots(MAX_CONCURRENT_DECODES, MAX_WAITING_DECODES, DECODE_WAIT_SECONDS)


def _megapixels(pixels: float) -> str:
    return f"{pixels / 1_000_000:.1f}".removesuffix(".0")


def _too_large(fmt: str, width: int, height: int, limit: int, what: str = "") -> ImageTooLarge:
    label = ALLOWED_IMAGE_LABELS[fmt]
    return ImageTooLarge(
        f"image is {width}x{height} pixels ({_megapixels(width * height)} megapixels); "
        f"{what or label + 's'} may have at most {_megapixels(limit)} megapixels",
        field="file",
    )


def _webp_size(path: Path) -> tuple[int, int]:
    """The canvas size from a WebP's first chunk, before libwebp allocates the canvas."""
    with path.open("rb") as f:
        head = f.read(30)
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
        return (
            int.from_bytes(head[26:28], "little") & 0x3FFF,
            int.from_bytes(head[28:30], "little") & 0x3FFF,
        )
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(head) >= 30:
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    raise Invalid("image could not be decoded (damaged or not a real image)", field="file")


def _jpeg_scans(path: Path) -> tuple[int | None, int]:
    """(frame type marker, number of scans) of the first image in a JPEG, without decoding.

    Walks the marker segments; the entropy-coded data after each scan header is skipped by
    searching for the next marker (0xFF not followed by 0x00 stuffing or a restart marker).
    """
    sof: int | None = None
    scans = 0
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        size = len(data)
        pos = 2  # after SOI
        while pos + 1 < size:
            if data[pos] != 0xFF:
                break  # not a marker: damaged; the decoder will say so
            marker = data[pos + 1]
            if marker == 0xFF:  # fill byte
                pos += 1
                continue
            if marker == 0xD9:  # EOI: the first image ends (an MPO's others are never decoded)
                break
            if marker == 0x01 or 0xD0 <= marker <= 0xD7:
                pos += 2
                continue
            if pos + 4 > size:
                break
            end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and sof is None:
                sof = marker
            if marker != 0xDA:
                pos = end
                continue
            scans += 1
            pos = end
            while True:  # skip the scan's entropy-coded data
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= size:
                    return sof, scans
                following = data[pos + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    pos += 2
                    continue
                break
    return sof, scans


def _check_jpeg(img: Any, path: Path) -> None:
    width, height = img.size
    if width * height > MAX_PIXELS["JPEG"]:
        raise _too_large("JPEG", width, height, MAX_PIXELS["JPEG"])
    sof, scans = _jpeg_scans(path)
    if sof in _SEQUENTIAL_SOF and scans <= 1:
        return  # decoded at reduced scale, a band at a time
    # Every coefficient of the whole image is kept: 2 bytes per sample of each component.
    layers = getattr(img, "layer", None) or [("", 1, 1, 0)]
    h_max = max(h for _, h, _, _ in layers) or 1
    v_max = max(v for _, _, v, _ in layers) or 1
    samples_per_pixel = sum(h * v for _, h, v, _ in layers) / (h_max * v_max)
    limit = int(JPEG_COEFFICIENT_BYTES / (2 * samples_per_pixel))
    if width * height > limit:
        raise _too_large(
            "JPEG", width, height, limit, "progressive (or multi-scan) JPEGs of this kind"
        )


def _check_image(img: Any, path: Path, fmt: str) -> None:
    """Refuse, before decoding, what would cost too much memory (see the notes above)."""
    if fmt == "JPEG":
        _check_jpeg(img, path)
        return
    width, height = img.size
    if width * height > MAX_PIXELS[fmt]:
        raise _too_large(fmt, width, height, MAX_PIXELS[fmt])
    frames = int(getattr(img, "n_frames", 1) or 1)  # headers only: no frame is decoded
    if frames > 1:
        img.seek(0)
        if frames * width * height > MAX_ANIMATION_PIXELS:
            raise ImageTooLarge(
                f"animation has {frames} frames of {width}x{height} pixels "
                f"({_megapixels(frames * width * height)} megapixels in all); at most "
                f"{_megapixels(MAX_ANIMATION_PIXELS)} megapixels are allowed",
                field="file",
            )


def _make_thumbnail(src: Path, dst: Path, kind: Kind) -> None:
    """Check the image's size, then decode (at most a few at once) a WebP thumbnail of it."""
    fmt = kind.pil_format
    assert fmt is not None
    try:
        if fmt == "WEBP":  # opening it makes libwebp allocate the canvas: check first
            width, height = _webp_size(src)
            if width * height > MAX_PIXELS[fmt]:
                raise _too_large(fmt, width, height, MAX_PIXELS[fmt])
        with decode_slots.slot(), Image.open(src, formats=[fmt]) as img:
            _check_image(img, src, fmt)
            _render_thumbnail(img, dst)
    except (Invalid, Busy):
        raise
    except Image.DecompressionBombError:
        raise ImageTooLarge(
            "image has too many pixels to be decoded safely", field="file"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, Image.UnidentifiedImageError):
        raise Invalid(
            "image could not be decoded (damaged or not a real image)", field="file"
        ) from None


def _render_thumbnail(img: Any, dst: Path) -> None:
    """Decode `img` (size already checked) into a WebP of at most THUMBNAIL_PX.

    A JPEG is decoded at reduced scale (`draft`, inside `thumbnail`). Other formats are decoded
    whole, then first shrunk by an integer factor (`reduce`; images with alpha a strip at a
    time, since Pillow premultiplies a full-size copy otherwise) before the fine resampling.
    The orientation is applied to the small result: no full-size copy is ever made.
    """
    if img.format != "JPEG":
        img.load()
        factor = max(img.size) // (THUMBNAIL_PX * 2)
        if factor > 1 and img.mode in REDUCIBLE_MODES:  # palette images: resized NEAREST
            img = _reduce(img, factor)
    img.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), reducing_gap=2.0)
    thumb = ImageOps.exif_transpose(img)
    if thumb.mode not in ("RGB", "RGBA"):
        thumb = thumb.convert("RGBA" if thumb.has_transparency_data else "RGB")
    thumb.save(dst, "WEBP", quality=80, method=4)


REDUCE_STRIP_ROWS = 64  # output rows per strip
REDUCIBLE_MODES = ("L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "I", "F")


def _reduce(img: Image.Image, factor: int) -> Image.Image:
    """`img.reduce(factor)`, without the full-size premultiplied copy for alpha modes."""
    if img.mode not in ("LA", "RGBA"):
        return img.reduce(factor)
    width, height = img.size
    out = Image.new(img.mode, (-(-width // factor), -(-height // factor)))
    step = REDUCE_STRIP_ROWS * factor
    for top in range(0, height, step):
        strip = img.crop((0, top, width, min(height, top + step)))
        out.paste(strip.reduce(factor), (0, top // factor))
    out.info = img.info  # keeps the EXIF orientation for exif_transpose
    return out


# --- storing --------------------------------------------------------------------------------


def _usage(session: Session, user_id: uuid.UUID) -> tuple[int, int]:
    """(bytes of the user's stored attachments, how many of them are on no message yet)."""
    used, pending = session.execute(
        select(
            func.coalesce(func.sum(col(A.size_bytes)), 0),
            func.coalesce(func.sum(case((col(A.message_id).is_(None), 1), else_=0)), 0),
        ).where(col(A.uploader_id) == user_id)
    ).one()
    return int(used), int(pending)


def _check_limits(session: Session, *, user_id: uuid.UUID, size: int) -> None:
    """The user's storage quota and pending-upload cap, counting an upload of `size` bytes."""
    settings = get_settings()
    used, pending = _usage(session, user_id)
    cap = settings.max_pending_uploads
    if cap and pending >= cap:
        raise TooManyPending(
            f"you have {pending} uploaded files not sent in a message yet (at most {cap}); "
            "send them, or wait: unsent files are deleted after "
            f"{_duration(settings.pending_upload_grace_seconds)}",
            field="file",
        )
    quota = settings.attachment_quota_bytes
    if quota and used + size > quota:
        left = max(0, quota - used)
        raise QuotaExceeded(
            f"your files would take more than your {_human(quota)} storage quota "
            f"({_human(used)} used, {_human(left)} left)",
            field="file",
        )


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{seconds} seconds"


def _lock_uploads_of(session: Session, user_id: uuid.UUID) -> None:
    """Serialize one user's upload inserts (PostgreSQL; SQLite's write lock already does)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(user_id.bytes[:8], "big", signed=True)
        session.execute(text("select pg_advisory_xact_lock(:key)"), {"key": key})


def check_upload(*, user_id: uuid.UUID, thread_id: Any, db: Engine | None = None) -> uuid.UUID:
    """May `user_id` upload to this thread now? Its id, or the refusal.

    NotFound (strangers, missing ids), VerifyOwnership (services/policy.py), TooManyPending,
    QuotaExceeded (already at the quota). `store_attachment` does this first; a web handler
    can also call it before it receives the request body, so refused uploads are not spooled.
    """
    tid = validation.as_uuid(thread_id, field="thread_id")
    with reading(db, as_user=user_id) as session:
        thread, _ = _access.participant_thread(session, user_id=user_id, thread_id=tid)
        policy.require_in_thread(session, user_id=user_id, thread=thread, action="upload")
        _check_limits(session, user_id=user_id, size=1)
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
    # Strangers (and every other refusal check_upload knows) before a byte is read.
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
        with reading(db, as_user=user_id) as session:  # before the thumbnail's work
            _check_limits(session, user_id=user_id, size=received.size)
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
            thread, _ = _access.participant_thread(session, user_id=user_id, thread_id=tid)
            policy.require_in_thread(session, user_id=user_id, thread=thread, action="upload")
            # Concurrent uploads of one user: counted one after the other.
            _lock_uploads_of(session, user_id)
            _check_limits(session, user_id=user_id, size=received.size)
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
        row = _access.participant_attachment(session, user_id=user_id, attachment_id=aid)
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


# --- sweeping -------------------------------------------------------------------------------


SWEEP_BATCH = 200


def sweep_pending_uploads(
    *,
    older_than_seconds: int | None = None,
    batch: int = SWEEP_BATCH,
    db: Engine | None = None,
) -> int:
    """Delete uploads never attached to a message within the grace period: the stored objects
    (thumbnail too), then the rows. Returns how many were deleted.

    Acts for no user (`elevated="sweep-uploads"`). Safe on several workers at once: each batch
    claims its rows with FOR UPDATE SKIP LOCKED on PostgreSQL (another sweep, or a send
    claiming the file, holds the others; a send waiting for a swept row then finds none and
    is refused), and SQLite runs one write transaction at a time. The objects are deleted
    while the rows are held, so a row never outlives its bytes unnoticed: an object the
    backend fails to delete keeps its row for the next sweep.
    """
    grace = (
        get_settings().pending_upload_grace_seconds
        if older_than_seconds is None
        else older_than_seconds
    )
    cutoff = utcnow() - timedelta(seconds=grace)
    backend = get_storage()
    deleted = 0
    while True:
        with transaction(db, elevated="sweep-uploads") as (session, _events):
            rows = session.execute(
                select(col(A.id), col(A.storage_key), col(A.thumbnail_key))
                .where(col(A.message_id).is_(None), col(A.created_at) < cutoff)
                .order_by(col(A.created_at))
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            gone = []
            for attachment_id, storage_key, thumbnail_key in rows:
                try:
                    for key in (thumbnail_key, storage_key):
                        if key is not None:
                            backend.delete(key)
                except (OSError, StorageError) as exc:
                    log.error("upload sweep: could not delete %s: %s", storage_key, exc)
                    continue
                gone.append(attachment_id)
            if gone:
                session.execute(
                    delete(A)
                    .where(col(A.id).in_(gone), col(A.message_id).is_(None))
                    .execution_options(synchronize_session=False)
                )
        deleted += len(gone)
        if len(rows) < batch or not gone:
            break
    if deleted:
        log.info("upload sweep: deleted %d uploads never sent in a message", deleted)
    return deleted
