"""Small builders for service tests; they go through the services like a user would."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.engine import Engine

from arbibase_chat.models import AttachmentPublic, PropertyPublic, UserPublic
from arbibase_chat.services import accounts, attachments, properties, threads

PASSWORD = "correct horse battery staple"


def user(
    db: Engine,
    role: str = "operator",
    *,
    verified: bool = True,
    name: str | None = None,
    tier: str = "pro",
) -> UserPublic:
    """A user; Pro by default, so their threads share files (tests of tier gating say so)."""
    return accounts.sign_up(
        email=f"{role}-{uuid.uuid4().hex[:10]}@Example.com",
        password=PASSWORD,
        display_name=name or f"{role.title()} {uuid.uuid4().hex[:4]}",
        role=role,
        verified=verified,
        tier=tier,
        db=db,
    )


def listing(db: Engine, owner: UserPublic, title: str = "3BR near the beach") -> PropertyPublic:
    return properties.create_property(
        user_id=owner.id,
        data={
            "title": title,
            "address": "12 Ocean Ave",
            "city": "Miami",
            "monthly_rent_cents": 350_000,
            "bedrooms": 3,
        },
        db=db,
    )


class Pair:
    """An operator, a verified owner, a property and their thread."""

    def __init__(self, db: Engine, *, owner_verified: bool = True) -> None:
        self.db = db
        self.operator = user(db, "operator")
        self.owner = user(db, "owner", verified=owner_verified)
        self.property = listing(db, self.owner)
        self.thread_id = threads.get_or_create_thread(
            user_id=self.operator.id,
            property_id=self.property.id,
            owner_id=self.owner.id,
            subject="Lease offer",
            db=db,
        ).id


def open_attachment(
    *,
    user_id: uuid.UUID,
    attachment_id: Any,
    variant: Literal["original", "thumbnail"] = "original",
    db: Engine,
) -> tuple[AttachmentPublic, Path]:
    """`attachments.locate_attachment` on local storage: the record and the file's path."""
    public, where = attachments.locate_attachment(
        user_id=user_id, attachment_id=attachment_id, variant=variant, db=db
    )
    assert isinstance(where, Path), where
    return public, where
