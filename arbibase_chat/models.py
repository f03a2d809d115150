"""Tables and their public shapes (full-stack-fastapi-template style: XBase / X / XCreate / XPublic).

The schema itself is owned by Alembic (`alembic/versions`); these classes must match it, and
`tests/test_migrations.py` checks that they do.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Index, Text, false, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from arbibase_chat.db import UTCDateTime, utcnow

Role = Literal["operator", "owner"]
Tier = Literal["beta", "pro", "premium"]
ThreadStatus = Literal["active", "archived", "closed"]
MessageKind = Literal["text", "offer", "system"]

ROLES: tuple[str, ...] = ("operator", "owner")
# "Muted until I unmute" (a date no mute of 1 hour or 1 day ever reaches).
MUTED_FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
TIERS: tuple[str, ...] = ("beta", "pro", "premium")
THREAD_STATUSES: tuple[str, ...] = ("active", "archived", "closed")
# A negotiation's deal stage (services/deals.py): derived from its offers up to "agreed";
# the last steps ("lease_drafted", "signed", or "lost" with a reason) are set by a party.
DealStage = Literal[
    "inquiry", "offer_sent", "countered", "agreed", "lease_drafted", "signed", "lost"
]
DEAL_STAGES: tuple[str, ...] = (
    "inquiry",
    "offer_sent",
    "countered",
    "agreed",
    "lease_drafted",
    "signed",
    "lost",
)
OfferStatus = Literal["sent", "accepted", "declined", "countered", "withdrawn", "expired"]
OFFER_STATUSES: tuple[str, ...] = (
    "sent",
    "accepted",
    "declined",
    "countered",
    "withdrawn",
    "expired",
)

# JSONB on Postgres (indexable, compact), JSON text elsewhere.
JsonType = JSON().with_variant(JSONB(), "postgresql")


def _ts(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, **kwargs)


# --- users -------------------------------------------------------------------------------


class UserBase(SQLModel):
    email: str = Field(max_length=254)
    display_name: str = Field(max_length=80)
    role: str = Field(max_length=16)
    tier: str = Field(default="beta", max_length=16)
    verified: bool = False


class User(UserBase, table=True):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('operator', 'owner')", name="ck_users_role"),
        CheckConstraint("tier IN ('beta', 'pro', 'premium')", name="ck_users_tier"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = _ts()
    # ArbiBase staff: decide owners' verification claims (services/verification.py). Set only
    # by the CLI (`make-staff`); requests can never write `users` (alembic 0004, 0008).
    is_staff: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Set by a password reset: the app's own access tokens issued (`iat`) before it no longer
    # sign anyone in (identity.resolve_session). None: never reset.
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserPublic(SQLModel):
    id: uuid.UUID
    email: str
    display_name: str
    role: Role
    tier: Tier
    verified: bool
    is_staff: bool = False


# --- properties ----------------------------------------------------------------------------


class PropertyBase(SQLModel):
    title: str = Field(max_length=200)
    address: str = Field(max_length=300)
    city: str = Field(max_length=120)
    state: str | None = Field(default=None, max_length=60)
    monthly_rent_cents: int | None = Field(default=None, ge=0)
    bedrooms: int | None = Field(default=None, ge=0)
    bathrooms: float | None = Field(default=None, ge=0)
    square_feet: int | None = Field(default=None, ge=0)


class Property(PropertyBase, table=True):
    __tablename__ = "properties"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    created_at: datetime = _ts()


class PropertyCreate(PropertyBase):
    """What an owner sends to list a property (all of PropertyBase)."""


class PropertyPublic(PropertyBase):
    id: uuid.UUID
    owner_id: uuid.UUID
    created_at: datetime


# --- threads -------------------------------------------------------------------------------


class MessagingThread(SQLModel, table=True):
    __tablename__ = "messaging_threads"
    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'archived', 'closed')", name="ck_messaging_threads_status"
        ),
        CheckConstraint("operator_id <> owner_id", name="ck_messaging_threads_two_parties"),
        CheckConstraint(
            "stage IN ('inquiry', 'offer_sent', 'countered', 'agreed', 'lease_drafted', "
            "'signed', 'lost')",
            name="ck_messaging_threads_stage",
        ),
        # At most one *active* thread per property and operator-owner pair.
        Index(
            "uq_messaging_threads_one_active",
            "property_id",
            "operator_id",
            "owner_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    property_id: uuid.UUID = Field(foreign_key="properties.id", ondelete="CASCADE", index=True)
    operator_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    subject: str | None = Field(default=None, max_length=200)
    status: str = Field(default="active", max_length=16)
    # Sequence number of the newest message; messages are numbered 1, 2, 3... per thread.
    last_seq: int = 0
    last_message_at: datetime = _ts()
    created_at: datetime = _ts()
    # The deal stage (services/deals.py) and, for the hand-set steps, who set it and why.
    stage: str = Field(default="inquiry", max_length=16)
    stage_reason: str | None = Field(default=None, max_length=500)
    # No foreign key: always one of the two parties, whose deletion deletes the thread.
    stage_changed_by: uuid.UUID | None = None


class Participant(SQLModel, table=True):
    """Membership plus read cursor: one row per (thread, participant).

    `last_read_seq` is the cursor (unread = thread.last_seq - last_read_seq, O(1)).
    `last_message_at` mirrors the thread's so the inbox is one index range scan per user, and
    `last_seq` so the navbar total reads participant rows alone (both copied by a trigger when
    the thread's number moves, alembic 0015).
    """

    __tablename__ = "messaging_participants"
    __table_args__ = (
        CheckConstraint("role IN ('operator', 'owner')", name="ck_messaging_participants_role"),
        CheckConstraint("last_read_seq >= 0", name="ck_messaging_participants_cursor"),
        Index("ix_participants_inbox", "user_id", "last_message_at", "thread_id"),
        Index("ix_participants_inbox_role", "user_id", "role", "last_message_at", "thread_id"),
    )

    thread_id: uuid.UUID = Field(
        foreign_key="messaging_threads.id", ondelete="CASCADE", primary_key=True
    )
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    role: str = Field(max_length=16)
    last_read_seq: int = 0
    last_read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_message_at: datetime = _ts()
    last_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Per-participant mute (services/mutes.py): until then no notification, sound or e-mail,
    # and the thread is out of the navbar total. MUTED_FOREVER is "until I unmute".
    muted_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Per-participant archive (services/threads.py): out of my Active list only; the other
    # party's inbox is untouched. A new message in the thread clears it for both.
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ThreadTag(SQLModel, table=True):
    __tablename__ = "messaging_thread_tags"
    __table_args__ = (
        # "Lease Review" after "lease review" is the same tag (the first spelling stays).
        Index("uq_messaging_thread_tags_lower", "thread_id", text("lower(tag)"), unique=True),
    )

    thread_id: uuid.UUID = Field(
        foreign_key="messaging_threads.id", ondelete="CASCADE", primary_key=True
    )
    tag: str = Field(max_length=40, primary_key=True)
    created_by: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="SET NULL", index=True
    )
    created_at: datetime = _ts()


class MessagePreview(SQLModel):
    id: uuid.UUID
    sender_id: uuid.UUID
    body: str | None
    kind: MessageKind
    has_attachment: bool
    created_at: datetime


class ThreadPublic(SQLModel):
    # The seed's columns, unchanged...
    id: uuid.UUID
    property_id: uuid.UUID
    operator_id: uuid.UUID
    owner_id: uuid.UUID
    subject: str | None
    status: ThreadStatus
    last_message_at: datetime
    created_at: datetime
    # ...and what an inbox row needs.
    message_count: int
    unread_count: int
    last_read_seq: int
    # For "Seen": my messages up to this sequence number have been read by the other side.
    counterparty_last_read_seq: int
    tags: list[str]
    my_role: Role
    property_title: str
    stage: DealStage = "inquiry"
    # My mute of this thread (services/mutes.py); None or past: not muted.
    muted_until: datetime | None = None
    # When I archived it (mine only; `status` is then "archived" unless the thread is closed).
    archived_at: datetime | None = None
    counterparty_id: uuid.UUID
    counterparty_name: str
    last_message: MessagePreview | None


# --- messages ------------------------------------------------------------------------------


class MessagingMessage(SQLModel, table=True):
    __tablename__ = "messaging_messages"
    __table_args__ = (
        CheckConstraint("kind IN ('text', 'offer', 'system')", name="ck_messaging_messages_kind"),
        CheckConstraint("seq > 0", name="ck_messaging_messages_seq"),
        Index("uq_messaging_messages_thread_seq", "thread_id", "seq", unique=True),
        # Idempotent sends: a retry with the same client_msg_id finds the first message.
        Index(
            "uq_messaging_messages_client_msg",
            "thread_id",
            "sender_id",
            "client_msg_id",
            unique=True,
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    thread_id: uuid.UUID = Field(foreign_key="messaging_threads.id", ondelete="CASCADE")
    seq: int
    sender_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    body: str | None = Field(default=None, sa_type=Text)
    attachment_url: str | None = Field(default=None, max_length=2048)
    seen_by: list[str] = Field(default_factory=list, sa_column=Column(JsonType, nullable=False))
    kind: str = Field(default="text", max_length=16)
    client_msg_id: str | None = Field(default=None, max_length=64)
    meta: dict[str, Any] | None = Field(default=None, sa_column=Column("metadata", JsonType))
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _ts()


class MessagingMessageEdit(SQLModel, table=True):
    """The audit of a message's edits and its deletion: the text it had before (alembic 0009).

    Written by the service on SQLite and by 0009's trigger on PostgreSQL (for every writer);
    participants read it, nobody else writes it."""

    __tablename__ = "messaging_message_edits"
    __table_args__ = (
        CheckConstraint("action IN ('edit', 'delete')", name="ck_messaging_message_edits_action"),
        Index("ix_messaging_message_edits_message", "message_id", "edited_at"),
        # RLS reaches "my thread" through it (and the thread's ON DELETE CASCADE uses it).
        Index("ix_messaging_message_edits_thread", "thread_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    message_id: uuid.UUID = Field(foreign_key="messaging_messages.id", ondelete="CASCADE")
    thread_id: uuid.UUID = Field(foreign_key="messaging_threads.id", ondelete="CASCADE")
    editor_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="SET NULL", index=True
    )
    action: str = Field(max_length=16)
    previous_body: str | None = Field(default=None, sa_type=Text)
    edited_at: datetime = _ts()


class MessagePublic(BaseModel):
    id: uuid.UUID
    thread_id: uuid.UUID
    sender_id: uuid.UUID
    body: str | None
    attachment_url: str | None
    seen_by: list[uuid.UUID]
    created_at: datetime
    seq: int
    kind: MessageKind
    client_msg_id: str | None
    metadata: dict[str, Any] | None
    edited_at: datetime | None
    deleted_at: datetime | None
    # The uploaded file behind attachment_url (name, size, type, thumbnail), when there is one.
    attachment: AttachmentPublic | None = None


class ReadState(SQLModel):
    thread_id: uuid.UUID
    user_id: uuid.UUID
    last_read_seq: int
    unread_count: int


class PropertyUnread(SQLModel):
    property_id: uuid.UUID
    property_title: str
    thread_count: int
    message_count: int
    unread_count: int
    last_message_at: datetime | None


class ThreadOpened(BaseModel):
    id: uuid.UUID
    created: bool


class ThreadPage(BaseModel):
    items: list[ThreadPublic]
    # Opaque keyset cursor for the next (older) page; None on the last page.
    next_cursor: str | None


# --- attachments ---------------------------------------------------------------------------


class MessagingAttachment(SQLModel, table=True):
    """An uploaded file. The bytes live under `attachments_dir/<storage_key>` (a generated
    name); `filename` is the sanitized original name, for display only."""

    __tablename__ = "messaging_attachments"
    __table_args__ = (
        CheckConstraint("size_bytes >= 0", name="ck_messaging_attachments_size"),
        # A thread's files, newest last (and the index the thread's ON DELETE CASCADE uses).
        Index("ix_messaging_attachments_thread", "thread_id", "created_at"),
        # One attachment per message; also finds a message's attachment.
        Index("uq_messaging_attachments_message", "message_id", unique=True),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    thread_id: uuid.UUID = Field(foreign_key="messaging_threads.id", ondelete="CASCADE")
    uploader_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    message_id: uuid.UUID | None = Field(
        default=None, foreign_key="messaging_messages.id", ondelete="SET NULL"
    )
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=127)
    size_bytes: int = Field(sa_type=BigInteger)
    storage_key: str = Field(max_length=200)
    thumbnail_key: str | None = Field(default=None, max_length=200)
    created_at: datetime = _ts()


class AttachmentPublic(BaseModel):
    id: uuid.UUID
    thread_id: uuid.UUID
    uploader_id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    is_image: bool
    has_thumbnail: bool
    # Where participants download it (`/api/attachments/{id}`, `?variant=thumbnail`).
    url: str
    thumbnail_url: str | None
    created_at: datetime


# --- offers ---------------------------------------------------------------------------------


class MessagingOffer(SQLModel, table=True):
    """One version of an offer in a thread (services/offers.py).

    Versions are numbered 1, 2, 3... per thread; a counter links to the version it answers
    (`parent_id`). A version is immutable once made except for its status and decision.
    `terms` is what both parties see; the operator's private numbers live in
    `messaging_offer_numbers`, which the owner reads only when the operator shared them.
    """

    __tablename__ = "messaging_offers"
    __table_args__ = (
        CheckConstraint(
            "status IN ('sent', 'accepted', 'declined', 'countered', 'withdrawn', 'expired')",
            name="ck_messaging_offers_status",
        ),
        CheckConstraint("version > 0", name="ck_messaging_offers_version"),
        Index("uq_messaging_offers_thread_version", "thread_id", "version", unique=True),
        # At most one open offer per thread: the latest version is the only actionable one.
        Index(
            "uq_messaging_offers_one_open",
            "thread_id",
            unique=True,
            sqlite_where=text("status = 'sent'"),
            postgresql_where=text("status = 'sent'"),
        ),
        # The expiry sweep's range scan.
        Index(
            "ix_messaging_offers_open_expiry",
            "expires_at",
            sqlite_where=text("status = 'sent'"),
            postgresql_where=text("status = 'sent'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    thread_id: uuid.UUID = Field(foreign_key="messaging_threads.id", ondelete="CASCADE")
    version: int
    parent_id: uuid.UUID | None = Field(
        default=None, foreign_key="messaging_offers.id", ondelete="SET NULL"
    )
    made_by: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    terms: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))
    status: str = Field(default="sent", max_length=16)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    message_id: uuid.UUID | None = Field(
        default=None, foreign_key="messaging_messages.id", ondelete="SET NULL"
    )
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = _ts()


class MessagingOfferNumbers(SQLModel, table=True):
    """The operator's ROI snapshot of an offer, frozen when it was made; private unless shared."""

    __tablename__ = "messaging_offer_numbers"

    offer_id: uuid.UUID = Field(
        foreign_key="messaging_offers.id", ondelete="CASCADE", primary_key=True
    )
    operator_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    inputs: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))
    roi: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))
    shared: bool = False


MessagePublic.model_rebuild()  # `attachment` refers to AttachmentPublic, defined above


# --- owner verification (issue #11) --------------------------------------------------------

ClaimStatus = Literal["pending", "approved", "rejected"]
CLAIM_STATUSES: tuple[str, ...] = ("pending", "approved", "rejected")


class OwnerVerificationClaim(SQLModel, table=True):
    """An owner's request to be verified, with the proof document they uploaded.

    The proof is stored like an attachment (same checks) under `verification/<owner_id>/<id>`;
    only the owner and staff may download it (services/verification.py). At most one pending
    claim per owner; a decision records who (None: the CLI) and when.
    """

    __tablename__ = "owner_verification_claims"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')",
            name="ck_owner_verification_claims_status",
        ),
        Index(
            "uq_owner_verification_claims_one_pending",
            "owner_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_owner_verification_claims_owner", "owner_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    status: str = Field(default="pending", max_length=16)
    # The proof document (absent for a claim staff recorded directly from the CLI).
    proof_filename: str | None = Field(default=None, max_length=255)
    proof_content_type: str | None = Field(default=None, max_length=127)
    proof_size_bytes: int | None = Field(default=None, sa_type=BigInteger)
    proof_key: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=1000)
    reason: str | None = Field(default=None, max_length=1000)
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _ts()


class ClaimPublic(BaseModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    owner_name: str
    owner_email: str
    status: ClaimStatus
    has_proof: bool
    proof_filename: str | None
    proof_content_type: str | None
    proof_size_bytes: int | None
    # Where the owner and staff download the proof (`/api/verification/claims/{id}/proof`).
    proof_url: str | None
    note: str | None
    reason: str | None
    decided_at: datetime | None
    created_at: datetime


# --- notifications: settings, the e-mail outbox, reply tokens (alembic 0010) ----------------

EMAIL_OUTBOX_STATES: tuple[str, ...] = ("pending", "sending", "sent", "skipped", "failed")


class NotificationSettings(SQLModel, table=True):
    """A user's own notification choices kept on the server (the browser's own switches, desktop
    notifications and sound, live in that browser). No row: the defaults."""

    __tablename__ = "messaging_notification_settings"

    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    # The global e-mail opt-out (services/notification_settings.py).
    email_enabled: bool = True
    updated_at: datetime = _ts()


class NotificationSettingsPublic(BaseModel):
    email_enabled: bool


class EmailOutbox(SQLModel, table=True):
    """One e-mail owed to a participant about a thread (services/email_outbox.py).

    Written in the transaction of the message that makes it due; one *pending* row per
    (thread, recipient) batches what arrives until it is sent. `sending` rows are claimed;
    a claim older than the lease (a worker died) is claimed again."""

    __tablename__ = "messaging_email_outbox"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'skipped', 'failed')",
            name="ck_messaging_email_outbox_state",
        ),
        Index(
            "uq_messaging_email_outbox_pending",
            "thread_id",
            "user_id",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_messaging_email_outbox_due", "state", "due_at"),
        Index("ix_messaging_email_outbox_recipient", "user_id", "thread_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    thread_id: uuid.UUID = Field(foreign_key="messaging_threads.id", ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    # The first message of the batch; the e-mail covers it and what came after.
    first_seq: int
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    state: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The newest message the sent e-mail showed (a later batch skips what it already covered).
    through_seq: int | None = None
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    email_message_id: str | None = Field(default=None, max_length=255)
    # Why it was skipped or failed (read meanwhile, muted, opted out, ...).
    note: str | None = Field(default=None, max_length=300)
    created_at: datetime = _ts()


class EmailToken(SQLModel, table=True):
    """A reply-by-e-mail / unsubscribe token of one recipient in one thread. Only its SHA-256
    is stored; the token itself is in the e-mail (`reply+<token>@EMAIL_REPLY_DOMAIN`)."""

    __tablename__ = "messaging_email_tokens"
    __table_args__ = (Index("ix_messaging_email_tokens_pair", "user_id", "thread_id"),)

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    thread_id: uuid.UUID = Field(foreign_key="messaging_threads.id", ondelete="CASCADE")
    created_at: datetime = _ts()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class PasswordResetToken(SQLModel, table=True):
    """A password-reset link of a local account (services/password_resets.py). Only the
    token's SHA-256 is stored; the token itself is in the e-mail (`/reset?token=...`)."""

    __tablename__ = "password_reset_tokens"
    __table_args__ = (Index("ix_password_reset_tokens_user", "user_id"),)

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    created_at: datetime = _ts()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
