"""The top bar on every signed-in page: brand, unread total, who I am, log out."""

from __future__ import annotations

from typing import Any

import reflex as rx

from arbibase_chat import routes
from arbibase_chat.session import SessionState


def unread_badge(count: Any, **props: Any) -> rx.Component:
    """A red count, hidden at zero (`count` is an int Var)."""
    return rx.cond(
        count > 0,
        rx.badge(count, color_scheme="red", variant="solid", radius="full", **props),
    )


def navbar(unread_total: Any) -> rx.Component:
    return rx.hstack(
        rx.link(
            rx.hstack(
                rx.icon("messages-square", size=22),
                rx.heading("ArbiBase Chat", size="4"),
                align="center",
                spacing="2",
            ),
            href=routes.INBOX,
            underline="none",
            color=rx.color("gray", 12),
        ),
        rx.hstack(
            rx.text("Inbox", size="2", weight="medium"),
            unread_badge(unread_total, id="nav-unread-total"),
            align="center",
            spacing="1",
        ),
        rx.spacer(),
        rx.hstack(
            rx.text(SessionState.display_name, size="2", id="nav-user-name"),
            rx.badge(SessionState.role, variant="soft"),
            align="center",
            spacing="2",
            display=["none", "flex"],
        ),
        rx.color_mode.button(variant="ghost", size="2", aria_label="Light or dark"),
        rx.button(
            rx.icon("log-out", size=16),
            rx.text("Log out", display=["none", "inline"]),
            variant="soft",
            size="2",
            on_click=SessionState.log_out,
            aria_label="Log out",
            id="log-out",
        ),
        align="center",
        width="100%",
        padding_x="16px",
        padding_y="10px",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
        position="sticky",
        top="0",
        z_index="10",
    )
