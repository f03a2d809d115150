"""Forgotten passwords (issue #13): `ForgotState` asks for a link (/forgot), `ResetState`
sets a new password with it (/reset?token=...); views in pages/password_reset_view.py.

Thin, like LoginState: parse the form, call the service, show its words. Every public method
is an event the browser may send with any payload (tests/test_event_surface.py): nothing here
takes an identity; the link's token is the only credential, and the service checks it.
/forgot says the same thing whether or not the address has an account.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.mail import password_reset
from arbibase_chat.pages.login import LoginState
from arbibase_chat.services import password_resets
from arbibase_chat.services.errors import DomainError

MISMATCH = "The two passwords are not the same."
CHANGED = "Your password was changed. Log in with your new password."


def _form(form_data: Any) -> dict[str, Any]:
    return form_data if isinstance(form_data, dict) else {}


class ForgotState(rx.State):
    error: str = ""
    sent: bool = False
    # Supabase mode: the passwords (and their resets) are Supabase Auth's.
    elsewhere: bool = False

    @rx.event
    def load(self):
        self.error = ""
        self.sent = False
        self.elsewhere = not password_resets.local_accounts()

    @rx.event
    async def request_link(self, form_data: dict[str, Any]):
        self.error = ""
        try:
            await password_reset.request(
                email=_form(form_data).get("email", ""), client=self.router.session.client_ip
            )
        except DomainError as exc:
            self.error = exc.message
            return
        self.sent = True


class ResetState(rx.State):
    error: str = ""
    # The link's token is not valid (any more): the page offers a new link.
    link_invalid: bool = False
    has_token: bool = False

    def _token(self) -> str:
        return str(self.router.page.params.get("token", "") or "")

    @rx.event
    def load(self):
        self.error = ""
        self.has_token = bool(self._token())
        self.link_invalid = False

    @rx.event
    async def set_password(self, form_data: dict[str, Any]):
        self.error = ""
        form = _form(form_data)
        password = form.get("password", "")
        if password != form.get("confirm", ""):
            self.error = MISMATCH
            return None
        try:
            await aio.call_password(
                password_resets.reset_password, token=self._token(), new_password=password
            )
        except DomainError as exc:
            self.error = exc.message
            self.link_invalid = exc.code == "invalid_reset_token"
            return None
        login = await self.get_state(LoginState)
        login.error = ""
        login.notice = CHANGED
        return rx.redirect(routes.LOGIN)
