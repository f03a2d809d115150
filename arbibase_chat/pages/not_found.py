"""The page for an unknown address (Reflex's 404 route): styled like the rest, a way back."""

from __future__ import annotations

import reflex as rx

from arbibase_chat import routes


def not_found_page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("messages-square", size=28, color=rx.color("accent", 9)),
                    rx.text("ArbiBase Chat", size="5", weight="bold"),
                    align="center",
                ),
                rx.icon("map-pin-off", size=40, color=rx.color("gray", 9)),
                rx.heading("Page not found", size="6", as_="h1", id="not-found-title"),
                rx.text(
                    "There is nothing at this address. The link may be old or mistyped.",
                    size="3",
                    color=rx.color("gray", 11),
                    text_align="center",
                ),
                rx.link(
                    rx.button(rx.icon("inbox", size=16), "Back to your inbox", size="3"),
                    href=routes.INBOX,
                    id="not-found-inbox",
                ),
                align="center",
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
