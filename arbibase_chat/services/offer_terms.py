"""An offer's terms: what both parties see and negotiate, validated, compared and worded.

Terms are the owner-facing part of an offer (rent, term, start, deposit, the model, the
clauses). Keys are the API's (camelCase), money in dollars with cents. The operator's own
numbers (the ROI snapshot) are not terms: services/offers.py keeps them apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from arbibase_chat.db import utcnow
from arbibase_chat.services.errors import Invalid

MODELS = ("guaranteed", "revenue_share")
MAX_MONEY = Decimal("10000000")  # $10M: beyond any monthly rent or deposit on the platform
MAX_LEASE_MONTHS = 120
MAX_EXPIRES_IN_DAYS = 30
DEFAULT_EXPIRES_IN_DAYS = 7
# How far back a start date may be: a counter keeps a date the parties set a while ago.
START_DATE_GRACE_DAYS = 31
MAX_START_DATE_AHEAD_DAYS = 3 * 366

# Every key a terms object may hold, in the order a card and a diff list them.
KEYS = (
    "monthlyRent",
    "leaseMonths",
    "startDate",
    "deposit",
    "annualEscalatorPct",
    "model",
    "revenueSharePct",
    "subletClause",
    "insuranceCoverage",
    "maintenanceThreshold",
    "expiresInDays",
)
LABELS = {
    "monthlyRent": "rent",
    "leaseMonths": "term",
    "startDate": "start",
    "deposit": "deposit",
    "annualEscalatorPct": "annual escalator",
    "model": "model",
    "revenueSharePct": "revenue share",
    "subletClause": "sublet clause",
    "insuranceCoverage": "insurance",
    "maintenanceThreshold": "operator pays repairs up to",
    "expiresInDays": "valid for",
}


def _money(raw: Mapping[str, Any], key: str, *, required: bool = False) -> float:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            raise Invalid(f"{key} is required", field=key)
        return 0.0
    number = _number(value, key)
    if number < 0:
        raise Invalid(f"{key} must not be negative", field=key)
    if number > MAX_MONEY:
        raise Invalid(f"{key} must be at most {MAX_MONEY:,}", field=key)
    return float(number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _number(value: Any, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Invalid(f"{key} must be a number", field=key)
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"{key} must be a finite number", field=key)
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except ArithmeticError:
        raise Invalid(f"{key} must be a number", field=key) from None
    if not number.is_finite():
        raise Invalid(f"{key} must be a finite number", field=key)
    return number


def _whole(raw: Mapping[str, Any], key: str, *, low: int, high: int, default: int | None) -> int:
    value = raw.get(key)
    if value is None or value == "":
        if default is None:
            raise Invalid(f"{key} is required", field=key)
        return default
    number = _number(value, key)
    if number != number.to_integral_value():
        raise Invalid(f"{key} must be a whole number", field=key)
    if not low <= number <= high:
        raise Invalid(f"{key} must be between {low} and {high}", field=key)
    return int(number)


def _pct(raw: Mapping[str, Any], key: str, *, low: float, high: float) -> float:
    number = _number(raw.get(key), key)
    if not Decimal(str(low)) <= number <= Decimal(str(high)):
        raise Invalid(f"{key} must be between {low:g} and {high:g}", field=key)
    return float(number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _start_date(raw: Mapping[str, Any]) -> str:
    value = raw.get("startDate")
    if not isinstance(value, str) or not value.strip():
        raise Invalid("startDate is required (YYYY-MM-DD)", field="startDate")
    try:
        day = date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise Invalid("startDate must be a date (YYYY-MM-DD)", field="startDate") from None
    today = utcnow().date()
    if day < today - timedelta(days=START_DATE_GRACE_DAYS):
        raise Invalid("startDate is too far in the past", field="startDate")
    if day > today + timedelta(days=MAX_START_DATE_AHEAD_DAYS):
        raise Invalid("startDate is more than three years ahead", field="startDate")
    return day.isoformat()


def default_start_date() -> str:
    """The first of the month after next: a realistic move-in date to start an offer from."""
    first = utcnow().date().replace(day=1)
    return (first + timedelta(days=62)).replace(day=1).isoformat()


def _flag(raw: Mapping[str, Any], key: str, *, default: bool) -> bool:
    value = raw.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Invalid(f"{key} must be true or false", field=key)
    return value


def validate(raw: Any) -> dict[str, Any]:
    """Raw input (API body, page form) to clean terms; an error names the field."""
    if not isinstance(raw, Mapping):
        raise Invalid("terms must be an object", field="terms")
    unknown = sorted(str(k) for k in raw if k not in KEYS)
    if unknown:
        raise Invalid(f"Unknown terms: {', '.join(unknown)[:200]}", field="terms")
    model = raw.get("model", "guaranteed")
    if model not in MODELS:
        raise Invalid("model must be guaranteed or revenue_share", field="model")
    terms: dict[str, Any] = {
        "monthlyRent": _money(raw, "monthlyRent", required=True),
        "leaseMonths": _whole(raw, "leaseMonths", low=1, high=MAX_LEASE_MONTHS, default=None),
        "startDate": _start_date(raw),
        "deposit": _money(raw, "deposit"),
        "annualEscalatorPct": (
            0.0
            if raw.get("annualEscalatorPct") in (None, "")
            else _pct(raw, "annualEscalatorPct", low=0, high=25)
        ),
        "model": model,
        "revenueSharePct": None,
        "subletClause": _flag(raw, "subletClause", default=True),
        "insuranceCoverage": _money(raw, "insuranceCoverage"),
        "maintenanceThreshold": _money(raw, "maintenanceThreshold"),
        "expiresInDays": _whole(
            raw, "expiresInDays", low=1, high=MAX_EXPIRES_IN_DAYS, default=DEFAULT_EXPIRES_IN_DAYS
        ),
    }
    if terms["monthlyRent"] <= 0:
        raise Invalid("monthlyRent must be more than 0", field="monthlyRent")
    share = raw.get("revenueSharePct")
    if model == "revenue_share":
        if share in (None, ""):
            raise Invalid("revenueSharePct is required for revenue_share", field="revenueSharePct")
        terms["revenueSharePct"] = _pct(raw, "revenueSharePct", low=0.01, high=100)
    elif share not in (None, ""):
        raise Invalid("revenueSharePct applies to revenue_share only", field="revenueSharePct")
    return terms


# --- words ------------------------------------------------------------------------------------


def money(value: float) -> str:
    whole = float(value).is_integer()
    return f"${value:,.0f}" if whole else f"${value:,.2f}"


def show(key: str, value: Any) -> str:
    """One term's value as a person reads it."""
    if value is None:
        return "—"
    if key in ("monthlyRent", "deposit", "insuranceCoverage", "maintenanceThreshold"):
        text = money(value)
        return f"{text}/mo" if key == "monthlyRent" else text
    if key == "leaseMonths":
        return f"{value} month" + ("" if value == 1 else "s")
    if key == "expiresInDays":
        return f"{value} day" + ("" if value == 1 else "s")
    if key in ("annualEscalatorPct", "revenueSharePct"):
        return f"{value:g}%"
    if key == "model":
        return "Guaranteed rent" if value == "guaranteed" else "Revenue share"
    if key == "subletClause":
        return "Short-term subletting allowed" if value else "No subletting"
    if key == "startDate":
        try:
            return date.fromisoformat(value).strftime("%b %-d, %Y")
        except (TypeError, ValueError):
            return str(value)
    return str(value)


# Terms whose zero means "not part of this offer": a card leaves them out.
OPTIONAL_WHEN_ZERO = ("annualEscalatorPct", "insuranceCoverage", "maintenanceThreshold")


def worth_showing(key: str, value: Any) -> bool:
    if value is None:
        return False
    return not (key in OPTIONAL_WHEN_ZERO and not value)


def headline(terms: Mapping[str, Any]) -> str:
    """ "$2,400/mo · 12 months · from Jan 1, 2027"."""
    parts = [show("monthlyRent", terms.get("monthlyRent"))]
    if terms.get("leaseMonths"):
        parts.append(show("leaseMonths", terms["leaseMonths"]))
    if terms.get("startDate"):
        parts.append("from " + show("startDate", terms["startDate"]))
    return " · ".join(parts)


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    before: str
    after: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.key, "label": self.label, "before": self.before, "after": self.after}

    def __str__(self) -> str:
        return f"{self.label} {self.before} → {self.after}"


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """What a counter changed, in card order ("rent $2,400/mo → $2,250/mo")."""
    changes = []
    for key in KEYS:
        if key == "expiresInDays":
            continue  # how long an answer may take is not part of the deal
        if before.get(key) != after.get(key):
            changes.append(
                Change(key, LABELS[key], show(key, before.get(key)), show(key, after.get(key)))
            )
    return changes
