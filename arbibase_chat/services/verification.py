"""Owner verification: an owner's claim with a proof document, decided by ArbiBase staff.

- `submit_claim`: an unverified owner account uploads a proof (deed, tax bill, utility bill:
  PDF or image) with an optional note. The file goes through the same checks as a chat
  attachment (`incoming.py`: size while streaming, type from the content; images: bounds,
  decoded in `images.py`) and is stored under `verification/<owner_id>/<claim id>`, in no
  thread. At most one pending claim per owner (the database's partial unique index says it
  too): a second one is `ClaimPending` (409). After a rejection the owner may submit again.
- `my_claim`: the owner's newest claim (its status, and the reason when rejected).
- `list_pending`, `approve`, `reject`: staff accounts only (`StaffOnly`, 403). Approval sets
  `users.verified` in the same transaction (on PostgreSQL the claim's trigger does it, alembic
  0008: requests may not write `users`); a rejection needs a reason, which the owner sees.
  Without a staff id (the CLI, `elevated="staff"`) staff may also verify an owner who has no
  pending claim: a claim decided by nobody (the command line) is recorded.
- `locate_proof`: the proof's bytes, for the claim's owner and staff only (NotFound for
  anyone else, as for a claim that does not exist).

Every change publishes `AccountUpdated(owner)` after the commit: the owner's open pages re-read
who they are, so an approval swaps the thread page's banner for the composer live. In
Supabase mode an approval also sets the user's `app_metadata.verified` with the service key
(what the Supabase policies and every later sign-in read), before the commit.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from arbibase_chat import links
from arbibase_chat.adapters.auth import AuthFailure, get_auth
from arbibase_chat.adapters.storage import ObjectMissing, SignedUrl, StorageError, get_storage
from arbibase_chat.config import get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.models import ClaimPublic, OwnerVerificationClaim, User
from arbibase_chat.services import events, images, incoming, policy, validation
from arbibase_chat.services._tx import reading, transaction
from arbibase_chat.services.errors import (
    AlreadyVerified,
    ClaimDecided,
    ClaimPending,
    Invalid,
    NotFound,
    OwnersOnly,
    Unavailable,
)
from arbibase_chat.services.incoming import ALLOWED

log = logging.getLogger(__name__)

C = OwnerVerificationClaim
KEY_PREFIX = "verification"
MAX_NOTE_CHARS = 1000
MAX_REASON_CHARS = 1000
CLAIM_NOT_FOUND = "verification claim not found"
# What counts as proof: documents and photos of them (no spreadsheets or plain text).
PROOF_TYPES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/msword",
        incoming.DOCX,
    }
)
PROOF_TYPES_TEXT = "PDF, PNG/JPEG/GIF/WebP images, Word (.doc/.docx)"


def proof_key(owner_id: uuid.UUID, claim_id: uuid.UUID) -> str:
    return f"{KEY_PREFIX}/{owner_id}/{claim_id}"


_COLUMNS = (C, col(User.display_name), col(User.email))


def _public(row: Any) -> ClaimPublic:
    claim, name, email = row
    return ClaimPublic(
        id=claim.id,
        owner_id=claim.owner_id,
        owner_name=name,
        owner_email=email,
        status=claim.status,
        has_proof=claim.proof_key is not None,
        proof_filename=claim.proof_filename,
        proof_content_type=claim.proof_content_type,
        proof_size_bytes=claim.proof_size_bytes,
        proof_url=links.verification_proof(claim.id) if claim.proof_key else None,
        note=claim.note,
        reason=claim.reason,
        decided_at=claim.decided_at,
        created_at=claim.created_at,
    )


def _with_owner(session: Session, claim_id: uuid.UUID) -> ClaimPublic:
    row = session.execute(
        select(*_COLUMNS).join(User, col(User.id) == col(C.owner_id)).where(col(C.id) == claim_id)
    ).one()
    return _public(row)


def _pending_of(session: Session, owner_id: uuid.UUID, *, lock: bool = False) -> C | None:
    query = select(C).where(col(C.owner_id) == owner_id, col(C.status) == "pending")
    return session.scalar(query.with_for_update() if lock else query)


def _require_unverified_owner(session: Session, user_id: uuid.UUID) -> None:
    policy.require_account(session, user_id=user_id, action="claim_ownership")
    if session.scalar(select(col(User.verified)).where(col(User.id) == user_id)):
        raise AlreadyVerified("your ownership is verified already")
    if _pending_of(session, user_id) is not None:
        raise ClaimPending(
            "your verification is under review already; you will see the decision here"
        )


# --- the owner's side -----------------------------------------------------------------------


def check_submit(*, user_id: uuid.UUID, db: Engine | None = None) -> None:
    """May this user submit a claim now? Raises the refusal (OwnersOnly, AlreadyVerified,
    ClaimPending). A web handler calls it before it receives the body."""
    with reading(db, as_user=user_id) as session:
        _require_unverified_owner(session, user_id)


def submit_claim(
    *,
    user_id: uuid.UUID,
    filename: Any,
    source: BinaryIO,
    note: Any = None,
    db: Engine | None = None,
) -> ClaimPublic:
    """Store the proof and record a pending claim for the signed-in owner."""
    check_submit(user_id=user_id, db=db)  # refusals before a byte is read
    cleaned_note = (
        validation.clean_text(note, field="note", max_chars=MAX_NOTE_CHARS, required=False) or None
    )
    settings = get_settings()
    root = settings.attachments_dir
    name = incoming.clean_filename(filename)
    received = incoming.receive(
        source, into=root / ".incoming", limit=settings.max_attachment_bytes, check_text=False
    )
    written: list[Path] = [received.path]
    backend = get_storage()
    key: str | None = None
    try:
        if received.size == 0:
            raise Invalid("File is empty", field="file")
        content_type, name = incoming.sniff(received, name)
        if content_type not in PROOF_TYPES:
            raise Invalid(
                f"A {ALLOWED[content_type].label} is not a proof document "
                f"(allowed: {PROOF_TYPES_TEXT})",
                field="file",
            )
        kind = ALLOWED[content_type]
        if kind.pil_format is not None:
            # The same bounds as a chat image (decoded within limits); the thumbnail is unused.
            thumb = received.path.with_name(received.path.name + ".thumb")
            written.append(thumb)
            images.make_thumbnail(received.path, thumb, kind)
        claim_id = uuid.uuid4()
        key = proof_key(user_id, claim_id)
        try:
            backend.put(key, received.path, content_type=content_type)
        except StorageError as exc:
            log.error("verification proof storage failed for %s: %s", key, exc)
            raise Unavailable(
                "The file could not be stored right now; try again", field="file"
            ) from None
        with transaction(db, as_user=user_id) as (session, outbox):
            _require_unverified_owner(session, user_id)
            session.add(
                C(
                    id=claim_id,
                    owner_id=user_id,
                    status="pending",
                    proof_filename=name,
                    proof_content_type=content_type,
                    proof_size_bytes=received.size,
                    proof_key=key,
                    note=cleaned_note,
                )
            )
            session.flush()
            result = _with_owner(session, claim_id)
            outbox.append(events.account_updated(user_id))
        return result
    except BaseException:
        if key is not None:
            with contextlib.suppress(OSError, StorageError):
                backend.delete(key)
        raise
    finally:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def my_claim(*, user_id: uuid.UUID, db: Engine | None = None) -> ClaimPublic | None:
    """The user's newest claim (None: never submitted one)."""
    with reading(db, as_user=user_id) as session:
        row = session.execute(
            select(*_COLUMNS)
            .join(User, col(User.id) == col(C.owner_id))
            .where(col(C.owner_id) == user_id)
            .order_by(col(C.created_at).desc())
            .limit(1)
        ).first()
    return _public(row) if row is not None else None


def locate_proof(
    *, user_id: uuid.UUID, claim_id: Any, db: Engine | None = None
) -> tuple[ClaimPublic, Path | SignedUrl]:
    """The claim's proof for its owner or staff: a local path or a signed URL (download)."""
    cid = validation.as_uuid(claim_id, field="claim_id")
    with reading(db, as_user=user_id) as session:
        claim = session.get(C, cid)
        if claim is None or (
            claim.owner_id != user_id
            and not session.scalar(select(col(User.is_staff)).where(col(User.id) == user_id))
        ):
            raise NotFound(CLAIM_NOT_FOUND)
        public = _with_owner(session, cid)
        key = claim.proof_key
    if key is None:
        raise NotFound("This claim has no proof document")
    inline = (public.proof_content_type or "").startswith("image/")
    try:
        where = get_storage().locate(key, download_name=None if inline else public.proof_filename)
    except ObjectMissing as exc:
        log.error("verification proof %s: %s", cid, exc)
        raise NotFound(CLAIM_NOT_FOUND) from None
    except StorageError as exc:
        log.error("verification proof %s: storage failed: %s", cid, exc)
        raise Unavailable("The file cannot be fetched right now; try again") from None
    return public, where


# --- staff ----------------------------------------------------------------------------------


def is_staff(*, user_id: uuid.UUID, db: Engine | None = None) -> bool:
    with reading(db, as_user=user_id) as session:
        return bool(session.scalar(select(col(User.is_staff)).where(col(User.id) == user_id)))


def list_pending(*, user_id: uuid.UUID, db: Engine | None = None) -> list[ClaimPublic]:
    """Pending claims, oldest first (staff only)."""
    with reading(db, as_user=user_id) as session:
        policy.require_staff(session, user_id=user_id)
        rows = session.execute(
            select(*_COLUMNS)
            .join(User, col(User.id) == col(C.owner_id))
            .where(col(C.status) == "pending")
            .order_by(col(C.created_at), col(C.id))
        ).all()
    return [_public(row) for row in rows]


def approve(
    *,
    staff_id: uuid.UUID | None,
    claim_id: Any = None,
    owner_email: Any = None,
    db: Engine | None = None,
) -> ClaimPublic:
    """Approve a pending claim (by id, or the owner's by e-mail): the owner is verified."""
    return _decide(staff_id, claim_id, owner_email, "approved", None, db)


def reject(
    *,
    staff_id: uuid.UUID | None,
    reason: Any,
    claim_id: Any = None,
    owner_email: Any = None,
    db: Engine | None = None,
) -> ClaimPublic:
    """Reject a pending claim with a reason the owner sees; they stay unverified."""
    why = validation.clean_text(reason, field="reason", max_chars=MAX_REASON_CHARS)
    return _decide(staff_id, claim_id, owner_email, "rejected", why, db)


def _decide(
    staff_id: uuid.UUID | None,
    claim_id: Any,
    owner_email: Any,
    status: str,
    reason: str | None,
    db: Engine | None,
) -> ClaimPublic:
    if (claim_id is None) == (owner_email is None):
        raise TypeError("say which claim: claim_id=... or owner_email=...")
    cid = validation.as_uuid(claim_id, field="claim_id") if claim_id is not None else None
    # Staff in the app act as themselves (RLS: only staff decide); the CLI acts for no user.
    tx = (
        transaction(db, as_user=staff_id)
        if staff_id is not None
        else transaction(db, elevated="staff")
    )
    verified_remotely: uuid.UUID | None = None
    try:
        with tx as (session, outbox):
            if staff_id is not None:
                policy.require_staff(session, user_id=staff_id)
            claim = _claim_to_decide(session, cid, owner_email, status, staff_id)
            if claim.owner_id == staff_id:
                raise NotFound(CLAIM_NOT_FOUND)  # nobody decides their own claim
            claim.status = status
            claim.reason = reason
            claim.decided_by = staff_id
            claim.decided_at = utcnow()
            session.add(claim)
            session.flush()
            if status == "approved":
                if session.get_bind().dialect.name != "postgresql":
                    # PostgreSQL: the claim's trigger did it (alembic 0008), in this transaction.
                    session.execute(
                        update(User).where(col(User.id) == claim.owner_id).values(verified=True)
                    )
                _verify_remotely(claim.owner_id)  # before the commit: a failure undoes it
                verified_remotely = claim.owner_id
            result = _with_owner(session, claim.id)
            outbox.append(events.account_updated(claim.owner_id))
    except BaseException:
        if verified_remotely is not None:  # the commit failed after Supabase said yes
            with contextlib.suppress(Exception):
                get_auth().set_verified(verified_remotely, False)
        raise
    return result


def _claim_to_decide(
    session: Session,
    cid: uuid.UUID | None,
    owner_email: Any,
    status: str,
    staff_id: uuid.UUID | None,
) -> C:
    if cid is not None:
        found = session.execute(
            select(col(C.status), col(C.owner_id)).where(col(C.id) == cid)
        ).first()
        if found is None or found.owner_id == staff_id:  # nobody decides their own claim
            raise NotFound(CLAIM_NOT_FOUND)
        status_now = found.status
        # Locked only while pending (PostgreSQL: the update policy's USING says so too).
        claim = session.scalar(
            select(C).where(col(C.id) == cid, col(C.status) == "pending").with_for_update()
        )
        if claim is None:
            raise ClaimDecided(f"this claim was {status_now} already")
        return claim
    email = validation.normalize_email(owner_email)
    owner = session.execute(
        select(col(User.id), col(User.role), col(User.verified)).where(col(User.email) == email)
    ).first()
    if owner is None:
        raise NotFound(f"No account with the e-mail address {email}", field="email")
    if owner.role != "owner":
        raise OwnersOnly(f"{email} is not an owner account", field="email")
    pending = _pending_of(session, owner.id, lock=True)
    if pending is not None:
        return pending
    if status != "approved" or staff_id is not None:
        # Rejecting needs something to reject; staff in the app decide submitted claims only.
        raise NotFound(f"{email} has no verification claim under review", field="email")
    if owner.verified:
        raise AlreadyVerified(f"{email} is verified already", field="email")
    # The CLI verifies directly: record it as a claim without proof, decided from there.
    claim = C(owner_id=owner.id, status="pending", note="verified by ArbiBase staff (CLI)")
    session.add(claim)
    session.flush()
    return claim


def _verify_remotely(user_id: uuid.UUID) -> None:
    """Supabase mode: app_metadata.verified = true with the service key (LocalAuth: nothing)."""
    try:
        get_auth().set_verified(user_id, True)
    except AuthFailure as exc:
        log.error("could not set app_metadata.verified of %s: %s", user_id, exc)
        raise Unavailable(
            "Supabase Auth did not record the verification; nothing was changed, try again"
        ) from None
