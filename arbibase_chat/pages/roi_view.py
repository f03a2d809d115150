"""The ROI Calculator's view (state in pages/roi.py): inputs on the left, results on the right;
stacked on phones."""

from __future__ import annotations

from typing import Any

import reflex as rx

from arbibase_chat import routes
from arbibase_chat.components.navbar import navbar
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.pages.roi import Figure, GridCell, GridHead, GridRow, Line, RoiState
from arbibase_chat.services import roi
from arbibase_chat.session import SessionState

# (key, label, unit shown in the label). Grouped as an operator thinks of a unit.
REVENUE = (
    ("adr", "Nightly rate", "$"),
    ("occupancyPct", "Occupancy", "%"),
    ("avgStayNights", "Avg stay", "nights"),
    ("cleaningFeePerStay", "Cleaning fee", "$/stay"),
)
MONTHLY = (
    ("monthlyRent", "Rent", "$"),
    ("cleaningCostPerStay", "Cleaning cost", "$/stay"),
    ("platformFeePct", "Platform fee", "%"),
    ("managementPct", "Management", "%"),
    ("utilities", "Utilities", "$"),
    ("internet", "Internet", "$"),
    ("insurance", "Insurance", "$"),
    ("supplies", "Supplies", "$"),
    ("software", "Software", "$"),
    ("otherMonthly", "Other", "$"),
)
STARTUP = (
    ("deposit", "Deposit", "$"),
    ("upfrontRentMonths", "Rent up front", "months"),
    ("furnishingCost", "Furnishing", "$"),
    ("setupCost", "Setup & other", "$"),
)
NOTES = {
    "Revenue": "Nightly rate is the ADR; the cleaning fee is what guests pay per stay.",
    "Monthly costs": "Platform and management fees are a % of gross revenue.",
    "Startup": "Paid once before the first guest: rent up front is in months of rent.",
}
CARD = {
    "border": f"1px solid {rx.color('gray', 5)}",
    "border_radius": "12px",
    "background": rx.color("gray", 2),
    "padding": ["12px", "16px"],
    "width": "100%",
    "min_width": "0",
}
TWO_COLUMNS = ["1fr", "1fr", "1fr", "minmax(300px, 400px) minmax(0, 1fr)"]
NUMBERS = {"font_variant_numeric": "tabular-nums"}


def _field(key: str, label: str, unit: str) -> rx.Component:
    input_id = f"roi-{key}"
    has_error = RoiState.errors.contains(key)
    return rx.vstack(
        rx.el.label(
            rx.text(label, size="2", weight="medium", as_="span"),
            rx.text(f" ({unit})", size="1", color=rx.color("gray", 11), as_="span"),
            html_for=input_id,
            # One line, so the inputs of a row line up (a phone cuts a long label short).
            style={"whiteSpace": "nowrap", "overflow": "hidden", "textOverflow": "ellipsis"},
            width="100%",
        ),
        rx.input(
            id=input_id,
            value=RoiState.values[key],
            # Debounced (controlled input): one recompute per pause in typing, not per key.
            on_change=lambda text: RoiState.update_input(key, text),
            debounce_timeout=250,
            placeholder=str(roi.DEFAULTS.get(key, 0)),
            input_mode="decimal",
            auto_complete="off",
            max_length=roi.MAX_TEXT_CHARS,
            color_scheme=rx.cond(has_error, "red", "gray"),
            aria_invalid=rx.cond(has_error, "true", "false"),
            # Radix draws the field's border as an inset shadow: red while refused.
            box_shadow=rx.cond(has_error, f"inset 0 0 0 1px {rx.color('red', 8)}", ""),
            width="100%",
            style=NUMBERS,
        ),
        rx.cond(
            has_error,
            rx.text(
                RoiState.errors[key],
                size="1",
                color=rx.color("red", 11),
                id=f"roi-{key}-error",
                role="alert",
            ),
        ),
        spacing="1",
        width="100%",
        min_width="0",
    )


def _group(title: str, icon: str, fields: tuple[tuple[str, str, str], ...]) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon(icon, size=16, color=rx.color("accent", 10)),
            rx.heading(title, size="3"),
            align="center",
            spacing="2",
        ),
        rx.text(NOTES[title], size="1", color=rx.color("gray", 11)),
        rx.grid(
            *[_field(*spec) for spec in fields],
            columns="2",
            spacing="3",
            width="100%",
        ),
        spacing="3",
        style=CARD,
    )


def _inputs_column() -> rx.Component:
    return rx.vstack(
        _group("Revenue", "trending-up", REVENUE),
        _group("Monthly costs", "receipt", MONTHLY),
        _group("Startup", "key-round", STARTUP),
        rx.button(
            rx.icon("rotate-ccw", size=14),
            "Start over",
            variant="soft",
            color_scheme="gray",
            size="2",
            on_click=RoiState.start_over,
            id="roi-start-over",
        ),
        spacing="4",
        width="100%",
        min_width="0",
    )


def _figure(fig: Figure) -> rx.Component:
    return rx.vstack(
        rx.text(fig.label, size="2", color=rx.color("gray", 11)),
        rx.text(
            fig.value,
            size=rx.breakpoints(initial="5", sm="6"),
            weight="bold",
            color=rx.match(
                fig.tone,
                ("green", rx.color("grass", 11)),
                ("red", rx.color("red", 11)),
                rx.color("gray", 12),
            ),
            style=NUMBERS,
            class_name="roi-figure-value",
        ),
        rx.text(fig.hint, size="1", color=rx.color("gray", 11)),
        spacing="1",
        id=fig.id,
        style=CARD,
        grid_column=[fig.phone_span, fig.wide_span],
    )


def _figures() -> rx.Component:
    return rx.grid(
        rx.foreach(RoiState.figures, _figure),
        grid_template_columns=["repeat(2, minmax(0, 1fr))", "repeat(6, minmax(0, 1fr))"],
        spacing="3",
        width="100%",
        id="roi-figures",
    )


def _line(line: Line) -> rx.Component:
    return rx.hstack(
        rx.text(line.label, size="2", color=rx.color("gray", 11)),
        rx.spacer(),
        rx.text(
            line.value, size="2", weight=rx.cond(line.strong, "bold", "regular"), style=NUMBERS
        ),
        width="100%",
        padding_y="3px",
        border_top=rx.cond(line.strong, f"1px solid {rx.color('gray', 4)}", "none"),
    )


def _breakdown() -> rx.Component:
    return rx.vstack(
        rx.heading("Per month", size="3"),
        rx.box(rx.foreach(RoiState.breakdown, _line), width="100%"),
        spacing="2",
        style=CARD,
    )


def _cell(cell: GridCell) -> rx.Component:
    return rx.table.cell(
        rx.text(
            cell.value,
            size=rx.breakpoints(initial="1", sm="2"),
            weight=rx.cond(cell.current, "bold", "medium"),
            color=rx.match(
                cell.tone,
                ("green", rx.color("grass", 11)),
                ("red", rx.color("red", 11)),
                rx.color("gray", 11),
            ),
            style=NUMBERS,
        ),
        background=rx.match(
            cell.tone,
            ("green", rx.color("grass", 3)),
            ("red", rx.color("red", 3)),
            "transparent",
        ),
        outline=rx.cond(cell.current, f"2px solid {rx.color('accent', 8)}", "none"),
        outline_offset="-2px",
        text_align="right",
        white_space="nowrap",
        class_name=rx.match(cell.tone, ("green", "roi-pos"), ("red", "roi-neg"), "roi-zero"),
    )


def _head(head: GridHead) -> list[rx.Component]:
    return [
        rx.text(head.value, size="1", weight="bold", style=NUMBERS),
        rx.text(head.delta, size="1", color=rx.color("gray", 11), weight="regular"),
    ]


def _grid_row(row: GridRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(*_head(row.head), white_space="nowrap"),
        rx.foreach(row.cells, _cell),
    )


def _sensitivity() -> rx.Component:
    return rx.vstack(
        rx.heading("Sensitivity: monthly net", size="3"),
        rx.text(
            "Occupancy ±10 points (rows, kept within 0 to 100 %) by nightly rate ±10 % "
            "(columns), in whole dollars.",
            size="1",
            color=rx.color("gray", 11),
        ),
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(
                            rx.text("Occupancy", size="1"),
                            rx.text("ADR →", size="1", color=rx.color("gray", 11)),
                            white_space="nowrap",
                        ),
                        rx.foreach(
                            RoiState.grid_header,
                            lambda head: rx.table.column_header_cell(
                                *_head(head),
                                text_align="right",
                                white_space="nowrap",
                            ),
                        ),
                    )
                ),
                rx.table.body(rx.foreach(RoiState.grid, _grid_row)),
                size="1",
                variant="ghost",
                width="100%",
            ),
            # The grid scrolls inside its card on a narrow phone, never the page.
            overflow_x="auto",
            width="100%",
        ),
        spacing="2",
        style=CARD,
        id="roi-sensitivity",
    )


def _chart() -> rx.Component:
    axis_text: dict[str, Any] = {"fill": rx.color("gray", 11), "fontSize": 12}
    return rx.vstack(
        rx.heading("Monthly net by occupancy", size="3"),
        rx.box(
            rx.recharts.line_chart(
                rx.recharts.cartesian_grid(stroke_dasharray="3 3", stroke=rx.color("gray", 5)),
                rx.recharts.x_axis(
                    data_key="occupancy",
                    type_="number",
                    domain=[0, 100],
                    ticks=[0, 20, 40, 60, 80, 100],
                    unit="%",
                    tick=axis_text,
                    stroke=rx.color("gray", 7),
                ),
                rx.recharts.y_axis(tick=axis_text, stroke=rx.color("gray", 7), width=64),
                # $0 always shows, even when every occupancy loses (or earns).
                rx.recharts.reference_line(
                    y=0, if_overflow="extendDomain", stroke=rx.color("gray", 8)
                ),
                # Always rendered (a cond would wrap it in a fragment inside the chart): at
                # x = -1, outside the axis, recharts discards it.
                rx.recharts.reference_line(
                    rx.recharts.label(
                        value="Break-even",
                        position="insideTopLeft",
                        custom_attrs={"fill": rx.color("accent", 11), "fontSize": 12},
                    ),
                    x=RoiState.break_even_x.to(int),
                    if_overflow="discard",
                    stroke=rx.color("accent", 9),
                    stroke_dasharray="4 4",
                    stroke_width=2,
                ),
                rx.recharts.line(
                    data_key="net",
                    name="Net / month",
                    unit=" $",
                    stroke=rx.color("accent", 9),
                    stroke_width=2,
                    dot=False,
                    is_animation_active=False,
                    type_="linear",
                ),
                rx.recharts.graphing_tooltip(
                    content_style={
                        "background": rx.color("gray", 2),
                        "border": f"1px solid {rx.color('gray', 5)}",
                    },
                ),
                data=RoiState.curve,
                margin={"top": 8, "right": 16, "bottom": 0, "left": 0},
                width="100%",
                height=240,
            ),
            width="100%",
            id="roi-chart",
        ),
        rx.text(
            rx.cond(
                RoiState.break_even_x >= 0,
                "The dashed line marks break-even occupancy.",
                "No break-even within 0 to 100 % occupancy.",
            ),
            size="1",
            color=rx.color("gray", 11),
        ),
        spacing="2",
        style=CARD,
    )


def _offer_field(label: str, name: str, **props: object) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", weight="medium", as_="label", html_for=f"offer-{name}"),
        rx.input(
            name=name,
            id=f"offer-{name}",
            width="100%",
            color_scheme=rx.cond(RoiState.offer_field == name, "red", "gray"),
            **props,
        ),
        spacing="1",
        width="100%",
    )


def _offer_form() -> rx.Component:
    return rx.form(
        rx.grid(
            _offer_field(
                "Monthly rent ($)",
                "monthlyRent",
                default_value=RoiState.values["monthlyRent"],
                inputmode="decimal",
                required=True,
            ),
            _offer_field("Lease (months)", "leaseMonths", default_value="12", inputmode="numeric"),
            _offer_field(
                "Start date", "startDate", type="date", default_value=RoiState.offer_start
            ),
            _offer_field(
                "Deposit ($)",
                "deposit",
                default_value=RoiState.values["deposit"],
                inputmode="decimal",
            ),
            rx.vstack(
                rx.text("Model", size="1", weight="medium", as_="label", html_for="offer-model"),
                rx.el.select(
                    rx.el.option("Guaranteed rent", value="guaranteed"),
                    rx.el.option("Revenue share", value="revenue_share"),
                    name="model",
                    id="offer-model",
                    class_name="rt-reset rt-SelectTrigger rt-r-size-2 rt-variant-surface",
                    width="100%",
                ),
                spacing="1",
                width="100%",
            ),
            _offer_field("Revenue share (%)", "revenueSharePct", inputmode="decimal"),
            _offer_field("Annual escalator (%)", "annualEscalatorPct", inputmode="decimal"),
            _offer_field("Insurance coverage ($)", "insuranceCoverage", inputmode="decimal"),
            _offer_field("I pay repairs up to ($)", "maintenanceThreshold", inputmode="decimal"),
            _offer_field("Valid for (days)", "expiresInDays", default_value="7"),
            columns=rx.breakpoints(initial="2", md="3"),
            spacing="3",
            width="100%",
        ),
        rx.vstack(
            rx.checkbox("Short-term subletting allowed", name="subletClause", default_checked=True),
            rx.checkbox(
                "Share my numbers with the owner (projected revenue, net, break-even)",
                name="shareNumbers",
                id="offer-share-numbers",
            ),
            rx.text_area(
                name="message",
                placeholder="A note to the owner (optional)",
                max_length=2000,
                width="100%",
                id="offer-message",
            ),
            spacing="2",
            padding_top="10px",
            width="100%",
        ),
        rx.cond(
            RoiState.offer_error != "",
            rx.callout(
                RoiState.offer_error,
                color_scheme="red",
                size="1",
                role="alert",
                id="offer-error",
                margin_top="8px",
            ),
        ),
        rx.hstack(
            rx.text(
                "The owner gets the offer in your conversation, with a PDF summary. "
                "Your numbers stay private unless you share them.",
                size="1",
                color=rx.color("gray", 11),
                flex="1",
            ),
            rx.button(
                rx.icon("send", size=16),
                "Send Offer",
                type="submit",
                size="3",
                id="send-offer",
                disabled=~RoiState.inputs_ok,
            ),
            align="center",
            spacing="3",
            padding_top="12px",
            width="100%",
            wrap="wrap",
        ),
        on_submit=RoiState.send_offer,
        width="100%",
    )


def send_offer_slot() -> rx.Component:
    """Send Offer (operators): the terms, the numbers above frozen with them, to the owner."""
    return rx.cond(
        SessionState.role == "operator",
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("handshake", size=18, color=rx.color("accent", 11)),
                    rx.heading("Send an offer", size="4"),
                    align="center",
                ),
                rx.cond(
                    RoiState.property_id != "",
                    rx.fragment(
                        rx.text(
                            "To the owner of ",
                            rx.text.strong(RoiState.property_title),
                            size="2",
                            color=rx.color("gray", 11),
                        ),
                        _offer_form(),
                    ),
                    rx.text(
                        "Open the calculator from a property to send its owner an offer. ",
                        rx.link("Browse properties", href=routes.PROPERTIES, underline="always"),
                        size="2",
                        color=rx.color("gray", 11),
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            id="send-offer-panel",
            width="100%",
        ),
    )


def _results_column() -> rx.Component:
    return rx.vstack(
        rx.cond(
            RoiState.stale,
            rx.callout(
                "A field needs fixing: the figures below are from the last valid inputs.",
                icon="triangle-alert",
                color_scheme="amber",
                size="1",
                width="100%",
                id="roi-stale",
            ),
        ),
        _figures(),
        send_offer_slot(),
        _sensitivity(),
        _chart(),
        _breakdown(),
        spacing="4",
        width="100%",
        min_width="0",
    )


def _heading() -> rx.Component:
    return rx.vstack(
        rx.heading("ROI Calculator", size="6"),
        rx.cond(
            RoiState.property_title != "",
            rx.text(
                "Prefilled from ",
                rx.text(RoiState.property_title, as_="span", weight="bold"),
                size="2",
                color=rx.color("gray", 11),
                id="roi-property",
            ),
            rx.text(
                "Estimate what a unit earns per month as a short-term rental.",
                size="2",
                color=rx.color("gray", 11),
            ),
        ),
        rx.cond(
            RoiState.note != "",
            rx.callout(RoiState.note, icon="info", size="1", color_scheme="gray", id="roi-note"),
        ),
        spacing="1",
        width="100%",
    )


def roi_page() -> rx.Component:
    return rx.box(
        navbar(InboxState.unread_total, InboxState.alert),
        rx.cond(
            RoiState.loaded,
            rx.vstack(
                _heading(),
                rx.grid(
                    _inputs_column(),
                    _results_column(),
                    grid_template_columns=TWO_COLUMNS,
                    gap="24px",
                    width="100%",
                    align_items="start",
                ),
                spacing="4",
                width="100%",
                max_width="1200px",
                margin_x="auto",
                padding=["16px 12px 32px", "16px 16px 32px", "24px 24px 48px"],
            ),
            rx.center(rx.spinner(size="3"), padding="64px"),
        ),
        min_height="100vh",
        background=rx.color("gray", 1),
    )
