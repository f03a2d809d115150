"""The ROI Calculator against hand-computed cases (services/roi.py; no database).

Each case writes its hand computation out with exact fractions: a month is 365/12 =
30.41666… nights; values are rounded once at the end, half away from zero.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from arbibase_chat.services import roi
from arbibase_chat.services.errors import Invalid


def figures(inputs: dict) -> dict:
    return roi.compute(inputs).as_dict()


def test_a_typical_unit_by_hand():
    out = figures(
        {
            "monthlyRent": 2000,
            "adr": 150,
            "occupancyPct": 70,
            "cleaningFeePerStay": 100,
            "cleaningCostPerStay": 80,
            "utilities": 200,
            "internet": 60,
            "deposit": 2000,
            "furnishingCost": 10000,
        }
    )
    # booked = 0.70 * 365/12 = 21.291666…                          -> 21.29
    # stays = 21.291666… / 3 (default stay) = 7.097222…             -> 7.10
    # gross = 150 * 21.291666… + 100 * 7.097222… = 3193.75 + 709.7222… = 3903.4722…
    # platform = 3 % (default) * 3903.4722… = 117.104166…           -> 117.10
    # cleaning = 80 * 7.097222… = 567.7777…                         -> 567.78
    # fixed = 2000 + 200 + 60 = 2260
    # total = 2260 + 117.104166… + 567.7777… = 2944.881944…         -> 2944.88
    # net = 3903.4722… - 2944.881944… = 958.590277…                 -> 958.59
    # annual = 12 * 958.590277… = 11503.0833…                       -> 11503.08
    # startup = 2000 deposit + 1 (default) * 2000 rent + 10000 = 14000
    # cash on cash = 100 * 11503.0833… / 14000 = 82.16488…          -> 82.16
    # payback = 14000 / 958.590277… = 14.6048…                      -> 14.6
    # margin per booked night = (150 + 100/3) * 0.97 - 80/3 = 151.1666…
    # break-even = 100 * 2260 / (30.41666… * 151.1666…) = 226000 / 4597.9513… = 49.1523…
    assert {k: v for k, v in out.items() if k != "sensitivity"} == {
        "booked_nights": 21.29,
        "stays": 7.10,
        "gross_revenue": 3903.47,
        "platform_fees": 117.10,
        "management_fees": 0.0,
        "cleaning_costs": 567.78,
        "fixed_costs": 2260.0,
        "total_costs": 2944.88,
        "net_cash_flow": 958.59,
        "annual_net": 11503.08,
        "startup_cost": 14000.0,
        "cash_on_cash_pct": 82.16,
        "payback_months": 14.6,
        "break_even_occupancy_pct": 49.15,
    }
    grid = out["sensitivity"]
    assert grid["occupancy_deltas"] == [-10, 0, 10]
    assert grid["adr_deltas_pct"] == [-10, 0, 10]
    assert grid["occupancy_pcts"] == [60.0, 70.0, 80.0]
    assert grid["adrs"] == [135.0, 150.0, 165.0]
    # The middle cell is the unit itself. One corner by hand, occupancy 60 %, ADR 135:
    # booked = 0.6 * 365/12 = 18.25; stays = 6.08333…; gross = 135 * 18.25 + 100 * 6.08333…
    # = 2463.75 + 608.333… = 3072.0833…; fees 3 % = 92.1625; cleaning = 486.666…
    # net = 3072.0833… - (2260 + 92.1625 + 486.666…) = 233.254166…     -> 233.25
    assert grid["net_cash_flow"][1][1] == out["net_cash_flow"]
    assert grid["net_cash_flow"][0][0] == 233.25
    assert grid["net_cash_flow"] == [
        [233.25, 498.79, 764.33],
        [648.80, 958.59, 1268.38],
        [1064.34, 1418.39, 1772.44],
    ]


def test_startup_zero_leaves_cash_on_cash_null_and_rounds_half_away_from_zero():
    out = figures({"adr": 100, "occupancyPct": 50})
    # booked = 0.5 * 365/12 = 15.208333…; stays = 5.069444…
    # gross = 100 * 15.208333… = 1520.8333…
    # platform = 0.03 * 1520.8333… = 45.625 exactly -> 45.63 (float round() says 45.62)
    # net = 1520.8333… - 45.625 = 1475.208333… -> 1475.21; annual = 17702.50
    # no rent, no deposit: startup 0 -> cash on cash null; payback 0 / net = 0 months;
    # nothing fixed to cover -> break-even at 0 %.
    assert out["platform_fees"] == 45.63
    assert out["total_costs"] == 45.63
    assert out["net_cash_flow"] == 1475.21 and out["annual_net"] == 17702.50
    assert out["startup_cost"] == 0.0
    assert out["cash_on_cash_pct"] is None
    assert out["payback_months"] == 0.0
    assert out["break_even_occupancy_pct"] == 0.0


def test_a_losing_unit_has_no_payback_and_a_break_even_above_100():
    out = figures({"monthlyRent": 3000, "adr": 100, "occupancyPct": 50})
    # net = 1475.208333… - 3000 = -1524.791666… -> -1524.79; annual = -18297.50
    # startup = 1 * 3000 = 3000; cash on cash = 100 * -18297.5 / 3000 = -609.91666… -> -609.92
    # net ≤ 0 -> payback null.
    # break-even = 100 * 3000 / (365/12 * 100 * 0.97) = 300000 / 2950.41666… = 101.6805… -> 101.68
    assert out["net_cash_flow"] == -1524.79
    assert out["annual_net"] == -18297.50
    assert out["cash_on_cash_pct"] == -609.92
    assert out["payback_months"] is None
    assert out["break_even_occupancy_pct"] == 101.68


@pytest.mark.parametrize(
    "inputs",
    [
        # fees take everything: (100 + 0) * (1 - (50 + 50)/100) = 0 per booked night
        {"adr": 100, "occupancyPct": 50, "platformFeePct": 50, "managementPct": 50, "utilities": 1},
        # cleaning costs more than a one-night stay brings: 10 * 0.97 - 20 / 1 = -10.3
        {"adr": 10, "avgStayNights": 1, "cleaningCostPerStay": 20, "monthlyRent": 500},
    ],
)
def test_break_even_is_null_when_no_occupancy_reaches_it(inputs):
    out = figures(inputs)
    assert out["break_even_occupancy_pct"] is None
    assert out["net_cash_flow"] < 0 and out["payback_months"] is None


def test_net_zero_has_no_payback():
    # 0 revenue, 0 costs: net 0 is not a payback (it never pays back).
    assert figures({"deposit": 100})["payback_months"] is None


def test_defaults_and_missing_inputs():
    result = roi.compute({})
    assert result.inputs.as_dict() == {
        **dict.fromkeys(roi.INPUT_KEYS, 0),
        "avgStayNights": 3,
        "platformFeePct": 3,
        "upfrontRentMonths": 1,
    }
    out = result.as_dict()
    assert all(out[k] == 0.0 for k in ("gross_revenue", "net_cash_flow", "startup_cost"))
    assert out["cash_on_cash_pct"] is None and out["payback_months"] is None
    assert out["break_even_occupancy_pct"] is None  # nothing earned per booked night
    # null and blank text count as missing
    assert roi.compute({"avgStayNights": None, "platformFeePct": "  "}).inputs == result.inputs
    # explicit values replace the defaults (0 % platform fee is allowed)
    explicit = roi.compute({"avgStayNights": 2, "platformFeePct": 0, "upfrontRentMonths": 0})
    assert explicit.inputs.as_dict()["platformFeePct"] == 0


def test_defaults_change_the_figures():
    # rent 1000, 2 months up front (not the default 1): startup = 2 * 1000 = 2000
    assert figures({"monthlyRent": 1000, "upfrontRentMonths": 2})["startup_cost"] == 2000.0
    # a 1-night average stay means 15.208333… stays at 50 %: cleaning fee 10 -> 152.08
    out = figures({"occupancyPct": 50, "avgStayNights": 1, "cleaningFeePerStay": 10})
    assert out["stays"] == 15.21 and out["gross_revenue"] == 152.08


def test_rounding_is_exact_on_the_typed_decimals():
    # 1.005 as a binary float is 1.00499999…; round(1.005, 2) == 1.0. The typed value counts.
    out = figures({"utilities": 1.005})
    assert out["fixed_costs"] == 1.01
    assert out["net_cash_flow"] == -1.01  # -1.005: half away from zero
    assert out["annual_net"] == -12.06  # 12 * -1.005 exactly, not 12 * -1.01
    assert figures({"utilities": 0.1, "internet": 0.2})["fixed_costs"] == 0.3
    # text is read as the same exact decimal
    result = roi.compute({"monthlyRent": "1000", "utilities": "1.005"})
    assert result.fixed_costs == Decimal("1001.01")


def test_sensitivity_clamps_occupancy_to_0_and_100():
    high = figures({"adr": 100, "occupancyPct": 95})["sensitivity"]
    assert high["occupancy_pcts"] == [85.0, 95.0, 100.0]
    low = figures({"adr": 100, "occupancyPct": 5})["sensitivity"]
    assert low["occupancy_pcts"] == [0.0, 5.0, 15.0]
    assert low["net_cash_flow"][0] == [0.0, 0.0, 0.0]  # no nights booked, no costs either


def test_the_chart_series_matches_the_formulas():
    result = roi.compute({"monthlyRent": 3000, "adr": 100, "occupancyPct": 50})
    series = result.net_by_occupancy(step=10)
    assert [pct for pct, _ in series] == list(range(0, 101, 10))
    assert series[0] == (0, Decimal("-3000.00"))
    assert series[5][1] == result.net_cash_flow
    # net is linear in occupancy: equal steps add equal amounts (to the cent)
    steps = {series[i + 1][1] - series[i][1] for i in range(len(series) - 1)}
    assert max(steps) - min(steps) <= Decimal("0.01")


def test_text_as_people_type_it():
    typed = roi.compute({"monthlyRent": "$1,500.50", "occupancyPct": " 65% ", "adr": ".5"})
    assert typed.inputs.as_dict()["monthlyRent"] == 1500.5
    assert typed.inputs.as_dict()["occupancyPct"] == 65
    assert typed.inputs.as_dict()["adr"] == 0.5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("monthlyRent", -1),
        ("adr", -0.01),
        ("occupancyPct", 100.5),
        ("occupancyPct", "101"),
        ("platformFeePct", 101),
        ("managementPct", -5),
        ("avgStayNights", 0.5),
        ("avgStayNights", 0),
        ("avgStayNights", 366),
        ("upfrontRentMonths", 37),
        ("deposit", math.inf),
        ("deposit", -math.inf),
        ("utilities", math.nan),
        ("furnishingCost", 1e12),
        ("setupCost", 10**400),  # compared as an int, never converted
        ("adr", roi.MAX_MONEY + 0.01),
        ("adr", True),
        ("adr", "abc"),
        ("adr", "1/3"),  # fraction syntax
        ("adr", "1e5"),  # no exponents in typed text
        ("adr", "1,5"),  # a comma only as a thousands separator
        ("adr", "1" * 40),
        ("adr", [1]),
        ("adr", {"x": 1}),
        ("adr", "--1"),
    ],
)
def test_bad_values_are_refused_naming_the_field(field, value):
    with pytest.raises(Invalid) as caught:
        roi.compute({field: value})
    assert caught.value.field == field
    assert field in caught.value.message
    assert roi.problems({field: value}) == {field: caught.value.message}


def test_limits_are_inclusive():
    out = roi.compute(
        {
            "occupancyPct": 100,
            "avgStayNights": 1,
            "adr": roi.MAX_MONEY,
            "platformFeePct": 100,
            "upfrontRentMonths": 36,
        }
    )
    assert out.booked_nights == Decimal("30.42")


def test_unknown_keys_are_refused():
    with pytest.raises(Invalid) as caught:
        roi.compute({"montlyRent": 1000})
    assert caught.value.field == "montlyRent"


def test_problems_lists_every_bad_field():
    found = roi.problems({"adr": "x", "occupancyPct": 200, "monthlyRent": 1000})
    assert sorted(found) == ["adr", "occupancyPct"]
    assert roi.problems({"adr": 100}) == {}
