"""Attachments: store an uploaded file for a thread; find it again for a participant; sweep.

- Only participants of the thread may upload or download; anyone else gets NotFound, exactly
  as for an id that does not exist (`_access`). Uploading is also a matter of policy
  (services/policy.py: an unverified owner may not) and of limits: ATTACHMENT_QUOTA_BYTES per
  user (all their files) and MAX_PENDING_UPLOADS not yet sent in a message.
- The file itself is checked before anything is stored: size and type in `incoming.py`,
  image bounds and the thumbnail in `images.py` (neither touches the database).
- The file is stored as `<thread_id>/<attachment id>`. Where the finished bytes go is the
  storage backend's business (`adapters/storage.py`, chosen by configuration): ATTACHMENTS_DIR
  by default, the private Supabase Storage bucket when SUPABASE_URL is set. Every check
  happens first, on the local spool file. Downloads: `locate_attachment` does the participant
  check, then asks the backend where the bytes are: a local path, or a short-lived signed URL.
- The URL a participant downloads it from is the API's (`links.py`), not decided here.
- Uploads never sent in a message are deleted after PENDING_UPLOAD_GRACE_SECONDS by
  `sweep_pending_uploads` (arbibase_chat/maintenance.py, `cli sweep-uploads`).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, Literal

from sqlalchemy import case, delete, func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from arbibase_chat import links
from arbibase_chat.adapters.storage import (
    ObjectMissing,
    SignedUrl,
    StorageBackend,
    StorageError,
    get_storage,
)
from arbibase_chat.config import get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.models import AttachmentPublic, MessagingAttachment
from arbibase_chat.services import _access, images, incoming, policy, validation
from arbibase_chat.services._tx import reading, transaction
from arbibase_chat.services.errors import (
    Invalid,
    NotFound,
    QuotaExceeded,
    TooManyPending,
    Unavailable,
)
from arbibase_chat.services.images import THUMBNAIL_TYPE
from arbibase_chat.services.incoming import ALLOWED

log = logging.getLogger(__name__)

A = MessagingAttachment

ATTACHMENT_NOT_FOUND = _access.ATTACHMENT_NOT_FOUND
VARIANTS = ("original", "thumbnail")
INCOMING_DIR = ".incoming"


def _root() -> Path:
    return get_settings().attachments_dir


def to_public(att: MessagingAttachment) -> AttachmentPublic:
    return AttachmentPublic(
        id=att.id,
        thread_id=att.thread_id,
        uploader_id=att.uploader_id,
        filename=att.filename,
        content_type=att.content_type,
        size_bytes=att.size_bytes,
        is_image=att.content_type.startswith("image/"),
        has_thumbnail=att.thumbnail_key is not None,
        url=links.attachment(att.id),
        thumbnail_url=links.attachment_thumbnail(att.id) if att.thumbnail_key else None,
        created_at=att.created_at,
    )


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
            f"your files would take more than your {incoming.human_size(quota)} storage quota "
            f"({incoming.human_size(used)} used, {incoming.human_size(left)} left)",
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
        policy.require_feature(session, user_id=user_id, thread=thread, feature="attachments")
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
    name = incoming.clean_filename(filename)
    received = incoming.receive(
        source,
        into=root / INCOMING_DIR,
        limit=settings.max_attachment_bytes,
        check_text=incoming.extension(name) in incoming.TEXT_BY_EXTENSION,
    )
    written: list[Path] = [received.path]
    stored: list[str] = []  # keys already handed to the storage backend
    try:
        if received.size == 0:
            raise Invalid("File is empty", field="file")
        content_type, name = incoming.sniff(received, name)
        kind = ALLOWED[content_type]
        with reading(db, as_user=user_id) as session:  # before the thumbnail's work
            _check_limits(session, user_id=user_id, size=received.size)
        attachment_id = uuid.uuid4()
        thumbnail_key = None
        if kind.pil_format is not None:
            thumb_tmp = received.path.with_name(received.path.name + ".thumb")
            written.append(thumb_tmp)
            images.make_thumbnail(received.path, thumb_tmp, kind)
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
            policy.require_feature(session, user_id=user_id, thread=thread, feature="attachments")
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
            "The file could not be stored right now; try again", field="file"
        ) from None


def put_generated(*, thread_id: uuid.UUID, attachment_id: uuid.UUID, data: bytes) -> str:
    """Store a file the app made itself (an offer's PDF) where an upload of the thread goes.

    Returns the storage key for the attachment row the caller writes in its own transaction
    (`generated_row`); if that transaction fails, the caller calls `discard_generated`.
    """
    key = f"{thread_id}/{attachment_id}"
    spool = _root() / INCOMING_DIR
    spool.mkdir(parents=True, exist_ok=True)
    path = spool / f"generated-{attachment_id}"
    try:
        path.write_bytes(data)
        _put(get_storage(), key, path, "application/pdf")
    finally:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
    return key


def discard_generated(key: str) -> None:
    try:
        get_storage().delete(key)
    except (OSError, StorageError) as exc:
        log.error("could not remove the generated file %s: %s", key, exc)


def generated_row(
    *,
    attachment_id: uuid.UUID,
    thread_id: uuid.UUID,
    uploader_id: uuid.UUID,
    filename: str,
    size: int,
    storage_key: str,
) -> MessagingAttachment:
    """The record of a generated PDF (no quota check: a page of text, made by the app)."""
    return A(
        id=attachment_id,
        thread_id=thread_id,
        uploader_id=uploader_id,
        filename=incoming.clean_filename(filename),
        content_type="application/pdf",
        size_bytes=size,
        storage_key=storage_key,
    )


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
        raise NotFound("This attachment has no thumbnail")
    public = to_public(row)
    inline = public.is_image or chosen == "thumbnail"
    try:
        where = get_storage().locate(key, download_name=None if inline else public.filename)
    except ObjectMissing as exc:
        log.error("attachment %s: %s", row.id, exc)
        raise NotFound(ATTACHMENT_NOT_FOUND) from None
    except StorageError as exc:
        log.error("attachment %s: storage failed: %s", row.id, exc)
        raise Unavailable("The file cannot be fetched right now; try again") from None
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
        raise Invalid("This attachment is already on another message", field="attachment_id")
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
