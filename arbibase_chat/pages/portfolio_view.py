"""The Portfolio page's view: what needs me first, each property's deal, unread badges."""

from __future__ import annotations

import reflex as rx

from arbibase_chat import routes
from arbibase_chat.components.navbar import navbar, unread_badge
from arbibase_chat.components.offer_card import status_badge
from arbibase_chat.components.stage_badge import stage_badge
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.pages.portfolio import PortfolioCard, PortfolioState
from arbibase_chat.session import SessionState

ONE_LINE = {"overflow": "hidden", "textOverflow": "ellipsis", "whiteSpace": "nowrap"}


def _stat(label: str, value: rx.Var, icon: str) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.icon(icon, size=20, color=rx.color("accent", 11), display=["none", "block"]),
            rx.vstack(
                rx.text(value, size="5", weight="bold"),
                rx.text(label, size="1", color=rx.color("gray", 11)),
                spacing="0",
            ),
            align="center",
            spacing="3",
        ),
        min_width="0",
    )


def _card(card: PortfolioCard) -> rx.Component:
    return rx.link(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.text(
                        card.title,
                        size="3",
                        weight="bold",
                        style=ONE_LINE,
                        flex="1",
                        min_width="0",
                        class_name="portfolio-title",
                    ),
                    unread_badge(card.unread_count, class_name="portfolio-unread"),
                    width="100%",
                    align="center",
                ),
                rx.hstack(
                    rx.text(card.city, size="2", color=rx.color("gray", 11)),
                    rx.cond(
                        card.asked_rent != "",
                        rx.text("· asks ", card.asked_rent, size="2", color=rx.color("gray", 11)),
                    ),
                    spacing="1",
                ),
                rx.hstack(
                    rx.cond(
                        card.stage != "",
                        stage_badge(card.stage),
                        rx.badge("No negotiation yet", variant="outline", color_scheme="gray"),
                    ),
                    rx.cond(
                        card.latest_offer != "",
                        rx.hstack(
                            rx.text("Offer ", card.latest_offer, size="2", weight="medium"),
                            status_badge(card.latest_offer_status, size="1"),
                            spacing="1",
                            align="center",
                        ),
                    ),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                ),
                rx.hstack(
                    rx.text(
                        card.thread_count,
                        rx.cond(card.thread_count == 1, " negotiation", " negotiations"),
                        " · ",
                        card.message_count,
                        rx.cond(card.message_count == 1, " message", " messages"),
                        size="1",
                        color=rx.color("gray", 11),
                    ),
                    rx.spacer(),
                    rx.cond(
                        card.last_message_at != "",
                        rx.moment(
                            card.last_message_at,
                            from_now=True,
                            font_size="12px",
                            color=rx.color("gray", 11),
                        ),
                    ),
                    width="100%",
                    align="center",
                ),
                rx.cond(
                    card.awaiting > 0,
                    rx.callout(
                        "An offer is waiting for your answer",
                        icon="bell-ring",
                        size="1",
                        color_scheme="amber",
                        width="100%",
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            class_name="portfolio-card",
            custom_attrs={
                "data-property-id": card.property_id,
                "data-stage": card.stage,
                "data-attention": rx.cond(card.needs_attention, "1", "0"),
            },
            width="100%",
            _hover={"border_color": rx.color("accent", 8)},
        ),
        href=card.href,
        underline="none",
        color=rx.color("gray", 12),
        width="100%",
    )


def _empty() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("briefcase", size=40, color=rx.color("gray", 8)),
            rx.cond(
                SessionState.role == "owner",
                rx.fragment(
                    rx.text("No properties listed yet.", weight="medium"),
                    rx.text(
                        "List a property and operators can send you offers.",
                        size="2",
                        color=rx.color("gray", 11),
                    ),
                    rx.link(rx.button("List a property"), href=routes.PROPERTIES),
                ),
                rx.fragment(
                    rx.text("Your portfolio is empty.", weight="medium"),
                    rx.text(
                        "Find a property, run the numbers, and send your first offer.",
                        size="2",
                        color=rx.color("gray", 11),
                    ),
                    rx.link(rx.button("Browse properties"), href=routes.PROPERTIES),
                ),
            ),
            align="center",
            spacing="2",
            text_align="center",
        ),
        padding="48px 16px",
        id="portfolio-empty",
    )


def portfolio_page() -> rx.Component:
    return rx.vstack(
        navbar(InboxState.unread_total, InboxState.alert),
        rx.vstack(
            rx.heading("Portfolio", size="6"),
            rx.text(
                rx.cond(
                    SessionState.role == "owner",
                    "Your properties and the operators negotiating on them.",
                    "The properties you negotiate on, what needs you first.",
                ),
                size="2",
                color=rx.color("gray", 11),
            ),
            rx.cond(
                PortfolioState.cards.length() > 0,
                rx.vstack(
                    rx.grid(
                        _stat("Properties", PortfolioState.cards.length(), "building-2"),
                        _stat("Need you", PortfolioState.attention_count, "bell-ring"),
                        _stat("Agreed or signed", PortfolioState.agreed_count, "handshake"),
                        columns="3",
                        spacing="3",
                        width="100%",
                    ),
                    rx.grid(
                        rx.foreach(PortfolioState.cards, _card),
                        columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                        spacing="3",
                        width="100%",
                        id="portfolio-grid",
                    ),
                    spacing="4",
                    width="100%",
                ),
                rx.cond(PortfolioState.loaded, _empty(), rx.center(rx.spinner(), padding="48px")),
            ),
            spacing="3",
            padding=["16px", "24px"],
            width="100%",
            max_width="1200px",
            margin_x="auto",
        ),
        spacing="0",
        width="100%",
        min_height="100vh",
    )
