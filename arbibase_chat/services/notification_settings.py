"""A user's notification choices kept on the server: the global e-mail opt-out.

(Desktop notifications and sound are per browser and live there: assets/notify.js.) No stored
row means the defaults: e-mails on. The e-mail dispatcher reads the choice when an e-mail is
due (services/email_outbox.py), so turning e-mails off stops those already queued too.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from arbibase_chat.db import utcnow
from arbibase_chat.models import NotificationSettings, NotificationSettingsPublic
from arbibase_chat.services._tx import reading, transaction
from arbibase_chat.services.errors import Invalid


def email_enabled_in(session: Session, user_id: uuid.UUID) -> bool:
    row = session.get(NotificationSettings, user_id)
    return True if row is None else row.email_enabled


def get_settings(*, user_id: uuid.UUID, db: Engine | None = None) -> NotificationSettingsPublic:
    with reading(db, as_user=user_id) as session:
        return NotificationSettingsPublic(email_enabled=email_enabled_in(session, user_id))


def set_email_enabled(
    *, user_id: uuid.UUID, enabled: Any, db: Engine | None = None
) -> NotificationSettingsPublic:
    if not isinstance(enabled, bool):
        raise Invalid("email_enabled must be true or false", field="email_enabled")
    with transaction(db, as_user=user_id) as (session, _):
        row = session.get(NotificationSettings, user_id)
        if row is None:
            session.add(NotificationSettings(user_id=user_id, email_enabled=enabled))
        else:
            row.email_enabled = enabled
            row.updated_at = utcnow()
            session.add(row)
    return NotificationSettingsPublic(email_enabled=enabled)
