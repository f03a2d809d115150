"""Who is signed in: identity lives in backend-only vars, never in event arguments.

The browser can call every public method of a state class, with any payload (Reflex makes
each one an event handler): so nothing here that sets or reads identity is public. The only
input is the access token the browser holds (a SameSite=strict cookie, which hydration hands
to `access_token` on every connect and reconnect): `_current_user_id` verifies it on the
server and keeps the result in backend-only vars, which never reach the browser.

Identity follows the token. A different token (another user's, or garbage) is verified again
before anything else runs; a token past its `exp`, or whose user is gone (checked again at
least every RECHECK_SECONDS), ends the session. When the identity ends or changes, every
state registered with `user_view` is reset, so one user's inbox never stays in a tab that now
belongs to someone else.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import reflex as rx
from reflex.middleware import Middleware
from reflex_base.constants.state import FIELD_MARKER

from arbibase_chat import aio, routes
from arbibase_chat.config import ACCESS_TOKEN_COOKIE, get_settings
from arbibase_chat.models import UserPublic
from arbibase_chat.realtime import views as live
from arbibase_chat.realtime.updates import AccountChanged, Update
from arbibase_chat.services import identity, tokens
from arbibase_chat.services.errors import AuthenticationFailed, Unavailable

# How long a verified session trusts that its user still exists before reading it again.
RECHECK_SECONDS = 30.0

# States holding one user's data (inbox rows, an open thread): reset when identity changes.
_USER_VIEWS: list[type[rx.State]] = []
# What a re-read of the user's row may change while they stay signed in (verification by
# staff, a staff account, a tier): the views that depend on it are told (`_account_changed`).
ACCOUNT_FIELDS = ("role", "tier", "verified", "is_staff")


def user_view(cls: type[rx.State]) -> type[rx.State]:
    """Class decorator: this state shows the signed-in user's data (see module docstring)."""
    _USER_VIEWS.append(cls)
    return cls


@live.live_view
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
    _token: str = ""  # the token `_user_id` was verified from
    _expires_at: int = 0  # that token's `exp` (Unix time); 0: none
    _checked_at: float = 0.0  # when the user's row was last read
    display_name: str = ""
    email: str = ""
    role: str = ""
    tier: str = ""
    verified: bool = False
    # For the UI only (the staff page's link, what it shows); services decide who is staff.
    is_staff: bool = False

    @rx.var
    def signed_in(self) -> bool:
        return bool(self.display_name)

    # --- backend only (never event handlers: every name starts with "_") ---------------------

    async def _sign_in(self, user: UserPublic, access_token: str) -> None:
        """Called by the login/sign-up handlers after the service authenticated the user;
        `access_token` is the app's own token, or Supabase's in Supabase mode."""
        if self._user_id != str(user.id):
            await self._reset_views()
        self.access_token = access_token
        self._remember(user, access_token, tokens.expiry(access_token))

    def _remember(self, user: UserPublic, token: str, expires_at: int) -> bool:
        """Keep the verified identity; True when an account field changed for the same user."""
        same_user = self._user_id == str(user.id)
        changed = False
        self._user_id = str(user.id)
        self._token = token
        self._expires_at = expires_at
        self._checked_at = time.time()
        for name, value in (
            ("display_name", user.display_name),
            ("email", user.email),
            ("role", user.role),
            ("tier", user.tier),
            ("verified", user.verified),
            ("is_staff", user.is_staff),
        ):
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed = changed or name in ACCOUNT_FIELDS
        return same_user and changed

    def _forget(self) -> None:
        self.access_token = ""
        self._user_id = self._token = ""
        self._expires_at = 0
        self._checked_at = 0.0
        self.display_name = self.email = self.role = self.tier = ""
        self.verified = self.is_staff = False

    async def _reset_views(self) -> None:
        # No live pushes for the previous user either, until a page registers the tab again.
        live.leave(self.router.session.client_token)
        for cls in _USER_VIEWS:
            (await self.get_state(cls)).reset()

    async def _end(self) -> None:
        """The session's identity is over: forget it and everything shown for it."""
        self._forget()
        await self._reset_views()

    def _zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    async def _current_user_id(self) -> uuid.UUID | None:
        """The signed-in user's id, verified from the token the browser holds right now."""
        token = self.access_token
        if not token:
            # Also covers a log-out in another tab (the cookie is shared by all tabs).
            if self._user_id:
                await self._end()
            return None
        now = time.time()
        same_token = bool(self._user_id) and token == self._token
        if same_token and self._expires_at and now >= self._expires_at:
            await self._end()
            return None
        if same_token and now - self._checked_at < RECHECK_SECONDS:
            return uuid.UUID(self._user_id)
        try:
            # In a thread: reads the user's row; in Supabase mode may fetch the JWKS and write it.
            found = await aio.call(identity.resolve_session, token=token)
        except Unavailable:
            # Supabase's keys could not be fetched: a token already verified stays trusted
            # until its own expiry; a new one is not signed in for now (and is kept).
            return uuid.UUID(self._user_id) if same_token else None
        except AuthenticationFailed:
            await self._end()
            return None
        if self._user_id and self._user_id != str(found.user.id):
            await self._reset_views()  # the tab now belongs to someone else
        if self._remember(found.user, token, found.expires_at):
            await self._account_changed(found.user.id)
        return found.user.id

    async def _account_changed(self, user_id: uuid.UUID) -> None:
        """The re-read found the account changed (e.g. verified by staff from the CLI, which
        on SQLite has no way to push): the other live views update as if it had been pushed."""
        for cls in live.registered():
            if cls is not SessionState:
                await (await self.get_state(cls))._live_apply(AccountChanged(user_id))

    # --- live view (realtime/views.py) --------------------------------------------------------

    async def _live_apply(self, update: Update) -> str | None:
        """Pushed: the account changed (AccountUpdated). Read it again now, not in 30 s."""
        if isinstance(update, AccountChanged) and self._user_id == str(update.user_id):
            self._checked_at = 0.0
            await self._current_user_id()
        return None

    async def _live_resync(self, user_id: uuid.UUID) -> str | None:
        # Events may have been missed, an account change among them.
        if self._user_id == str(user_id):
            self._checked_at = 0.0
            await self._current_user_id()
        return None

    # --- events the browser may send ----------------------------------------------------------

    @rx.event
    async def route_home(self):
        signed_in = await self._current_user_id() is not None
        return rx.redirect(routes.INBOX if signed_in else routes.LOGIN)

    @rx.event
    async def redirect_if_signed_in(self):
        if await self._current_user_id() is not None:
            # `?next=`: only a path of this site (routes.safe_next), else the inbox.
            return rx.redirect(routes.safe_next(self.router.page.params.get("next")))
        return None

    @rx.event
    async def log_out(self):
        await self._end()
        return rx.redirect(routes.LOGIN)


class IdentityOnHydrate(Middleware):
    """Before a (re)connecting tab gets its state snapshot: if the browser now holds another
    access token than the one this tab's identity was verified from (another user's, garbage,
    or none after a log-out elsewhere), end that identity first, so the snapshot carries none
    of the previous user's data. The next handler verifies the new token as usual."""

    CLIENT_STORAGE_EVENTS = ("hydrate_and_load", "hydrate", "update_vars_internal")

    async def preprocess(self, app: Any, state: Any, event: Any) -> None:
        if event.name.rpartition(".")[2] not in self.CLIENT_STORAGE_EVENTS:
            return None
        session = await state.get_state(SessionState)
        if not session._user_id:
            return None
        incoming = _incoming_token(getattr(event, "payload", None))
        if incoming is None and event.name.endswith("update_vars_internal"):
            return None  # a sync of other client storage: the cookie did not change
        if incoming != session._token:
            await session._end()
        return None


def _incoming_token(payload: Any) -> str | None:
    """The access-token cookie value a client-storage event is about to apply (None: absent)."""
    values = payload.get("vars") if isinstance(payload, dict) else None
    if not isinstance(values, dict):
        return None
    name = f"{SessionState.get_full_name()}.access_token"
    for key in (name, name + FIELD_MARKER):
        if key in values:
            value = values[key]
            return value if isinstance(value, str) else ""
    return None
