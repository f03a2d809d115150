"""The app's frame: a navbar, then a list beside a detail pane on wide screens.

On phones one pane shows at a time: the list (`list_on_phone=True`, e.g. the inbox) or the
detail (a conversation, with its own way back to the list).
"""

from __future__ import annotations

import reflex as rx

PANE_HEIGHT = "calc(100dvh - 57px)"  # below the navbar
HIDDEN_ON_PHONE = ["none", "none", "block"]


def two_pane(
    navbar: rx.Component, left: rx.Component, right: rx.Component, *, list_on_phone: bool
) -> rx.Component:
    return rx.box(
        navbar,
        rx.flex(
            rx.box(
                left,
                display="block" if list_on_phone else HIDDEN_ON_PHONE,
                width=["100%", "100%", "380px"],
                flex_shrink="0",
                border_right=["none", "none", f"1px solid {rx.color('gray', 5)}"],
                overflow_y="auto",
                height=PANE_HEIGHT,
            ),
            rx.box(
                right,
                display=HIDDEN_ON_PHONE if list_on_phone else "block",
                flex="1",
                min_width="0",
                height=PANE_HEIGHT,
            ),
            width="100%",
        ),
        min_height="100vh",
        background=rx.color("gray", 1),
    )
