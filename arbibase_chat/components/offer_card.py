"""An offer as a card in the conversation: terms, what a counter changed, status, actions.

Rendered in place of a plain bubble for an offer message (MessageView.offer_id set). The
actions shown are those the server said the viewer may take (`offer_actions`); the server
checks them again when they are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import reflex as rx

from arbibase_chat.components.solid import solid

STATUS_COLORS = {
    "sent": "blue",
    "accepted": "green",
    "declined": "red",
    "countered": "amber",
    "withdrawn": "gray",
    "expired": "gray",
}
STATUS_WORDS = {
    "sent": "Awaiting answer",
    "accepted": "Accepted",
    "declined": "Declined",
    "countered": "Countered",
    "withdrawn": "Withdrawn",
    "expired": "Expired",
}


@dataclass(frozen=True)
class OfferEvents:
    """The page's handlers a card's buttons call."""

    ask: Any  # (action, offer_id): confirm accept / withdraw
    counter: Any  # (offer_id)
    decline: Any  # (offer_id)


def status_badge(status: Any, **props: Any) -> rx.Component:
    return rx.match(
        status,
        *[
            (
                key,
                # Step-12 text: Radix's soft blue / amber text misses WCAG AA at 12 px.
                rx.badge(
                    STATUS_WORDS[key],
                    color_scheme=color,
                    variant="soft",
                    high_contrast=True,
                    **props,
                ),
            )
            for key, color in STATUS_COLORS.items()
        ],
        rx.fragment(),
    )


def _row(pair: Any) -> rx.Component:
    return rx.hstack(
        rx.text(pair[0], size="1", color=rx.color("gray", 11), min_width="120px"),
        rx.text(pair[1], size="2", weight="medium"),
        spacing="2",
        align="baseline",
        width="100%",
    )


def offer_card(view: Any, events: OfferEvents, attachment: rx.Component) -> rx.Component:
    title = rx.cond(view.offer_version > 1, "Counter-offer", "Offer")
    return rx.box(
        rx.hstack(
            rx.icon("handshake", size=16, color=rx.color("amber", 11)),
            rx.text(
                title,
                " v",
                view.offer_version,
                " · from the ",
                view.offer_by,
                size="1",
                weight="medium",
                color=rx.color("gray", 11),
            ),
            rx.spacer(),
            status_badge(view.offer_status, class_name="offer-status"),
            align="center",
            width="100%",
        ),
        rx.text(
            view.offer_headline,
            size="4",
            weight="bold",
            class_name="offer-headline",
            padding_top="4px",
        ),
        rx.cond(
            view.offer_changes.length() > 0,
            rx.vstack(
                rx.foreach(
                    view.offer_changes,
                    lambda change: rx.text(
                        change, size="1", weight="medium", class_name="offer-change"
                    ),
                ),
                spacing="0",
                padding="6px 8px",
                margin_top="6px",
                border_radius="6px",
                background=rx.color("amber", 3),
                color=rx.color("amber", 12),
                width="100%",
            ),
        ),
        rx.vstack(
            rx.foreach(view.offer_rows, _row),
            spacing="1",
            padding_top="8px",
            width="100%",
        ),
        rx.cond(
            view.offer_numbers.length() > 0,
            rx.vstack(
                rx.text("Projected numbers", size="1", weight="bold"),
                rx.foreach(view.offer_numbers, _row),
                spacing="1",
                padding_top="8px",
                width="100%",
                class_name="offer-numbers",
            ),
        ),
        rx.cond(
            view.offer_note != "",
            rx.text(
                view.offer_note,
                size="2",
                white_space="pre-wrap",
                padding_top="8px",
                class_name="message-body",
            ),
        ),
        rx.box(attachment, padding_top="8px"),
        rx.cond(
            view.offer_reason != "",
            rx.text("Reason: ", view.offer_reason, size="1", color=rx.color("gray", 11)),
        ),
        rx.cond(
            view.offer_status == "sent",
            rx.text(
                "Valid until ",
                rx.moment(view.offer_expires_at, format="lll"),
                size="1",
                color=rx.color("gray", 11),
                padding_top="4px",
            ),
        ),
        rx.cond(
            view.offer_actions.length() > 0,
            rx.hstack(
                rx.cond(
                    view.offer_actions.contains("accept"),
                    rx.button(
                        rx.icon("check", size=14),
                        "Accept",
                        size="2",
                        **solid("green"),
                        on_click=events.ask("accept", view.offer_id),
                        class_name="offer-accept",
                    ),
                ),
                rx.cond(
                    view.offer_actions.contains("counter"),
                    rx.button(
                        "Counter",
                        size="2",
                        variant="soft",
                        on_click=events.counter(view.offer_id),
                        class_name="offer-counter",
                    ),
                ),
                rx.cond(
                    view.offer_actions.contains("decline"),
                    rx.button(
                        "Decline",
                        size="2",
                        variant="soft",
                        color_scheme="red",
                        on_click=events.decline(view.offer_id),
                        class_name="offer-decline",
                    ),
                ),
                rx.cond(
                    view.offer_actions.contains("withdraw"),
                    rx.button(
                        "Withdraw",
                        size="2",
                        variant="soft",
                        color_scheme="gray",
                        on_click=events.ask("withdraw", view.offer_id),
                        class_name="offer-withdraw",
                    ),
                ),
                spacing="2",
                padding_top="10px",
                wrap="wrap",
            ),
        ),
        class_name="offer-card",
        custom_attrs={"data-offer-status": view.offer_status, "data-offer-id": view.offer_id},
        padding="12px 14px",
        border_radius="12px",
        border=f"1px solid {rx.color('amber', 7)}",
        background=rx.color("gray", 1),
        color=rx.color("gray", 12),
        width=["100%", "420px"],
        max_width="100%",
    )
