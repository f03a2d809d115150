"""The ROI Calculator's state: the inputs as typed, figures recomputed as they change.

The view is in `roi_view.py`; every formula and rule is in `services/roi.py`. The inputs stay
the text the user typed (so "1,500" or a half-typed "12." is not rewritten under their
cursor); a field the service refuses shows its message, and the figures keep the last valid
result meanwhile. `?property=<id>` prefills the monthly rent from a listing.

For the Send Offer panel (another module): `RoiState.property_id` (public) and
`RoiState._inputs()` (backend only) give the property and the current validated inputs, the
mapping `roi.compute` takes to freeze a snapshot; `inputs_ok` says whether there are any.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.pages import roi_offer
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.services import offer_terms, properties, roi
from arbibase_chat.services.errors import DomainError
from arbibase_chat.session import SessionState, user_view

#: Longer text is not kept in state (the service refuses more than roi.MAX_TEXT_CHARS anyway).
MAX_FIELD_CHARS = 64
#: The chart's occupancy step, in percentage points.
CHART_STEP = 5
NOT_FOUND_NOTE = "That property could not be found: the calculator starts empty."


@dataclass
class Figure:
    """One key-figure card."""

    id: str = ""
    label: str = ""
    value: str = ""
    hint: str = ""
    tone: str = "gray"  # a Radix colour: green earns, red loses, gray neither
    # Grid columns taken on a phone (of 2) and wider (of 6): the two nets lead, wider.
    phone_span: str = "span 1"
    wide_span: str = "span 2"


@dataclass
class Line:
    """One row of the monthly breakdown."""

    label: str = ""
    value: str = ""
    strong: bool = False


@dataclass
class GridCell:
    value: str = ""
    tone: str = "gray"
    current: bool = False  # the unit as entered (the grid's centre)


@dataclass
class GridHead:
    """A row or column heading of the sensitivity grid: the value, and the step from the
    unit as entered ("-10%", "current")."""

    value: str = ""
    delta: str = ""


@dataclass
class GridRow:
    head: GridHead = field(default_factory=GridHead)
    cells: list[GridCell] = field(default_factory=list)


def _money(value: Decimal | None) -> str:
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _dollars(value: Decimal) -> str:
    """Whole dollars, half away from zero: the grid stays readable on a phone."""
    whole = value.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{'-' if whole < 0 else ''}${abs(whole):,.0f}"


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}%"


def _tone(value: Decimal) -> str:
    return "green" if value > 0 else "red" if value < 0 else "gray"


def _delta(value: int, unit: str) -> str:
    return "current" if value == 0 else f"{value:+d}{unit}"


def _rent_text(cents: int | None) -> str:
    if not cents:
        return ""
    return str(cents // 100) if cents % 100 == 0 else f"{cents / 100:.2f}"


def _figures(result: roi.RoiResult) -> list[Figure]:
    break_even = result.break_even_occupancy_pct
    reachable = break_even is not None and break_even <= 100
    payback = result.payback_months
    return [
        Figure(
            id="roi-net",
            label="Monthly net cash flow",
            value=_money(result.net_cash_flow),
            hint=f"{_money(result.gross_revenue)} in, {_money(result.total_costs)} out",
            tone=_tone(result.net_cash_flow),
            phone_span="span 2",
            wide_span="span 3",
        ),
        Figure(
            id="roi-annual",
            label="Annual net",
            value=_money(result.annual_net),
            hint="12 months at this rate",
            tone=_tone(result.annual_net),
            wide_span="span 3",
        ),
        Figure(
            id="roi-coc",
            label="Cash-on-cash return",
            value=_pct(result.cash_on_cash_pct),
            hint=(
                "no startup cost entered"
                if result.cash_on_cash_pct is None
                else f"on {_money(result.startup_cost)} startup"
            ),
            tone="gray" if result.cash_on_cash_pct is None else _tone(result.cash_on_cash_pct),
        ),
        Figure(
            id="roi-payback",
            label="Payback",
            value="—" if payback is None else f"{payback:,.1f} months",
            hint="never at this net" if payback is None else "to earn the startup cost back",
            tone="red" if payback is None else "gray",
        ),
        Figure(
            id="roi-break-even",
            label="Break-even occupancy",
            value=_pct(break_even) if reachable else "Unreachable",
            hint=(
                "occupancy where net is $0"
                if reachable
                else "costs exceed revenue at any occupancy"
                if break_even is None
                else f"would need {_pct(break_even)}"
            ),
            tone="gray" if reachable else "red",
        ),
    ]


def _breakdown(result: roi.RoiResult) -> list[Line]:
    return [
        Line("Booked nights / month", f"{result.booked_nights:,.2f}"),
        Line("Stays / month", f"{result.stays:,.2f}"),
        Line("Gross revenue", _money(result.gross_revenue), strong=True),
        Line("Platform fees", _money(result.platform_fees)),
        Line("Management fees", _money(result.management_fees)),
        Line("Cleaning costs", _money(result.cleaning_costs)),
        Line("Fixed costs", _money(result.fixed_costs)),
        Line("Total costs", _money(result.total_costs), strong=True),
        Line("Startup cost", _money(result.startup_cost), strong=True),
    ]


def _grid(result: roi.RoiResult) -> tuple[list[GridHead], list[GridRow]]:
    grid = result.sensitivity
    header = [
        GridHead(_money(adr).removesuffix(".00"), _delta(d, "%"))
        for adr, d in zip(grid.adrs, grid.adr_deltas_pct, strict=True)
    ]
    rows = [
        GridRow(
            head=GridHead(f"{occ:,.2f}".rstrip("0").rstrip(".") + "%", _delta(d, " pts")),
            cells=[
                GridCell(_dollars(v), _tone(v), current=(d == 0 and a == 0))
                for v, a in zip(values, grid.adr_deltas_pct, strict=True)
            ],
        )
        for occ, d, values in zip(
            grid.occupancy_pcts, grid.occupancy_deltas, grid.net_cash_flow, strict=True
        )
    ]
    return header, rows


@user_view
class RoiState(rx.State):
    # The user's own text per input (camelCase keys of services/roi.py).
    values: dict[str, str] = dict.fromkeys(roi.INPUT_KEYS, "")
    errors: dict[str, str] = {}  # key -> message, for the fields the service refuses
    property_id: str = ""  # the listing the calculator was prefilled from ("" none)
    property_title: str = ""
    note: str = ""  # e.g. the ?property= id was not found
    stale: bool = False  # a field is bad: the figures are the last valid ones
    figures: list[Figure] = []
    breakdown: list[Line] = []
    grid_header: list[GridHead] = []
    grid: list[GridRow] = []
    curve: list[dict[str, float]] = []  # {"occupancy": %, "net": $} from 0 to 100
    break_even_x: float = -1.0  # where the chart marks break-even; -1: not within 0..100
    loaded: bool = False
    # The Send Offer panel (pages/roi_offer.py)
    offer_error: str = ""
    offer_field: str = ""
    offer_start: str = ""
    _offer_key: str = ""  # the panel's idempotency key: a double click sends one offer
    _valid: dict[str, Any] = {}  # the last validated inputs (roi.RoiInputs.as_dict())
    _prefill: dict[str, str] = {}  # what the property filled in (start_over restores it)
    _loaded_for: str | None = None  # the ?property= value the page was loaded for

    @rx.var
    def inputs_ok(self) -> bool:
        return self.loaded and not self.errors

    # --- backend only ----------------------------------------------------------------------

    def _inputs(self) -> dict[str, Any] | None:
        """The current validated inputs (camelCase, defaults filled in; what `roi.compute`
        takes), or None while a field is refused: what a Send Offer panel freezes."""
        return dict(self._valid) if self.loaded and not self.errors else None

    async def _user_id(self) -> uuid.UUID | None:
        session = await self.get_state(SessionState)
        return await session._current_user_id()

    def _requested_property(self) -> str:
        return str(self.router.url.query_parameters.get("property", "") or "")[:64]

    def _recompute(self) -> None:
        found = roi.problems(self.values)
        # "adr must be a number from 0 to …" under the ADR field reads "Must be a number …".
        self.errors = {
            key: message.removeprefix(f"{key} ").capitalize() for key, message in found.items()
        }
        self.stale = bool(found)
        if found and self.loaded:
            return  # keep the last valid figures on screen
        result = roi.compute({} if found else self.values)
        self._valid = result.inputs.as_dict()
        self.figures = _figures(result)
        self.breakdown = _breakdown(result)
        self.grid_header, self.grid = _grid(result)
        self.curve = [
            {"occupancy": pct, "net": float(net)}
            for pct, net in result.net_by_occupancy(step=CHART_STEP)
        ]
        be = result.break_even_occupancy_pct
        self.break_even_x = float(be) if be is not None and be <= 100 else -1.0

    async def _prefill_from(self, user_id: uuid.UUID, requested: str) -> None:
        self.property_id = self.property_title = self.note = ""
        self._prefill = {}
        if not requested:
            return
        try:
            prop = await aio.call(properties.get_property, user_id=user_id, property_id=requested)
        except DomainError:
            # Garbage, unknown or not visible: the same empty calculator either way.
            self.note = NOT_FOUND_NOTE
            return
        self.property_id = str(prop.id)
        self.property_title = prop.title
        rent = _rent_text(prop.monthly_rent_cents)
        if rent:
            self._prefill = {"monthlyRent": rent}

    # --- events the browser may send ---------------------------------------------------------

    @rx.event
    async def load(self):
        user_id = await self._user_id()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        # The navbar's unread badge, live, without loading the inbox list.
        await (await self.get_state(InboxState))._load_badge(user_id)
        if not self._offer_key:
            self._offer_key = uuid.uuid4().hex
            self.offer_start = offer_terms.default_start_date()
        requested = self._requested_property()
        if self.loaded and self._loaded_for == requested:
            return None  # a reconnect (on_load runs again): keep what was typed
        await self._prefill_from(user_id, requested)
        self._loaded_for = requested
        self.values = {**dict.fromkeys(roi.INPUT_KEYS, ""), **self._prefill}
        self.loaded = False
        self._recompute()
        self.loaded = True
        return None

    @rx.event
    async def update_input(self, key: str, value: str):
        """One field changed (debounced in the browser): keep the text, recompute."""
        if not isinstance(key, str) or key not in roi.LIMITS or not isinstance(value, str):
            return None
        if await self._user_id() is None or not self.loaded:
            return None
        self.values = {**self.values, key: value[:MAX_FIELD_CHARS]}
        self._recompute()
        return None

    @rx.event
    async def send_offer(self, form_data: dict[str, Any]):
        """Send Offer: the terms typed here, the calculator's numbers frozen with them."""
        return await roi_offer.send(self, form_data)

    @rx.event
    async def start_over(self):
        """Back to the empty calculator (or the property's prefill)."""
        if await self._user_id() is None or not self.loaded:
            return None
        self.values = {**dict.fromkeys(roi.INPUT_KEYS, ""), **self._prefill}
        self._recompute()
        return None
