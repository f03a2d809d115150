"""`/settings`: how this browser and my account tell me about new messages (issue #12).

Two kinds of setting. This browser's own (desktop notifications, sound) live in its
localStorage (`rx.LocalStorage`), where assets/notify.js, which does the notifying, reads
them: they belong to the browser, not to the user, so `NotifyPrefs` is not a user view. My
account's (e-mails) are the server's (services/notification_settings.py), behind
SessionState's identity.

The browser's permission to show notifications is asked by assets/notify.js from the
switch's own click, never on page load; it reports what the browser answered through hidden
buttons (`NotifyPrefs.set_permission`). Every public method here is an event the browser may
send with any payload (allow-listed in tests/test_event_surface.py).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.services import notification_settings
from arbibase_chat.services.errors import DomainError
from arbibase_chat.session import SessionState, user_view

ON = "on"
# What `Notification.permission` can be, and "unsupported" for a browser without the API.
PERMISSIONS = ("granted", "denied", "default", "unsupported")


class NotifyPrefs(rx.State):
    # Read by assets/notify.js under these names: keep them in step.
    desktop: str = rx.LocalStorage("", name="arbibase_notify_desktop", sync=True)
    sound: str = rx.LocalStorage("", name="arbibase_notify_sound", sync=True)
    permission: str = ""  # as assets/notify.js last reported it ("": not yet)

    @rx.var
    def desktop_on(self) -> bool:
        return self.desktop == ON and self.permission in ("", "granted")

    @rx.var
    def sound_on(self) -> bool:
        return self.sound == ON

    @rx.event
    def set_desktop(self, on: bool):
        """The switch. Its click also asks the browser's permission (assets/notify.js)."""
        if isinstance(on, bool):
            self.desktop = ON if on else ""

    @rx.event
    def set_sound(self, on: bool):
        if isinstance(on, bool):
            self.sound = ON if on else ""

    @rx.event
    def set_permission(self, value: str):
        """What the browser answers (or holds): without "granted" no notification can show,
        so the switch goes off rather than claim otherwise."""
        if value in PERMISSIONS:
            self.permission = value
            if value != "granted":
                self.desktop = ""


@user_view
class SettingsState(rx.State):
    """My account's choices (the server's): e-mails about messages I have not read."""

    email_enabled: bool = True
    loaded: bool = False

    async def _user(self):
        return await (await self.get_state(SessionState))._current_user_id()

    @rx.event
    async def load(self):
        user_id = await self._user()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        await (await self.get_state(InboxState))._load_badge(user_id)
        try:
            found = await aio.call(notification_settings.get_settings, user_id=user_id)
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self.email_enabled = found.email_enabled
        self.loaded = True
        return None

    @rx.event
    async def set_email(self, on: Any):
        if not isinstance(on, bool):
            return None
        user_id = await self._user()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        try:
            saved = await aio.call(
                notification_settings.set_email_enabled, user_id=user_id, enabled=on
            )
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self.email_enabled = saved.email_enabled
        return None
