"""What every page shows while the event socket is down, in place of Reflex's default overlay.

Reflex's default is a toast ("Cannot connect to server: websocket error … ws://…/_event")
that sat over the composer's Send button, plus a pulsing icon in the bottom-right corner
(the same spot). Instead: one plain line at the top of the screen. Events fired meanwhile
(a send) wait in Reflex's client queue and go out on reconnect; assets/chat.js shows a
typed message as "Waiting for connection" until then (it looks for `#offline-banner`).
"""

from __future__ import annotations

import reflex as rx
from reflex_base.components.memo import memo

OFFLINE_TEXT = "Offline — messages will be sent when you reconnect"


def offline_banner() -> rx.Component:
    # Reflex's own condition (its client saw a connection error and is retrying).
    return rx.connection_banner(
        rx.hstack(
            rx.icon("wifi-off", size=16, flex_shrink="0"),
            # One line on a 375-px phone too (two covered the whole navbar).
            rx.text(OFFLINE_TEXT, size=rx.breakpoints(initial="1", sm="2"), weight="medium"),
            id="offline-banner",
            role="status",
            align="center",
            justify="center",
            spacing="2",
            position="fixed",
            top="0",
            left="0",
            right="0",
            z_index="1000",
            padding="6px 12px",
            background=rx.color("amber", 4),
            color=rx.color("gray", 12),
            border_bottom=f"1px solid {rx.color('amber', 7)}",
            text_align="center",
        ),
    )


def _overlay() -> rx.Component:
    return rx.fragment(offline_banner())


def overlay(stateful: bool) -> rx.Component | None:
    """For `App.app_wraps[(5, "Overlay")]` (the slot Reflex's default overlay uses)."""
    return rx.fragment(memo(_overlay)()) if stateful else None
