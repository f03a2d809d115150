"""An offer as a card in the conversation: terms, what a counter changed, status, actions.

Rendered in place of a plain bubble for an offer message (MessageView.offer set). The
actions shown are those the server said the viewer may take (`OfferCardView.actions`); the
server checks them again when they are used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class OfferCardView:
    """One offer version as its card shows it (pages/thread_deal.py fills it from the offers
    table)."""

    id: str = ""
    version: int = 0
    status: str = ""
    headline: str = ""
    by: str = ""  # "operator" | "owner"
    rows: list[list[str]] = field(default_factory=list)  # [label, value]
    changes: list[str] = field(default_factory=list)  # "rent $2,400/mo → $2,250/mo"
    actions: list[str] = field(default_factory=list)
    expires_at: str = ""
    reason: str = ""
    numbers: list[list[str]] = field(default_factory=list)  # the ROI, when visible
    note: str = ""  # what the maker wrote with it ("" when nothing)


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


def offer_card(card: Any, events: OfferEvents, attachment: rx.Component) -> rx.Component:
    title = rx.cond(card.version > 1, "Counter-offer", "Offer")
    return rx.box(
        rx.hstack(
            rx.icon("handshake", size=16, color=rx.color("amber", 11)),
            rx.text(
                title,
                " v",
                card.version,
                " · from the ",
                card.by,
                size="1",
                weight="medium",
                color=rx.color("gray", 11),
            ),
            rx.spacer(),
            status_badge(card.status, class_name="offer-status"),
            align="center",
            width="100%",
        ),
        rx.text(
            card.headline,
            size="4",
            weight="bold",
            class_name="offer-headline",
            padding_top="4px",
        ),
        rx.cond(
            card.changes.length() > 0,
            rx.vstack(
                rx.foreach(
                    card.changes,
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
            rx.foreach(card.rows, _row),
            spacing="1",
            padding_top="8px",
            width="100%",
        ),
        rx.cond(
            card.numbers.length() > 0,
            rx.vstack(
                rx.text("Projected numbers", size="1", weight="bold"),
                rx.foreach(card.numbers, _row),
                spacing="1",
                padding_top="8px",
                width="100%",
                class_name="offer-numbers",
            ),
        ),
        rx.cond(
            card.note != "",
            rx.text(
                card.note,
                size="2",
                white_space="pre-wrap",
                padding_top="8px",
                class_name="message-body",
            ),
        ),
        rx.box(attachment, padding_top="8px"),
        rx.cond(
            card.reason != "",
            rx.text("Reason: ", card.reason, size="1", color=rx.color("gray", 11)),
        ),
        rx.cond(
            card.status == "sent",
            rx.text(
                "Valid until ",
                rx.moment(card.expires_at, format="lll"),
                size="1",
                color=rx.color("gray", 11),
                padding_top="4px",
            ),
        ),
        rx.cond(
            card.actions.length() > 0,
            rx.hstack(
                rx.cond(
                    card.actions.contains("accept"),
                    rx.button(
                        rx.icon("check", size=14),
                        "Accept",
                        size="2",
                        **solid("green"),
                        on_click=events.ask("accept", card.id),
                        class_name="offer-accept",
                    ),
                ),
                rx.cond(
                    card.actions.contains("counter"),
                    rx.button(
                        "Counter",
                        size="2",
                        variant="soft",
                        on_click=events.counter(card.id),
                        class_name="offer-counter",
                    ),
                ),
                rx.cond(
                    card.actions.contains("decline"),
                    rx.button(
                        "Decline",
                        size="2",
                        variant="soft",
                        color_scheme="red",
                        on_click=events.decline(card.id),
                        class_name="offer-decline",
                    ),
                ),
                rx.cond(
                    card.actions.contains("withdraw"),
                    rx.button(
                        "Withdraw",
                        size="2",
                        variant="soft",
                        color_scheme="gray",
                        on_click=events.ask("withdraw", card.id),
                        class_name="offer-withdraw",
                    ),
                ),
                spacing="2",
                padding_top="10px",
                wrap="wrap",
            ),
        ),
        class_name="offer-card",
        custom_attrs={"data-offer-status": card.status, "data-offer-id": card.id},
        padding="12px 14px",
        border_radius="12px",
        border=f"1px solid {rx.color('amber', 7)}",
        background=rx.color("gray", 1),
        color=rx.color("gray", 12),
        width=["100%", "420px"],
        max_width="100%",
    )
