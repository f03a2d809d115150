"""The /forgot and /reset pages: the login page's card (pages/login.py), its fields and its
wait-for-the-connection submit buttons; states in pages/password_reset.py."""

from __future__ import annotations

import reflex as rx

from arbibase_chat import routes
from arbibase_chat.pages.login import _NOT_READY, _card, _field
from arbibase_chat.pages.password_reset import ForgotState, ResetState
from arbibase_chat.services import accounts, password_resets


def _error(text: rx.Var, **props: object) -> rx.Component:
    return rx.cond(
        text != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle_alert")),
            rx.callout.text(text),
            color_scheme="red",
            id="auth-error",
            role="alert",
            **props,
        ),
    )


def _back_to_login() -> rx.Component:
    return rx.text(
        "Remembered it? ",
        rx.link("Log in", href=routes.LOGIN, underline="always"),
        size="2",
    )


def forgot_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            rx.text(
                "Enter the e-mail address of your account: we send you a link to choose a new "
                "password.",
                size="2",
                color=rx.color("gray", 11),
            ),
            _field("Email", "email", "email", auto_complete="email", placeholder="you@example.com"),
            rx.button(
                "Send reset link",
                type="submit",
                size="3",
                width="100%",
                id="forgot-submit",
                disabled=_NOT_READY,
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=ForgotState.request_link,
        method="post",
        width="100%",
    )
    sent = rx.callout(
        password_resets.SENT + " It works for an hour; check your spam folder too.",
        icon="mail",
        color_scheme="green",
        id="forgot-sent",
        role="status",
    )
    elsewhere = rx.callout(
        password_resets.ELSEWHERE, icon="info", color_scheme="blue", id="forgot-elsewhere"
    )
    body = rx.cond(ForgotState.elsewhere, elsewhere, rx.cond(ForgotState.sent, sent, form))
    return _card("Reset your password", body, _back_to_login(), alerts=_error(ForgotState.error))


def reset_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            _field(
                "New password (at least 10 characters)",
                "password",
                "password",
                auto_complete="new-password",
                min_length=accounts.MIN_PASSWORD_CHARS,
            ),
            _field(
                "Repeat the new password",
                "confirm",
                "password",
                auto_complete="new-password",
                min_length=accounts.MIN_PASSWORD_CHARS,
            ),
            rx.button(
                "Set new password",
                type="submit",
                size="3",
                width="100%",
                id="reset-submit",
                disabled=_NOT_READY,
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=ResetState.set_password,
        method="post",
        width="100%",
    )
    new_link = rx.text(
        rx.link("Ask for a new link", href=routes.FORGOT, id="reset-new-link", underline="always"),
        size="2",
    )
    no_token = rx.callout(
        "This page needs the link from your reset e-mail.",
        icon="info",
        color_scheme="blue",
        id="reset-no-token",
    )
    body = rx.cond(
        ResetState.has_token,
        rx.vstack(form, rx.cond(ResetState.link_invalid, new_link), spacing="3", width="100%"),
        rx.vstack(no_token, new_link, spacing="3", width="100%"),
    )
    return _card("Choose a new password", body, _back_to_login(), alerts=_error(ResetState.error))
