"""Log in and sign up: local accounts, or Supabase Auth (supabase-py) when SUPABASE_URL is set.

Either way the services return the user and an access token, which goes into the same cookie
(ACCESS_TOKEN_COOKIE) that the REST API accepts; supabase-py's HTTP calls run in a worker
thread (`aio.call_password`), never on the event loop. The client's address for the sign-in /
sign-up limits is the socket's (`router.session.client_ip`; Reflex's trusted_proxy_hops, set
from TRUSTED_PROXY_HOPS in rxconfig.py); a refused attempt shows the service's "Too many
attempts. Try again in 2 minutes." in the error callout.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.services import accounts, identity
from arbibase_chat.services.errors import DomainError
from arbibase_chat.session import SessionState


class LoginState(rx.State):
    error: str = ""
    # Supabase projects that confirm e-mail addresses: the account exists, no session yet.
    notice: str = ""
    busy: bool = False
    # Sign-up with an e-mail that has an account: the error offers "Log in instead".
    email_taken: bool = False

    @rx.event
    async def log_in(self, form_data: dict[str, Any]):
        self.error = self.notice = ""
        self.email_taken = False
        try:
            signed_in = await aio.call_password(
                identity.password_sign_in,
                email=form_data.get("email", ""),
                password=form_data.get("password", ""),
                client=self.router.session.client_ip,
            )
        except DomainError as exc:
            self.error = exc.message
            return None
        session = await self.get_state(SessionState)
        await session._sign_in(signed_in.user, signed_in.access_token)
        # Back where a link sent them (an e-mail's offer link), if it is a page of this site.
        return rx.redirect(routes.safe_next(self.router.page.params.get("next")))

    @rx.event
    async def sign_up(self, form_data: dict[str, Any]):
        self.error = self.notice = ""
        self.email_taken = False
        try:
            signed_up = await aio.call_password(
                identity.password_sign_up,
                email=form_data.get("email", ""),
                password=form_data.get("password", ""),
                display_name=form_data.get("display_name", ""),
                role=form_data.get("role", "operator"),
                client=self.router.session.client_ip,
            )
        except DomainError as exc:
            self.error = exc.message
            self.email_taken = exc.code == "conflict" and exc.field == "email"
            return None
        if signed_up.signed_in is None:
            self.notice = (
                "Account created. Confirm your e-mail address with the link we sent you, "
                "then log in."
            )
            return rx.redirect(routes.LOGIN)
        session = await self.get_state(SessionState)
        await session._sign_in(signed_up.signed_in.user, signed_up.signed_in.access_token)
        return rx.redirect(routes.INBOX)

    @rx.event
    def clear_error(self):
        self.error = ""
        self.email_taken = False


# Until the page is connected the form has no handler: a click would make the browser submit
# it natively, as a GET that puts the password in the URL (seen on a slow first load). So the
# button waits for the connection, and the form says POST should it ever be submitted natively.
_NOT_READY = ~rx.State.is_hydrated


def _error_callout() -> rx.Component:
    return rx.fragment(
        rx.cond(
            LoginState.error != "",
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle_alert")),
                rx.callout.text(
                    LoginState.error,
                    rx.cond(
                        LoginState.email_taken,
                        rx.fragment(
                            " ",
                            rx.link(
                                "Log in instead",
                                href=routes.LOGIN,
                                id="login-instead",
                                weight="medium",
                                underline="always",
                            ),
                        ),
                    ),
                ),
                color_scheme="red",
                id="auth-error",
                role="alert",
            ),
        ),
        rx.cond(
            LoginState.notice != "",
            rx.callout(LoginState.notice, icon="mail", color_scheme="green", id="auth-notice"),
        ),
    )


def _field(label: str, name: str, kind: str = "text", **props: Any) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=name, style={"fontSize": "14px", "fontWeight": 500}),
        rx.input(name=name, id=name, type=kind, required=True, width="100%", size="3", **props),
        spacing="1",
        width="100%",
    )


def _card(
    title: str,
    body: rx.Component,
    footer: rx.Component,
    alerts: rx.Component | None = None,
) -> rx.Component:
    """The auth pages' card (log in, sign up, forgot / reset password); `alerts` replaces the
    login state's error and notice callouts."""
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("messages-square", size=28, color=rx.color("accent", 9)),
                    rx.heading("ArbiBase Chat", size="6"),
                    align="center",
                ),
                rx.heading(title, size="4", weight="medium"),
                alerts if alerts is not None else _error_callout(),
                body,
                footer,
                spacing="4",
                width="100%",
            ),
            width="100%",
            max_width="420px",
            size="4",
        ),
        min_height="100vh",
        padding="16px",
        background=rx.color("gray", 2),
    )


def login_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            _field("Email", "email", "email", auto_complete="email", placeholder="you@example.com"),
            _field("Password", "password", "password", auto_complete="current-password"),
            rx.link(
                "Forgot password?",
                href=routes.FORGOT,
                id="forgot-link",
                size="2",
                underline="always",
                align_self="end",
            ),
            rx.button(
                "Log in",
                type="submit",
                size="3",
                width="100%",
                id="login-submit",
                disabled=_NOT_READY,
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=LoginState.log_in,
        method="post",
        width="100%",
    )
    footer = rx.text(
        "New to ArbiBase? ",
        rx.link("Create an account", href=routes.SIGNUP, underline="always"),
        size="2",
    )
    return _card("Log in", form, footer)


def signup_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            _field("Your name", "display_name", auto_complete="name", max_length=80),
            _field("Email", "email", "email", auto_complete="email"),
            _field(
                "Password (at least 10 characters)",
                "password",
                "password",
                auto_complete="new-password",
                min_length=accounts.MIN_PASSWORD_CHARS,
            ),
            rx.vstack(
                rx.text("I am", size="2", weight="medium"),
                rx.radio_group(
                    ["operator", "owner"], name="role", default_value="operator", direction="row"
                ),
                spacing="1",
            ),
            rx.button(
                "Create account",
                type="submit",
                size="3",
                width="100%",
                id="signup-submit",
                disabled=_NOT_READY,
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=LoginState.sign_up,
        method="post",
        width="100%",
    )
    footer = rx.text(
        "Already have an account? ",
        rx.link("Log in", href=routes.LOGIN, underline="always"),
        size="2",
    )
    return _card("Create your account", form, footer)
