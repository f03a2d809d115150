"""The thread page's AI reply suggestions, just above the composer (state: pages/thread_ai.py).

Only the thread's operator sees it: a "Suggest replies" button (disabled with one line when the
plan lacks it), then up to three chips. A chip's click fills the composer in the browser
(`rx.set_value` on `#composer`) and focuses it; nothing is sent.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from arbibase_chat.pages.thread import ChatState


def _chip(chip: Any) -> rx.Component:
    return rx.button(
        rx.text(
            chip["text"],
            size="1",
            # Two lines at most on the chip; the whole text lands in the composer.
            style={
                "display": "-webkit-box",
                "-webkit-line-clamp": "2",
                "-webkit-box-orient": "vertical",
                "overflow": "hidden",
            },
        ),
        on_click=[rx.set_value("composer", chip["text"]), rx.set_focus("composer")],
        type="button",
        variant="surface",
        size="1",
        radius="large",
        title=chip["text"],
        class_name="ai-chip",
        height="auto",
        min_height="28px",
        padding_y="4px",
        max_width=["80%", "100%"],
        flex_shrink="0",
        text_align="left",
        white_space="normal",
        cursor="pointer",
    )


def _button() -> rx.Component:
    return rx.button(
        rx.cond(ChatState.ai_loading, rx.spinner(size="1"), rx.icon("sparkles", size=14)),
        "Suggest replies",
        on_click=ChatState.suggest_replies,
        disabled=~ChatState.ai_allowed | ChatState.ai_loading,
        type="button",
        variant="soft",
        size="1",
        id="suggest-replies",
    )


def _caption() -> rx.Component:
    # One line on a phone (cut with an ellipsis; the title holds the whole sentence).
    quiet = {
        "size": "1",
        "color": rx.color("gray", 11),
        "min_width": "0",
        "overflow": "hidden",
        "text_overflow": "ellipsis",
        "white_space": ["nowrap", "normal"],
    }
    return rx.cond(
        ~ChatState.ai_allowed,
        rx.text(ChatState.ai_note, id="ai-note", title=ChatState.ai_note, **quiet),
        rx.cond(
            ChatState.ai_notice != "",
            rx.text(ChatState.ai_notice, id="ai-notice", title=ChatState.ai_notice, **quiet),
            rx.text(ChatState.ai_source, id="ai-source", **quiet),
        ),
    )


def suggestion_chips() -> rx.Component:
    return rx.cond(
        ChatState.ai_show & ~ChatState.is_closed,
        rx.vstack(
            # A phone's row is one line (≤ 32 px over the composer): the button, then its
            # caption cut short; a desktop's caption may wrap.
            rx.hstack(
                _button(),
                _caption(),
                align="center",
                spacing="2",
                wrap=rx.breakpoints(initial="nowrap", sm="wrap"),
                width="100%",
                min_width="0",
            ),
            rx.cond(
                ChatState.ai_chips.length() > 0,
                rx.flex(
                    rx.foreach(ChatState.ai_chips, _chip),
                    # A phone's chips are one row that scrolls sideways.
                    wrap=rx.breakpoints(initial="nowrap", sm="wrap"),
                    overflow_x=["auto", "visible"],
                    gap="6px",
                    width="100%",
                    id="ai-chips",
                ),
            ),
            spacing=rx.breakpoints(initial="1", sm="2"),
            width="100%",
            padding=["4px 10px 0", "8px 16px 0"],
            border_top=f"1px solid {rx.color('gray', 5)}",
            id="ai-suggestions",
        ),
    )
