"""A listing as the browser shows it: the card's data (formatted once, on the server) and its
card, which links to the property's page."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from arbibase_chat.models import PropertyPublic
from arbibase_chat.routes import PROPERTY_PREFIX

ONE_LINE = {"overflow": "hidden", "textOverflow": "ellipsis", "whiteSpace": "nowrap"}


def money(cents: int | None) -> str:
    """2_400_00 -> "$2,400"; cents only when there are some ("$2,400.50")."""
    if cents is None:
        return ""
    dollars, rest = divmod(cents, 100)
    return f"${dollars:,}" + (f".{rest:02d}" if rest else "")


def rent_label(cents: int | None) -> str:
    return f"{money(cents)}/mo" if cents is not None else "Rent on request"


def _number(value: float) -> str:
    return f"{value:g}"


def rooms_label(bedrooms: int | None, bathrooms: float | None) -> str:
    parts = []
    if bedrooms is not None:
        parts.append("Studio" if bedrooms == 0 else f"{bedrooms} bd")
    if bathrooms is not None:
        parts.append(f"{_number(bathrooms)} ba")
    return " · ".join(parts)


def area_label(square_feet: int | None) -> str:
    return f"{square_feet:,} sq ft" if square_feet is not None else ""


def place_label(city: str, state: str | None) -> str:
    return f"{city}, {state}" if state else city


@dataclass
class PropertyCard:
    id: str = ""
    title: str = ""
    place: str = ""
    rent: str = ""
    rooms: str = ""
    area: str = ""

    @classmethod
    def from_property(cls, prop: PropertyPublic) -> PropertyCard:
        return cls(
            id=str(prop.id),
            title=prop.title,
            place=place_label(prop.city, prop.state),
            rent=rent_label(prop.monthly_rent_cents),
            rooms=rooms_label(prop.bedrooms, prop.bathrooms),
            area=area_label(prop.square_feet),
        )


def property_card(card: PropertyCard) -> rx.Component:
    return rx.link(
        rx.card(
            rx.vstack(
                rx.center(
                    rx.icon("house", size=36, color=rx.color("accent", 9)),
                    width="100%",
                    height="120px",
                    border_radius="8px",
                    background=(
                        f"linear-gradient(135deg, {rx.color('accent', 3)}, {rx.color('accent', 5)})"
                    ),
                ),
                rx.text(card.title, weight="bold", size="3", style=ONE_LINE, width="100%"),
                rx.hstack(
                    rx.icon("map-pin", size=14, color=rx.color("gray", 11)),
                    rx.text(card.place, size="2", color=rx.color("gray", 11), style=ONE_LINE),
                    align="center",
                    spacing="1",
                    width="100%",
                ),
                rx.text(card.rent, weight="bold", size="3", class_name="property-rent"),
                rx.hstack(
                    rx.text(card.rooms, size="2", color=rx.color("gray", 11)),
                    rx.cond(
                        (card.rooms != "") & (card.area != ""),
                        rx.text("·", size="2", color=rx.color("gray", 11)),
                    ),
                    rx.text(card.area, size="2", color=rx.color("gray", 11)),
                    spacing="1",
                    wrap="wrap",
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
            height="100%",
            class_name="property-card-body",
            _hover={"box_shadow": "0 6px 20px rgba(0, 0, 0, 0.12)"},
        ),
        href=PROPERTY_PREFIX + card.id,
        underline="none",
        color="inherit",
        class_name="property-card",
        min_width="0",
    )
