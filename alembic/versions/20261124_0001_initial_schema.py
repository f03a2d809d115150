"""Initial schema: users, properties, threads, participants (read cursors), tags, messages.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("display_name", sa.String(80), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("role IN ('operator', 'owner')", name="ck_users_role"),
        sa.CheckConstraint("tier IN ('beta', 'pro', 'premium')", name="ck_users_tier"),
    )
    op.create_table(
        "properties",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "owner_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("city", sa.String(120), nullable=False),
        sa.Column("state", sa.String(60)),
        sa.Column("monthly_rent_cents", sa.Integer()),
        sa.Column("bedrooms", sa.Integer()),
        sa.Column("bathrooms", sa.Float()),
        sa.Column("square_feet", sa.Integer()),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_properties_owner_id", "properties", ["owner_id"])

    op.create_table(
        "messaging_threads",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "property_id",
            sa.Uuid(),
            sa.ForeignKey("properties.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "operator_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "owner_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("subject", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_message_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'archived', 'closed')", name="ck_messaging_threads_status"
        ),
        sa.CheckConstraint("operator_id <> owner_id", name="ck_messaging_threads_two_parties"),
    )
    op.create_index("ix_messaging_threads_property_id", "messaging_threads", ["property_id"])
    op.create_index("ix_messaging_threads_operator_id", "messaging_threads", ["operator_id"])
    op.create_index("ix_messaging_threads_owner_id", "messaging_threads", ["owner_id"])
    op.create_index(
        "uq_messaging_threads_one_active",
        "messaging_threads",
        ["property_id", "operator_id", "owner_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )

    op.create_table(
        "messaging_participants",
        sa.Column(
            "thread_id",
            sa.Uuid(),
            sa.ForeignKey("messaging_threads.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("last_read_seq", sa.Integer(), nullable=False),
        sa.Column("last_read_at", TS),
        sa.Column("last_message_at", TS, nullable=False),
        sa.CheckConstraint("role IN ('operator', 'owner')", name="ck_messaging_participants_role"),
        sa.CheckConstraint("last_read_seq >= 0", name="ck_messaging_participants_cursor"),
    )
    op.create_index(
        "ix_participants_inbox",
        "messaging_participants",
        ["user_id", "last_message_at", "thread_id"],
    )
    op.create_index(
        "ix_participants_inbox_role",
        "messaging_participants",
        ["user_id", "role", "last_message_at", "thread_id"],
    )

    op.create_table(
        "messaging_thread_tags",
        sa.Column(
            "thread_id",
            sa.Uuid(),
            sa.ForeignKey("messaging_threads.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tag", sa.String(40), primary_key=True),
        sa.Column("created_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("created_at", TS, nullable=False),
    )
    # ON DELETE SET NULL on users needs this to find the rows.
    op.create_index("ix_messaging_thread_tags_created_by", "messaging_thread_tags", ["created_by"])

    op.create_table(
        "messaging_messages",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "thread_id",
            sa.Uuid(),
            sa.ForeignKey("messaging_threads.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column(
            "sender_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("body", sa.Text()),
        sa.Column("attachment_url", sa.String(2048)),
        sa.Column("seen_by", JSON, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("client_msg_id", sa.String(64)),
        sa.Column("metadata", JSON),
        sa.Column("edited_at", TS),
        sa.Column("deleted_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "kind IN ('text', 'offer', 'system')", name="ck_messaging_messages_kind"
        ),
        sa.CheckConstraint("seq > 0", name="ck_messaging_messages_seq"),
    )
    op.create_index(
        "uq_messaging_messages_thread_seq", "messaging_messages", ["thread_id", "seq"], unique=True
    )
    op.create_index(
        "uq_messaging_messages_client_msg",
        "messaging_messages",
        ["thread_id", "sender_id", "client_msg_id"],
        unique=True,
    )
    op.create_index("ix_messaging_messages_sender_id", "messaging_messages", ["sender_id"])


def downgrade() -> None:
    op.drop_table("messaging_messages")
    op.drop_table("messaging_thread_tags")
    op.drop_table("messaging_participants")
    op.drop_table("messaging_threads")
    op.drop_table("properties")
    op.drop_table("users")
