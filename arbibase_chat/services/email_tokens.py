"""Reply-by-e-mail and unsubscribe tokens: random, per (recipient, thread), stored, expiring.

The token goes out in the e-mail (`Reply-To: reply+<token>@EMAIL_REPLY_DOMAIN`, and the
unsubscribe link); only its SHA-256 is stored (`messaging_email_tokens`), so a copy of the
database sends no replies. 128 random bits in lower-case hex: a mail system that lower-cases
the local part of an address changes nothing. A token names the user who may act with it;
the inbound listener also checks that the reply comes from that user's address.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from arbibase_chat.config import get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.models import EmailToken, User
from arbibase_chat.services._tx import reading

TOKEN_RE = re.compile(r"[0-9a-f]{32}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class TokenOwner:
    user_id: uuid.UUID
    thread_id: uuid.UUID
    email: str
    display_name: str


def issue_in(
    session: Session, *, user_id: uuid.UUID, thread_id: uuid.UUID, now: datetime | None = None
) -> str:
    """A new token for this recipient and thread (in the caller's, elevated, transaction)."""
    now = now or utcnow()
    token = secrets.token_hex(16)
    session.add(
        EmailToken(
            token_hash=_digest(token),
            user_id=user_id,
            thread_id=thread_id,
            created_at=now,
            expires_at=now + timedelta(days=get_settings().email_reply_token_ttl_days),
        )
    )
    return token


def resolve(
    *, token: object, db: Engine | None = None, now: datetime | None = None
) -> TokenOwner | None:
    """Who a token lets act, in which thread; None when malformed, unknown or expired."""
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return None
    with reading(db, elevated="email-tokens") as session:
        row = session.execute(
            select(
                col(EmailToken.user_id),
                col(EmailToken.thread_id),
                col(User.email),
                col(User.display_name),
            )
            .join(User, col(User.id) == col(EmailToken.user_id))
            .where(
                col(EmailToken.token_hash) == _digest(token),
                col(EmailToken.expires_at) > (now or utcnow()),
            )
        ).first()
    if row is None:
        return None
    return TokenOwner(user_id=row[0], thread_id=row[1], email=row[2], display_name=row[3])
