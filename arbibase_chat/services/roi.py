"""The ROI Calculator (issue #11): what a rental-arbitrage unit earns per month, pure math.

No database, no clock: `compute(inputs)` validates the camelCase inputs (the REST body, the
page's fields, an offer's frozen snapshot) and returns a `RoiResult`; `as_dict()` is the
response JSON. Other tools depend on the names and formulas below: change neither lightly.

A month is 365/12 nights. With occupancy `o` (percent) and average stay `S` nights:

    booked_nights = o/100 * 365/12                stays = booked_nights / S
    gross_revenue = adr * booked_nights + cleaningFeePerStay * stays
    platform_fees = platformFeePct/100 * gross    management_fees = managementPct/100 * gross
    cleaning_costs = cleaningCostPerStay * stays
    fixed_costs = monthlyRent + utilities + internet + insurance + supplies + software
                  + otherMonthly
    total_costs = fixed_costs + platform_fees + management_fees + cleaning_costs
    net_cash_flow = gross_revenue - total_costs   annual_net = 12 * net_cash_flow
    startup_cost = deposit + upfrontRentMonths * monthlyRent + furnishingCost + setupCost
    cash_on_cash_pct = 100 * annual_net / startup_cost       (null when startup is 0)
    payback_months = startup_cost / net_cash_flow            (null when net ≤ 0)

Net is linear in occupancy: net(o) = o/100 * 365/12 * margin - fixed_costs, where `margin` is
what one booked night leaves after the fees and the cleaning: (adr + fee/S) * (1 - (platform
+ management)/100) - cost/S. So `break_even_occupancy_pct` = 100 * fixed / (365/12 * margin),
null when margin ≤ 0 (no occupancy breaks even); it may exceed 100 (unreachable in practice).

Arithmetic is exact (fractions of the typed decimals) and rounded once, half away from zero,
at the end: money and percentages to cents, months to one decimal, nights and stays to two
decimals. So a rounded total may differ by a cent from the sum of its rounded parts, and a
hand computation with exact fractions gives the same cents.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from fractions import Fraction
from typing import Any

from arbibase_chat.services.errors import Invalid

# --- inputs ---------------------------------------------------------------------------------

#: Every input, in the order forms show them and errors are reported.
INPUT_KEYS: tuple[str, ...] = (
    "monthlyRent",
    "adr",
    "occupancyPct",
    "avgStayNights",
    "cleaningFeePerStay",
    "cleaningCostPerStay",
    "platformFeePct",
    "managementPct",
    "utilities",
    "internet",
    "insurance",
    "supplies",
    "software",
    "otherMonthly",
    "deposit",
    "furnishingCost",
    "setupCost",
    "upfrontRentMonths",
)

#: What a missing (or null, or blank) input counts as; every other input counts 0.
DEFAULTS: Mapping[str, int] = {"avgStayNights": 3, "platformFeePct": 3, "upfrontRentMonths": 1}

#: Any amount of money, monthly or one-off: more is a typo, not a deal.
MAX_MONEY = 10_000_000
PERCENT_KEYS = frozenset({"occupancyPct", "platformFeePct", "managementPct"})

#: (lowest, highest) accepted per input, both included. The API schema shows the same bounds.
LIMITS: Mapping[str, tuple[int, int]] = {
    **{key: (0, MAX_MONEY) for key in INPUT_KEYS},
    **{key: (0, 100) for key in PERCENT_KEYS},
    "avgStayNights": (1, 365),
    "upfrontRentMonths": (0, 36),
}

#: Typed text longer than this is not a number anyone means.
MAX_TEXT_CHARS = 32
# A plain decimal as people type it: "1500", "1,500.50", "$95", "65%", ".5". No exponent
# ("1e999999" would be a huge exact number), no fraction syntax ("1/3", which Fraction reads).
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
# Commas only as thousands separators: "1,5" (a European decimal) is refused, not read as 15.
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_DECORATION = re.compile(r"[\s$%]")

MONTH_NIGHTS = Fraction(365, 12)


@dataclass(frozen=True)
class RoiInputs:
    """Validated inputs (defaults applied), exact."""

    monthlyRent: Fraction
    adr: Fraction
    occupancyPct: Fraction
    avgStayNights: Fraction
    cleaningFeePerStay: Fraction
    cleaningCostPerStay: Fraction
    platformFeePct: Fraction
    managementPct: Fraction
    utilities: Fraction
    internet: Fraction
    insurance: Fraction
    supplies: Fraction
    software: Fraction
    otherMonthly: Fraction
    deposit: Fraction
    furnishingCost: Fraction
    setupCost: Fraction
    upfrontRentMonths: Fraction

    def as_dict(self) -> dict[str, int | float]:
        """The inputs as JSON (camelCase, defaults filled in): what an offer freezes."""
        out: dict[str, int | float] = {}
        for f in fields(self):
            value: Fraction = getattr(self, f.name)
            out[f.name] = value.numerator if value.denominator == 1 else float(value)
        return out


def _number(key: str, value: Any) -> Fraction:
    """One input as an exact number within its limits; Invalid naming `key` otherwise."""
    low, high = LIMITS[key]
    bounds = f"a number from {low:,} to {high:,}"
    if value is None:
        return Fraction(DEFAULTS.get(key, 0))
    if isinstance(value, bool):  # True is an int in Python, not a number in a form
        raise Invalid(f"{key} must be {bounds}", field=key)
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise Invalid(f"{key} must be {bounds}", field=key)
        text = _DECORATION.sub("", value)
        if not text:
            return Fraction(DEFAULTS.get(key, 0))
        if _THOUSANDS.fullmatch(text):
            text = text.replace(",", "")
        if not _PLAIN_NUMBER.fullmatch(text):
            raise Invalid(f"{key} must be {bounds}", field=key)
        number = Fraction(text)
    elif isinstance(value, int):
        # Compared before any conversion: a 4,000-digit int costs nothing here.
        if not low <= value <= high:
            raise Invalid(f"{key} must be {bounds}", field=key)
        number = Fraction(value)
    elif isinstance(value, float | Decimal):
        if not math.isfinite(value):
            raise Invalid(f"{key} must be {bounds}", field=key)
        # repr: the decimal that was typed (0.1 stays 1/10, not the binary float's value).
        number = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    else:
        raise Invalid(f"{key} must be {bounds}", field=key)
    if not low <= number <= high:
        raise Invalid(f"{key} must be {bounds}", field=key)
    return number


def parse(inputs: Mapping[str, Any]) -> RoiInputs:
    """Validate `inputs` (camelCase keys; missing, null or blank: the default or 0).

    Numbers, or text as typed ("1,500", "$95", "65%"). Raises Invalid naming the first bad
    field in INPUT_KEYS order; an unknown key is refused too (a typo would silently count 0).
    """
    for key in inputs:
        if key not in LIMITS:
            raise Invalid(f"Unknown input {str(key)[:40]!r}", field=str(key)[:40])
    return RoiInputs(**{key: _number(key, inputs.get(key)) for key in INPUT_KEYS})


def problems(inputs: Mapping[str, Any]) -> dict[str, str]:
    """Every bad input with its message (empty when all are fine): for forms that mark each."""
    found: dict[str, str] = {}
    for key in INPUT_KEYS:
        try:
            _number(key, inputs.get(key))
        except Invalid as exc:
            found[key] = exc.message
    return found


# --- results --------------------------------------------------------------------------------

#: The sensitivity grid's steps: occupancy in percentage points, ADR in percent.
OCCUPANCY_DELTAS: tuple[int, ...] = (-10, 0, 10)
ADR_DELTAS_PCT: tuple[int, ...] = (-10, 0, 10)


def _rounded(value: Fraction, places: int) -> Decimal:
    """Half away from zero (as people round by hand), exact."""
    scaled = value * 10**places
    magnitude = math.floor(abs(scaled) + Fraction(1, 2))
    return Decimal(-magnitude if scaled < 0 else magnitude).scaleb(-places)


def _maybe(value: Fraction | None, places: int) -> Decimal | None:
    return None if value is None else _rounded(value, places)


def _json(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class Sensitivity:
    """Monthly net cash flow for occupancy ± points (rows) * ADR ± percent (columns)."""

    occupancy_deltas: tuple[int, ...]
    adr_deltas_pct: tuple[int, ...]
    occupancy_pcts: tuple[Decimal, ...]  # the row's occupancy after clamping to 0..100
    adrs: tuple[Decimal, ...]  # the column's ADR
    net_cash_flow: tuple[tuple[Decimal, ...], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "occupancy_deltas": list(self.occupancy_deltas),
            "adr_deltas_pct": list(self.adr_deltas_pct),
            "occupancy_pcts": [float(v) for v in self.occupancy_pcts],
            "adrs": [float(v) for v in self.adrs],
            "net_cash_flow": [[float(v) for v in row] for row in self.net_cash_flow],
        }


@dataclass(frozen=True)
class RoiResult:
    inputs: RoiInputs
    booked_nights: Decimal
    stays: Decimal
    gross_revenue: Decimal
    platform_fees: Decimal
    management_fees: Decimal
    cleaning_costs: Decimal
    fixed_costs: Decimal
    total_costs: Decimal
    net_cash_flow: Decimal
    annual_net: Decimal
    startup_cost: Decimal
    cash_on_cash_pct: Decimal | None
    payback_months: Decimal | None
    break_even_occupancy_pct: Decimal | None
    sensitivity: Sensitivity

    def as_dict(self) -> dict[str, Any]:
        """The response JSON: the figures as numbers (null where undefined), and the grid."""
        out: dict[str, Any] = {
            f.name: _json(getattr(self, f.name))
            for f in fields(self)
            if f.name not in ("inputs", "sensitivity")
        }
        out["sensitivity"] = self.sensitivity.as_dict()
        return out

    def net_by_occupancy(self, *, step: int = 5) -> list[tuple[int, Decimal]]:
        """(occupancy %, monthly net cash flow) from 0 to 100: the page's chart."""
        return [
            (pct, _rounded(_net(self.inputs, occupancy=Fraction(pct)), 2))
            for pct in range(0, 101, step)
        ]


def _fixed(i: RoiInputs) -> Fraction:
    return (
        i.monthlyRent
        + i.utilities
        + i.internet
        + i.insurance
        + i.supplies
        + i.software
        + i.otherMonthly
    )


def _net(i: RoiInputs, *, occupancy: Fraction, adr: Fraction | None = None) -> Fraction:
    """Monthly net cash flow at another occupancy (and ADR): the same formulas as compute."""
    booked = occupancy / 100 * MONTH_NIGHTS
    stays = booked / i.avgStayNights
    gross = (i.adr if adr is None else adr) * booked + i.cleaningFeePerStay * stays
    fees = (i.platformFeePct + i.managementPct) / 100 * gross
    return gross - (_fixed(i) + fees + i.cleaningCostPerStay * stays)


def calculate(i: RoiInputs) -> RoiResult:
    """The figures for validated inputs (see the module docstring for every formula)."""
    booked = i.occupancyPct / 100 * MONTH_NIGHTS
    stays = booked / i.avgStayNights
    gross = i.adr * booked + i.cleaningFeePerStay * stays
    platform = i.platformFeePct / 100 * gross
    management = i.managementPct / 100 * gross
    cleaning = i.cleaningCostPerStay * stays
    fixed = _fixed(i)
    total = fixed + platform + management + cleaning
    net = gross - total
    annual = 12 * net
    startup = i.deposit + i.upfrontRentMonths * i.monthlyRent + i.furnishingCost + i.setupCost
    margin = (i.adr + i.cleaningFeePerStay / i.avgStayNights) * (
        1 - (i.platformFeePct + i.managementPct) / 100
    ) - i.cleaningCostPerStay / i.avgStayNights
    occupancies = [
        min(max(i.occupancyPct + d, Fraction(0)), Fraction(100)) for d in OCCUPANCY_DELTAS
    ]
    adrs = [i.adr * (100 + d) / 100 for d in ADR_DELTAS_PCT]
    return RoiResult(
        inputs=i,
        booked_nights=_rounded(booked, 2),
        stays=_rounded(stays, 2),
        gross_revenue=_rounded(gross, 2),
        platform_fees=_rounded(platform, 2),
        management_fees=_rounded(management, 2),
        cleaning_costs=_rounded(cleaning, 2),
        fixed_costs=_rounded(fixed, 2),
        total_costs=_rounded(total, 2),
        net_cash_flow=_rounded(net, 2),
        annual_net=_rounded(annual, 2),
        startup_cost=_rounded(startup, 2),
        cash_on_cash_pct=_maybe(100 * annual / startup if startup else None, 2),
        payback_months=_maybe(startup / net if net > 0 else None, 1),
        break_even_occupancy_pct=_maybe(
            100 * fixed / (MONTH_NIGHTS * margin) if margin > 0 else None, 2
        ),
        sensitivity=Sensitivity(
            occupancy_deltas=OCCUPANCY_DELTAS,
            adr_deltas_pct=ADR_DELTAS_PCT,
            occupancy_pcts=tuple(_rounded(o, 2) for o in occupancies),
            adrs=tuple(_rounded(a, 2) for a in adrs),
            net_cash_flow=tuple(
                tuple(_rounded(_net(i, occupancy=o, adr=a), 2) for a in adrs) for o in occupancies
            ),
        ),
    )


def compute(inputs: Mapping[str, Any]) -> RoiResult:
    """Validate and calculate: the one entry point for the API, the page and offers."""
    return calculate(parse(inputs))
