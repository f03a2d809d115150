"""`POST /api/roi`: the ROI Calculator's contract (figures in tests/services/test_roi.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from arbibase_chat.services import roi
from tests.api.conftest import World

FIGURES = {
    "booked_nights",
    "stays",
    "gross_revenue",
    "platform_fees",
    "management_fees",
    "cleaning_costs",
    "fixed_costs",
    "total_costs",
    "net_cash_flow",
    "annual_net",
    "startup_cost",
    "cash_on_cash_pct",
    "payback_months",
    "break_even_occupancy_pct",
}
UNIT = {
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


def post(client, body: Any, headers: dict[str, str]):
    # json.dumps (not httpx's json=): NaN and Infinity reach the server as JSON spells them.
    return client.post(
        "/api/roi",
        content=json.dumps(body),
        headers={**headers, "Content-Type": "application/json"},
    )


def test_the_response_shape_and_figures(client, world: World):
    res = post(client, UNIT, world.operator.auth)
    assert res.status_code == 200, res.text
    body = res.json()
    assert set(body) == FIGURES | {"sensitivity"}
    # The hand-computed unit of tests/services/test_roi.py.
    assert body["net_cash_flow"] == 958.59 and body["annual_net"] == 11503.08
    assert body["cash_on_cash_pct"] == 82.16 and body["payback_months"] == 14.6
    assert body["break_even_occupancy_pct"] == 49.15
    assert body["sensitivity"] == {
        "occupancy_deltas": [-10, 0, 10],
        "adr_deltas_pct": [-10, 0, 10],
        "occupancy_pcts": [60.0, 70.0, 80.0],
        "adrs": [135.0, 150.0, 165.0],
        "net_cash_flow": [
            [233.25, 498.79, 764.33],
            [648.8, 958.59, 1268.38],
            [1064.34, 1418.39, 1772.44],
        ],
    }
    # The same JSON as the helper the offers freeze.
    assert body == roi.compute(UNIT).as_dict()


def test_owners_may_compute_too_and_an_empty_body_is_all_defaults(client, world: World):
    res = post(client, {}, world.owner.auth)
    assert res.status_code == 200
    body = res.json()
    assert body["net_cash_flow"] == 0.0
    assert body["cash_on_cash_pct"] is None
    assert body["payback_months"] is None
    assert body["break_even_occupancy_pct"] is None
    # null means "use the default", like a missing key
    assert post(client, dict.fromkeys(roi.INPUT_KEYS), world.owner.auth).json() == body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occupancyPct", 101),
        ("monthlyRent", -1),
        ("avgStayNights", 0.5),
        ("managementPct", 100.01),
        ("furnishingCost", 1e12),
        ("deposit", float("nan")),
        ("deposit", float("inf")),
        ("adr", "150"),  # JSON numbers only
        ("adr", True),
        ("adr", [150]),
        ("montlyRent", 2000),  # a typo is not silently 0
    ],
)
def test_bad_input_is_a_422_naming_the_field(client, world: World, field, value):
    res = post(client, {**UNIT, field: value}, world.operator.auth)
    assert res.status_code == 422, res.text
    body = res.json()
    assert body["field"] == field
    assert body["code"] == "invalid"
    assert set(body) <= {"error", "code", "field", "details"}
    assert field in body["error"]


@pytest.mark.parametrize("raw", ["[]", "null", "1", '"x"', "{", '{"adr": 1e999}'])
def test_junk_bodies_are_422_never_500(client, world: World, raw):
    res = client.post(
        "/api/roi", content=raw, headers={**world.operator.auth, "Content-Type": "application/json"}
    )
    assert res.status_code == 422, res.text


def test_huge_integers_are_refused_not_crashed_on(client, world: World):
    res = client.post(
        "/api/roi",
        content='{"adr": 1' + "0" * 400 + "}",
        headers={**world.operator.auth, "Content-Type": "application/json"},
    )
    assert res.status_code == 422 and res.json()["field"] == "adr"


def test_signed_out_is_401(client, world: World):
    res = post(client, UNIT, {})
    assert res.status_code == 401
    assert res.json() == {"error": "Unauthorized"}
    res = post(client, UNIT, {"Authorization": "Bearer garbage"})
    assert res.status_code == 401


def test_the_schema_documents_every_input_with_its_bounds(client):
    schema = client.get("/api/openapi.json").json()
    request = schema["paths"]["/api/roi"]["post"]["requestBody"]["content"]["application/json"]
    name = request["schema"]["$ref"].rsplit("/", 1)[1]
    props = schema["components"]["schemas"][name]["properties"]
    assert list(props) == list(roi.INPUT_KEYS)
    for key, (low, high) in roi.LIMITS.items():
        assert (props[key]["minimum"], props[key]["maximum"]) == (low, high)
    assert props["avgStayNights"]["default"] == 3
