"""The Property Browser's view: filters, a grid of cards, "Load more"; for owners "My
properties" and the "List a property" dialog (state in pages/properties.py)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from arbibase_chat.components.navbar import navbar
from arbibase_chat.components.property_card import property_card
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.pages.properties import ALL_CITIES, BEDROOM_CHOICES, PropertiesState
from arbibase_chat.session import SessionState

IS_OWNER = SessionState.role == "owner"
FIELD_LABEL = {"fontSize": "14px", "fontWeight": 500}


def page_frame(*children: rx.Component) -> rx.Component:
    """Navbar above a centered column (the Property Browser's pages)."""
    return rx.box(
        navbar(InboxState.unread_total, InboxState.alert),
        rx.box(
            *children,
            width="100%",
            max_width="1200px",
            margin_x="auto",
            padding=["16px 12px 48px", "24px 24px 64px"],
        ),
        min_height="100vh",
        background=rx.color("gray", 1),
    )


# --- filters ------------------------------------------------------------------------------------


def _city_select() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label="Filter by city", id="city-filter", min_width="140px"),
        rx.select.content(
            rx.select.item("All cities", value=ALL_CITIES),
            rx.foreach(PropertiesState.cities, lambda c: rx.select.item(c, value=c)),
        ),
        value=PropertiesState.city,
        on_change=PropertiesState.set_city,
    )


def _bedrooms_select() -> rx.Component:
    labels = {"any": "Any bedrooms"} | {n: f"{n}+ bedrooms" for n in BEDROOM_CHOICES[1:]}
    return rx.select.root(
        rx.select.trigger(aria_label="Filter by bedrooms", id="bedrooms-filter", min_width="140px"),
        rx.select.content(*[rx.select.item(labels[v], value=v) for v in BEDROOM_CHOICES]),
        value=PropertiesState.bedrooms,
        on_change=PropertiesState.set_bedrooms,
    )


def _rent_input(name: str, label: str, value: Any) -> rx.Component:
    return rx.input(
        rx.input.slot("$"),
        name=name,
        id=name.replace("_", "-"),
        placeholder=label,
        aria_label=label + " per month, in dollars",
        default_value=value,
        input_mode="decimal",
        max_length=20,
        width=["100%", "130px"],
    )


def _filters() -> rx.Component:
    return rx.vstack(
        rx.flex(
            _city_select(),
            _bedrooms_select(),
            rx.form(
                rx.hstack(
                    _rent_input("min_rent", "Min rent", PropertiesState.min_rent),
                    rx.text("to", size="2", color=rx.color("gray", 11)),
                    _rent_input("max_rent", "Max rent", PropertiesState.max_rent),
                    rx.button("Apply", type="submit", variant="soft", id="apply-rent"),
                    align="center",
                    spacing="2",
                    width="100%",
                ),
                on_submit=PropertiesState.apply_rent,
                width=["100%", "auto"],
            ),
            rx.cond(
                PropertiesState.filtered,
                rx.button(
                    rx.icon("x", size=14),
                    "Clear filters",
                    variant="ghost",
                    on_click=PropertiesState.clear_filters,
                    id="clear-filters",
                ),
            ),
            gap="8px",
            wrap="wrap",
            align="center",
            width="100%",
        ),
        rx.cond(
            PropertiesState.filter_error != "",
            rx.text(
                PropertiesState.filter_error, color=rx.color("red", 11), size="2", id="filter-error"
            ),
        ),
        spacing="2",
        width="100%",
        padding="12px",
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="12px",
        background=rx.color("gray", 2),
    )


# --- "List a property" ---------------------------------------------------------------------------


def _form_field(label: str, name: str, *, hint: str = "", **props: Any) -> rx.Component:
    field_id = f"list-{name.replace('_', '-')}"
    error = PropertiesState.form_errors.get(name, "")
    return rx.vstack(
        rx.el.label(label, html_for=field_id, style=FIELD_LABEL),
        rx.input(
            name=name,
            id=field_id,
            width="100%",
            # A red ring on the refused input (Radix draws the border as an inset shadow).
            box_shadow=rx.cond(error != "", f"inset 0 0 0 1px {rx.color('red', 9)}", None),
            custom_attrs={"aria-invalid": rx.cond(error != "", "true", "false")},
            **props,
        ),
        rx.cond(
            error != "",
            rx.text(error, color=rx.color("red", 11), size="1", id=f"{field_id}-error"),
            rx.text(hint, color=rx.color("gray", 11), size="1") if hint else rx.fragment(),
        ),
        spacing="1",
        width="100%",
    )


def _list_form() -> rx.Component:
    two = {"columns": rx.breakpoints(initial="1", xs="2"), "gap": "12px", "width": "100%"}
    return rx.form(
        rx.vstack(
            _form_field("Title", "title", placeholder="Sunny 3BR near the beach", max_length=200),
            _form_field("Street address", "address", placeholder="12 Ocean Ave", max_length=300),
            rx.grid(
                _form_field("City", "city", placeholder="Tampa", max_length=120),
                _form_field("State", "state", placeholder="FL", max_length=60),
                **two,
            ),
            rx.grid(
                _form_field(
                    "Monthly rent ($)",
                    "rent",
                    placeholder="2,400",
                    input_mode="decimal",
                    hint="What you ask per month, in dollars.",
                    max_length=20,
                ),
                _form_field(
                    "Square feet", "square_feet", placeholder="1,200", input_mode="numeric"
                ),
                **two,
            ),
            rx.grid(
                _form_field("Bedrooms", "bedrooms", placeholder="3", input_mode="numeric"),
                _form_field("Bathrooms", "bathrooms", placeholder="2.5", input_mode="decimal"),
                **two,
            ),
            rx.cond(
                PropertiesState.form_errors.contains("form"),
                rx.callout(
                    PropertiesState.form_errors.get("form", ""),
                    icon="triangle_alert",
                    color_scheme="red",
                    width="100%",
                    id="list-form-error",
                ),
            ),
            rx.hstack(
                rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.button(
                    "List property",
                    type="submit",
                    loading=PropertiesState.form_busy,
                    id="list-submit",
                ),
                justify="end",
                width="100%",
                spacing="3",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=PropertiesState.list_property,
        # What was typed stays when the server refuses a value (the inputs are the browser's).
        reset_on_submit=False,
        id="list-form",
    )


def _list_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("plus", size=16), "List a property", id="list-property")
        ),
        rx.dialog.content(
            rx.dialog.title("List a property"),
            rx.dialog.description(
                "Operators see your listing right away and can message you about it.",
                size="2",
                color=rx.color("gray", 11),
                margin_bottom="12px",
            ),
            _list_form(),
            max_width="560px",
        ),
        open=PropertiesState.form_open,
        on_open_change=PropertiesState.set_form_open,
    )


# --- the page -----------------------------------------------------------------------------------


def _header() -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.heading("Properties", size="7"),
            rx.text(
                rx.cond(
                    IS_OWNER,
                    "Homes listed for rental arbitrage. List yours to hear from operators.",
                    "Homes whose owners are open to rental arbitrage. Message an owner to start.",
                ),
                color=rx.color("gray", 11),
                size="2",
            ),
            spacing="1",
        ),
        rx.spacer(),
        rx.cond(IS_OWNER, _list_dialog()),
        gap="12px",
        wrap="wrap",
        align="end",
        width="100%",
    )


def _scope_tabs() -> rx.Component:
    return rx.cond(
        IS_OWNER,
        rx.segmented_control.root(
            rx.segmented_control.item("All listings", value="all"),
            rx.segmented_control.item("My properties", value="mine"),
            value=PropertiesState.scope,
            on_change=PropertiesState.set_scope,
            id="scope-filter",
        ),
    )


def _empty() -> rx.Component:
    mine = PropertiesState.scope == "mine"
    return rx.center(
        rx.vstack(
            rx.icon("house", size=40, color=rx.color("gray", 8)),
            rx.cond(
                PropertiesState.filtered,
                rx.fragment(
                    rx.text("No property matches these filters.", weight="medium"),
                    rx.text(
                        "Try another city, fewer bedrooms or a wider rent range.",
                        size="2",
                        color=rx.color("gray", 11),
                    ),
                    rx.button(
                        "Clear filters", variant="soft", on_click=PropertiesState.clear_filters
                    ),
                ),
                rx.cond(
                    mine,
                    rx.fragment(
                        rx.text("You have not listed a property yet.", weight="medium"),
                        rx.text(
                            "List one and operators can contact you about it.",
                            size="2",
                            color=rx.color("gray", 11),
                        ),
                        rx.button(
                            rx.icon("plus", size=16),
                            "List a property",
                            on_click=PropertiesState.set_form_open(True),
                        ),
                    ),
                    rx.text("No properties are listed yet. Check back soon.", weight="medium"),
                ),
            ),
            align="center",
            text_align="center",
            spacing="2",
        ),
        padding="48px 16px",
        width="100%",
        id="properties-empty",
    )


def _grid() -> rx.Component:
    return rx.grid(
        rx.foreach(PropertiesState.cards, property_card),
        columns=rx.breakpoints(initial="1", xs="2", md="3", lg="4"),
        gap="16px",
        width="100%",
        id="property-grid",
    )


def properties_page() -> rx.Component:
    return page_frame(
        rx.vstack(
            _header(),
            _scope_tabs(),
            _filters(),
            rx.cond(
                PropertiesState.loaded,
                rx.cond(PropertiesState.cards.length() > 0, _grid(), _empty()),
                rx.center(rx.spinner(size="3"), padding="48px", width="100%"),
            ),
            rx.cond(
                PropertiesState.has_more,
                rx.center(
                    rx.button(
                        "Load more",
                        variant="soft",
                        size="3",
                        on_click=PropertiesState.load_more,
                        id="load-more",
                    ),
                    width="100%",
                ),
            ),
            spacing="4",
            width="100%",
        )
    )
