"""One property's page: details beside an action card (state in pages/property.py)."""

from __future__ import annotations

import reflex as rx

from arbibase_chat import routes
from arbibase_chat.pages.properties_view import page_frame
from arbibase_chat.pages.property import PropertyState
from arbibase_chat.session import SessionState

IS_OPERATOR = SessionState.role == "operator"


def _back() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon("arrow-left", size=16), rx.text("All properties"), align="center", spacing="1"
        ),
        href=routes.PROPERTIES,
        size="2",
        id="back-to-properties",
    )


def _fact(icon: str, label: str, value: rx.Var[str]) -> rx.Component:
    return rx.hstack(
        rx.center(
            rx.icon(icon, size=18, color=rx.color("accent", 11)),
            width="36px",
            height="36px",
            border_radius="8px",
            background=rx.color("accent", 3),
            flex_shrink="0",
        ),
        rx.vstack(
            rx.text(label, size="1", color=rx.color("gray", 11)),
            rx.text(value, size="3", weight="medium"),
            spacing="0",
        ),
        align="center",
        spacing="3",
    )


def _heading() -> rx.Component:
    return rx.vstack(
        rx.heading(PropertyState.title, size="7", id="property-title", word_break="break-word"),
        rx.hstack(
            rx.icon("map-pin", size=16, color=rx.color("gray", 11), flex_shrink="0"),
            rx.text(PropertyState.address, ", ", PropertyState.place, color=rx.color("gray", 11)),
            align="center",
            spacing="1",
        ),
        spacing="2",
        width="100%",
    )


def _details() -> rx.Component:
    return rx.vstack(
        rx.grid(
            _fact("bed-double", "Bedrooms", PropertyState.bedrooms),
            _fact("bath", "Bathrooms", PropertyState.bathrooms),
            _fact("ruler", "Size", PropertyState.area),
            _fact("calendar", "Listed", PropertyState.listed_on),
            columns="2",
            gap="16px",
            width="100%",
        ),
        rx.divider(margin_y="8px"),
        rx.hstack(
            rx.avatar(fallback=PropertyState.owner_name[:1], size="3", radius="full"),
            rx.vstack(
                rx.text("Listed by", size="1", color=rx.color("gray", 11)),
                rx.text(PropertyState.owner_name, weight="medium", id="property-owner"),
                spacing="0",
            ),
            align="center",
            spacing="3",
        ),
        spacing="3",
        width="100%",
        min_width="0",
    )


def _operator_actions() -> rx.Component:
    return rx.vstack(
        rx.button(
            rx.icon("message-circle", size=16),
            "Message owner",
            size="3",
            width="100%",
            loading=PropertyState.opening,
            on_click=PropertyState.message_owner,
            id="message-owner",
        ),
        rx.link(
            rx.button(
                rx.icon("calculator", size=16),
                "Calculate ROI",
                size="3",
                variant="soft",
                width="100%",
            ),
            href=routes.ROI + "?property=" + PropertyState.shown_id,
            width="100%",
            id="calculate-roi",
        ),
        rx.text(
            "Opens your conversation with the owner, or starts one.",
            size="1",
            color=rx.color("gray", 11),
            text_align="center",
            width="100%",
        ),
        spacing="2",
        width="100%",
    )


def _owner_note() -> rx.Component:
    return rx.cond(
        PropertyState.is_mine,
        rx.vstack(
            rx.badge("Your listing", color_scheme="green", variant="soft"),
            rx.text(
                rx.cond(
                    PropertyState.negotiations == 1,
                    "1 operator is negotiating on it.",
                    rx.cond(
                        PropertyState.negotiations == 0,
                        "No operator has messaged you about it yet.",
                        PropertyState.negotiations.to_string()
                        + " operators are negotiating on it.",
                    ),
                ),
                size="2",
                id="property-negotiations",
            ),
            rx.link("Go to your inbox", href=routes.INBOX, size="2", underline="always"),
            spacing="2",
        ),
        rx.text(
            "Operators can message the owner of this property.",
            size="2",
            color=rx.color("gray", 11),
        ),
    )


def _action_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(PropertyState.rent, size="6", weight="bold", id="property-rent"),
                align="baseline",
            ),
            rx.text("Asked monthly rent", size="1", color=rx.color("gray", 11)),
            rx.divider(margin_y="4px"),
            rx.cond(IS_OPERATOR, _operator_actions(), _owner_note()),
            spacing="2",
            width="100%",
        ),
        size="3",
        width="100%",
        position=rx.breakpoints(initial="static", md="sticky"),
        top="80px",
        # On phones the price and "Message owner" come right under the title, not below the
        # fold (as the second column's card does on wide screens).
        order=rx.breakpoints(initial="-1", md="0"),
    )


def _not_found() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("house", size=40, color=rx.color("gray", 8)),
            rx.heading("Property not found", size="5"),
            rx.text(
                "It may have been removed, or the link is not complete.",
                color=rx.color("gray", 11),
                size="2",
            ),
            rx.link(rx.button("Back to properties", variant="soft"), href=routes.PROPERTIES),
            align="center",
            spacing="3",
            text_align="center",
        ),
        padding="64px 16px",
        width="100%",
        id="property-not-found",
    )


def _found() -> rx.Component:
    return rx.vstack(
        rx.center(
            rx.icon("house", size=56, color=rx.color("accent", 9)),
            width="100%",
            height=["120px", "200px", "240px"],
            border_radius="16px",
            background=f"linear-gradient(135deg, {rx.color('accent', 3)}, {rx.color('accent', 6)})",
        ),
        _heading(),
        rx.grid(
            _details(),
            _action_card(),
            columns=rx.breakpoints(initial="1", md="minmax(0, 1fr) 340px"),
            gap="32px",
            width="100%",
            align_items="start",
        ),
        spacing="5",
        width="100%",
    )


def property_page() -> rx.Component:
    return page_frame(
        rx.vstack(
            _back(),
            rx.cond(
                PropertyState.loaded,
                rx.cond(PropertyState.found, _found(), _not_found()),
                rx.center(rx.spinner(size="3"), padding="48px", width="100%"),
            ),
            spacing="4",
            width="100%",
        )
    )
