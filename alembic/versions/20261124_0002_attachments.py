"""Attachments: uploaded files of a thread, optionally linked to the message that sent them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "messaging_attachments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "thread_id",
            sa.Uuid(),
            sa.ForeignKey("messaging_threads.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "uploader_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "message_id", sa.Uuid(), sa.ForeignKey("messaging_messages.id", ondelete="SET NULL")
        ),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("thumbnail_key", sa.String(200)),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("size_bytes >= 0", name="ck_messaging_attachments_size"),
    )
    op.create_index(
        "ix_messaging_attachments_thread", "messaging_attachments", ["thread_id", "created_at"]
    )
    op.create_index(
        "ix_messaging_attachments_uploader_id", "messaging_attachments", ["uploader_id"]
    )
    op.create_index(
        "uq_messaging_attachments_message", "messaging_attachments", ["message_id"], unique=True
    )


def downgrade() -> None:
    op.drop_table("messaging_attachments")
