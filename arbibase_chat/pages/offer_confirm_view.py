"""The offer link's page (state in pages/offer_confirm.py): the offer as a card, then one
confirm button for the step the link named; nothing happens until it is pressed."""

from __future__ import annotations

from typing import Any

import reflex as rx

from arbibase_chat import routes
from arbibase_chat.components.offer_card import status_badge
from arbibase_chat.pages.offer_confirm import OfferConfirmState as S
from arbibase_chat.pages.properties_view import page_frame

THREAD_LINK = routes.THREAD_PREFIX + S.thread_id


def _row(pair: Any) -> rx.Component:
    return rx.hstack(
        rx.text(pair[0], size="2", color=rx.color("gray", 11), min_width="150px"),
        rx.text(pair[1], size="2", weight="medium"),
        spacing="2",
        align="baseline",
        width="100%",
    )


def _card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("handshake", size=18, color=rx.color("amber", 11)),
                rx.text(
                    rx.cond(S.version > 1, "Counter-offer", "Offer"),
                    " v",
                    S.version,
                    " · from the ",
                    S.made_by,
                    size="2",
                    weight="medium",
                    color=rx.color("gray", 11),
                ),
                rx.spacer(),
                status_badge(S.status, id="offer-confirm-status"),
                align="center",
                width="100%",
            ),
            rx.heading(S.headline, size="6", id="offer-confirm-headline"),
            rx.foreach(S.changes, lambda c: rx.text(c, size="2", color=rx.color("amber", 11))),
            rx.vstack(rx.foreach(S.rows, _row), spacing="1", width="100%"),
            rx.text("Valid until ", S.expires, size="1", color=rx.color("gray", 10)),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def _confirm_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.cond(
                S.action == "decline",
                rx.text_area(
                    name="reason",
                    placeholder="Reason (optional, shown to the other party)",
                    max_length=500,
                    width="100%",
                    id="offer-confirm-reason",
                ),
            ),
            rx.button(
                rx.cond(S.action == "accept", "Accept this offer", "Decline this offer"),
                type="submit",
                size="3",
                color_scheme=rx.cond(S.action == "accept", "green", "red"),
                loading=S.busy,
                id="offer-confirm-button",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=S.confirm,
        width="100%",
    )


def _next_step() -> rx.Component:
    return rx.cond(
        S.done != "",
        rx.callout(S.done, icon="circle_check", color_scheme="green", id="offer-confirm-done"),
        rx.cond(
            S.allowed,
            rx.cond(
                S.action == "counter",
                rx.link(
                    rx.button("Make a counter-offer in the conversation", size="3"),
                    href=THREAD_LINK,
                    id="offer-confirm-counter",
                ),
                _confirm_form(),
            ),
            rx.text(
                rx.cond(
                    S.action == "",
                    "Open the conversation to answer this offer.",
                    "This step is not open to you now: see the offer's status.",
                ),
                size="2",
                color=rx.color("gray", 11),
                id="offer-confirm-closed",
            ),
        ),
    )


def _found() -> rx.Component:
    return rx.vstack(
        _card(),
        rx.cond(
            S.error != "",
            rx.callout(
                S.error, icon="triangle_alert", color_scheme="red", id="offer-confirm-error"
            ),
        ),
        _next_step(),
        rx.link("Open the conversation", href=THREAD_LINK, size="2", id="offer-confirm-thread"),
        spacing="4",
        width="100%",
        max_width="560px",
        margin_x="auto",
    )


def _not_found() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("file-question", size=40, color=rx.color("gray", 8)),
            rx.heading("Offer not found", size="5"),
            rx.text(
                "It may not be yours, or the link is not complete.",
                color=rx.color("gray", 10),
                size="2",
            ),
            rx.link(rx.button("Go to your inbox", variant="soft"), href=routes.INBOX),
            align="center",
            spacing="3",
            text_align="center",
        ),
        padding="64px 16px",
        width="100%",
        id="offer-not-found",
    )


def offer_confirm_page() -> rx.Component:
    return page_frame(
        rx.cond(
            S.loaded,
            rx.cond(S.found, _found(), _not_found()),
            rx.center(rx.spinner(size="3"), padding="64px"),
        )
    )
