"""The /settings page's view: this browser's notifications and sound, my e-mails (state in
pages/settings.py; the browser side in assets/notify.js)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from arbibase_chat.pages.inbox_view import inbox_navbar
from arbibase_chat.pages.settings import PERMISSIONS, NotifyPrefs, SettingsState


def _setting(
    icon: str, title: str, help_text: Any, control: rx.Component, *below: rx.Component
) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon(icon, size=20, color=rx.color("accent", 10), flex_shrink="0", margin_top="2px"),
            rx.vstack(
                rx.text(title, weight="medium", size="3"),
                rx.text(help_text, size="2", color=rx.color("gray", 11)),
                spacing="1",
                flex="1",
                min_width="0",
            ),
            control,
            align="start",
            spacing="3",
            width="100%",
        ),
        *below,
        spacing="2",
        width="100%",
    )


def _switch(switch_id: str, label: str, checked: Any, on_change: Any) -> rx.Component:
    return rx.switch(
        checked=checked,
        on_change=on_change,
        id=switch_id,
        aria_label=label,
        size="2",
        flex_shrink="0",
        margin_top="2px",
    )


def _permission_note() -> rx.Component:
    return rx.match(
        NotifyPrefs.permission,
        (
            "denied",
            rx.callout(
                "Blocked by the browser. Allow notifications for this site in the browser's "
                "site settings, then turn this on again.",
                icon="bell-off",
                color_scheme="orange",
                size="1",
                id="notify-blocked",
            ),
        ),
        (
            "unsupported",
            rx.callout(
                "This browser cannot show notifications.",
                icon="info",
                color_scheme="gray",
                size="1",
                id="notify-unsupported",
            ),
        ),
        rx.fragment(),
    )


def _permission_reports() -> rx.Component:
    # Clicked by assets/notify.js with what the browser answered (or holds on page load).
    return rx.fragment(
        *[
            rx.el.button(
                id=f"notify-permission-{value}",
                on_click=NotifyPrefs.set_permission(value),
                hidden=True,
                type="button",
            )
            for value in PERMISSIONS
        ]
    )


def _section(title: str, *children: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.text(
            title,
            size="1",
            weight="bold",
            color=rx.color("gray", 11),
            text_transform="uppercase",
            letter_spacing="0.04em",
        ),
        *children,
        spacing="4",
        width="100%",
    )


def settings_content() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon("bell", size=26, color=rx.color("accent", 10)),
            rx.heading("Notifications", size="6"),
            align="center",
            spacing="2",
        ),
        _section(
            "This browser",
            _setting(
                "monitor",
                "Desktop notifications",
                "A notice for each new message while this tab is in the background.",
                _switch(
                    "notify-desktop-switch",
                    "Desktop notifications",
                    NotifyPrefs.desktop_on,
                    NotifyPrefs.set_desktop,
                ),
                _permission_note(),
            ),
            _setting(
                "volume-2",
                "Sound",
                "A short chime for new messages in other conversations, or while this tab is "
                "in the background.",
                _switch(
                    "notify-sound-switch", "Sound", NotifyPrefs.sound_on, NotifyPrefs.set_sound
                ),
            ),
        ),
        rx.separator(size="4"),
        _section(
            "My account",
            _setting(
                "mail",
                "E-mail notifications",
                "An e-mail when a message has waited unread for a few minutes, in "
                "conversations on the Premium plan.",
                rx.cond(
                    SettingsState.loaded,
                    _switch(
                        "notify-email-switch",
                        "E-mail notifications",
                        SettingsState.email_enabled,
                        SettingsState.set_email,
                    ),
                    rx.spinner(size="2", margin_top="2px"),
                ),
            ),
        ),
        rx.separator(size="4"),
        rx.callout(
            "A muted conversation stays quiet: no notification, e-mail or sound, and it is "
            "left out of the Inbox total. Mute one from the bell in its header.",
            icon="bell-off",
            color_scheme="gray",
            variant="surface",
            size="1",
        ),
        _permission_reports(),
        spacing="5",
        width="100%",
        id="settings",
    )


def settings_page() -> rx.Component:
    return rx.box(
        inbox_navbar(),
        rx.center(
            rx.card(
                settings_content(),
                width="100%",
                max_width="560px",
                size=rx.breakpoints(initial="2", sm="3"),
            ),
            padding=["12px", "32px 16px"],
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
