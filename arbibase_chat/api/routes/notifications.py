"""Per-thread mute and my notification settings (issue #12, part 3)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from arbibase_chat.api.deps import CurrentUser, Db, run
from arbibase_chat.api.schemas import MuteIn, MuteState, NotificationSettingsIn
from arbibase_chat.models import NotificationSettingsPublic
from arbibase_chat.services import mutes, notification_settings

router = APIRouter(tags=["notifications"])


@router.put("/api/messages/threads/{threadId}/mute", response_model=MuteState, name="mute_thread")
async def mute_thread(threadId: uuid.UUID, body: MuteIn, user_id: CurrentUser, db: Db) -> MuteState:
    """Mute a thread for me only (no notification, sound or e-mail; out of my unread total)."""
    until = await run(
        mutes.set_mute, user_id=user_id, thread_id=threadId, duration=body.duration, db=db
    )
    return MuteState(thread_id=threadId, muted_until=until)


@router.get("/api/me/settings", response_model=NotificationSettingsPublic, name="get_my_settings")
async def get_my_settings(user_id: CurrentUser, db: Db) -> NotificationSettingsPublic:
    return await run(notification_settings.get_settings, user_id=user_id, db=db)


@router.patch(
    "/api/me/settings", response_model=NotificationSettingsPublic, name="update_my_settings"
)
async def update_my_settings(
    body: NotificationSettingsIn, user_id: CurrentUser, db: Db
) -> NotificationSettingsPublic:
    """The global e-mail opt-out (`emailEnabled: false`: no notification e-mails at all)."""
    return await run(
        notification_settings.set_email_enabled, user_id=user_id, enabled=body.emailEnabled, db=db
    )
