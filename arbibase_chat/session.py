"""Who is signed in: identity lives in backend-only vars, never in event arguments.

The browser keeps only its own access token (a SameSite=strict cookie). On the first
event of a session the token is verified on the server and the user id goes into `_user_id`,
which is never sent to the browser and never read from an event payload.

In Supabase mode the token is Supabase Auth's (short-lived, 1 hour by default, and not
refreshed by the app): once it has expired the session signs out, so the page never looks
signed in while the REST calls it makes with the cookie (downloads, thumbnails) are refused.
"""

from __future__ import annotations

import time
import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.adapters import supabase_config
from arbibase_chat.config import ACCESS_TOKEN_COOKIE, get_settings
from arbibase_chat.models import UserPublic
from arbibase_chat.services import accounts, identity, tokens
from arbibase_chat.services.errors import AuthenticationFailed, NotFound, Unavailable


class SessionState(rx.State):
    # The same token the REST API accepts (Bearer header or this cookie), so the seed's
    # fetch('/api/...') calls from a signed-in page work. SameSite=strict: no cross-site use.
    access_token: str = rx.Cookie(
        "",
        name=ACCESS_TOKEN_COOKIE,
        path="/",
        same_site="strict",
        max_age=get_settings().access_token_ttl_seconds,
    )
    # The browser's IANA time zone (set by assets/chat.js) for day separators.
    time_zone: str = rx.Cookie("UTC", name="arbibase_tz", path="/", same_site="strict")
    _user_id: str = ""
    # Supabase mode: when the access token expires (Unix time); 0: not tracked (local mode).
    _expires_at: int = 0
    display_name: str = ""
    email: str = ""
    role: str = ""
    tier: str = ""
    verified: bool = False

    @rx.var
    def signed_in(self) -> bool:
        return bool(self.display_name)

    def sign_in(self, user: UserPublic, access_token: str) -> None:
        """Called by the login/sign-up handlers after the service authenticated the user;
        `access_token` is the app's own token, or Supabase's in Supabase mode."""
        self.access_token = access_token
        self._remember(user)
        self._track_expiry()

    def _track_expiry(self) -> None:
        self._expires_at = tokens.expiry(self.access_token) if supabase_config() else 0

    def _remember(self, user: UserPublic) -> None:
        self._user_id = str(user.id)
        self.display_name = user.display_name
        self.email = user.email
        self.role = user.role
        self.tier = user.tier
        self.verified = user.verified

    def _forget(self) -> None:
        self.access_token = ""
        self._user_id = ""
        self._expires_at = 0
        self.display_name = self.email = self.role = self.tier = ""
        self.verified = False

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    async def current_user_id(self) -> uuid.UUID | None:
        """The signed-in user's id, restoring it from the stored token when needed."""
        if not self.access_token:
            # Also covers a log-out in another tab (the cookie is shared by all tabs).
            if self._user_id:
                self._forget()
            return None
        if self._user_id:
            if self._expires_at and time.time() >= self._expires_at:
                self._forget()
                return None
            return uuid.UUID(self._user_id)
        try:
            # In a thread: in Supabase mode this may fetch the JWKS and write the user's row.
            user_id = await aio.call(identity.authenticate_token, token=self.access_token)
            user = await aio.call(accounts.get_user, user_id=user_id)
        except Unavailable:
            # Supabase's keys could not be fetched: not signed in for now, token kept.
            return None
        except (AuthenticationFailed, NotFound):
            self._forget()
            return None
        self._remember(user)
        self._track_expiry()
        return user.id

    @rx.event
    async def route_home(self):
        signed_in = await self.current_user_id() is not None
        return rx.redirect(routes.INBOX if signed_in else routes.LOGIN)

    @rx.event
    async def redirect_if_signed_in(self):
        if await self.current_user_id() is not None:
            return rx.redirect(routes.INBOX)
        return None

    @rx.event
    def log_out(self):
        self._forget()
        return rx.redirect(routes.LOGIN)
