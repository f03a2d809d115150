"""The checks on an incoming file, before anything is stored: no database, no storage.

- The upload is streamed to a temporary file while its bytes are counted (over the limit:
  refused, nothing left on disk), and checked for UTF-8 text on the way (`receive`).
- The type comes from the CONTENT (magic bytes, `filetype`), never from the name or the
  client's Content-Type. Allowed: PDF, PNG/JPEG/GIF/WebP, Word (.doc/.docx), Excel
  (.xls/.xlsx), and CSV / plain text, which have no magic bytes: accepted only when the name
  ends .csv/.txt and the content is valid UTF-8 without NUL bytes (`sniff`).
- The original name is sanitized and kept for display only, never used as a path
  (`clean_filename`).

Images are checked further in `images.py`; `attachments.py` runs both, then stores the file.
"""

from __future__ import annotations

import codecs
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import filetype

from arbibase_chat.services.errors import Invalid, TooLarge

MAX_FILENAME_CHARS = 255
CHUNK_BYTES = 64 * 1024
SNIFF_BYTES = 8192  # what `filetype` looks at


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


# --- names ----------------------------------------------------------------------------------


def clean_filename(value: Any) -> str:
    """A display name: the last path segment, no control/format characters, bounded.

    `value` is the client's raw file name, as received (not a string: "file").
    """
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


def extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    if size >= 1024:
        return f"{size / 1024:g} KB"
    return f"{size} bytes"


# --- receiving ------------------------------------------------------------------------------


@dataclass
class Received:
    path: Path
    size: int
    head: bytes
    utf8_text: bool


def receive(source: BinaryIO, *, into: Path, limit: int, check_text: bool) -> Received:
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
                    raise Invalid("File must be read as bytes", field="file")
                chunk = bytes(chunk)
                size += len(chunk)
                if size > limit:
                    raise TooLarge(
                        f"file is larger than the {human_size(limit)} limit ({limit} bytes)",
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
        return Received(path=path, size=size, head=bytes(head), utf8_text=text)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def sniff(received: Received, name: str) -> tuple[str, str]:
    """(content type, display name) from the content; Invalid with a clear reason otherwise."""
    ext = extension(name)
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


def _refusal(received: Received, name: str, ext: str, guess: filetype.Type | None) -> str:
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
