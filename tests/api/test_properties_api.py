"""GET /api/properties: the browser's filters in camelCase, rents in cents, 422 for bad values."""

from __future__ import annotations

import pytest

from tests.api.conftest import World


def _listing(client, world: World, title: str, city: str, rent: int, beds: int) -> str:
    body = {
        "title": title,
        "address": "1 Main St",
        "city": city,
        "monthly_rent_cents": rent,
        "bedrooms": beds,
    }
    res = client.post("/api/properties", json=body, headers=world.owner.auth)
    assert res.status_code == 201, res.text
    return str(res.json()["id"])


def _titles(client, world: World, **params) -> list[str]:
    res = client.get("/api/properties", params=params, headers=world.stranger.auth)
    assert res.status_code == 200, res.text
    return [p["title"] for p in res.json()["data"]]


def test_filters_in_camel_case(client, world: World):
    _listing(client, world, "Small", "Tampa", 150_000, 1)
    _listing(client, world, "Mid", "Tampa", 240_000, 2)
    _listing(client, world, "Big", "Austin", 400_000, 4)
    assert _titles(client, world, city="tampa") == ["Mid", "Small"]
    assert _titles(client, world, city="Tampa", minRent=200_000) == ["Mid"]
    assert _titles(client, world, maxRent=240_000, city=" TAMPA") == ["Mid", "Small"]
    assert _titles(client, world, minBedrooms=4) == ["Big"]
    every = _titles(client, world)
    assert every[:3] == ["Big", "Mid", "Small"]  # newest first
    mine = client.get("/api/properties", params={"mine": "true"}, headers=world.owner.auth)
    assert [p["title"] for p in mine.json()["data"]] == [
        "Big",
        "Mid",
        "Small",
        "3BR near the beach",
    ]
    by_owner = client.get(
        "/api/properties",
        params={"ownerId": str(world.owner.user.id), "limit": 2},
        headers=world.stranger.auth,
    ).json()["data"]
    rest = client.get(
        "/api/properties",
        params={"ownerId": str(world.owner.user.id), "after": by_owner[-1]["id"]},
        headers=world.stranger.auth,
    ).json()["data"]
    assert [p["title"] for p in by_owner + rest] == ["Big", "Mid", "Small", "3BR near the beach"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"minRent": "-1"}, "minRent"),
        ({"minRent": "12.5"}, "minRent"),
        ({"maxRent": "a lot"}, "maxRent"),
        ({"maxRent": str(2**31)}, "maxRent"),
        ({"maxRent": "9" * 40}, "maxRent"),
        ({"minRent": "300", "maxRent": "200"}, "maxRent"),
        ({"minBedrooms": "-3"}, "minBedrooms"),
        ({"minBedrooms": "two"}, "minBedrooms"),
        ({"mine": "maybe"}, "mine"),
        ({"city": "x" * 121}, "city"),
        ({"city": "\x00"}, "city"),
        ({"after": "not-an-id"}, "after"),
        ({"after": "00000000-0000-4000-8000-000000000000"}, "after"),
        ({"ownerId": "nope"}, "ownerId"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_values_are_422_naming_the_parameter(client, world: World, params, field):
    res = client.get("/api/properties", params=params, headers=world.stranger.auth)
    assert res.status_code == 422, res.text
    assert res.json()["field"] == field, res.json()


def test_openapi_documents_rents_in_cents(client):
    schema = client.get("/api/openapi.json").json()
    params = {p["name"]: p for p in schema["paths"]["/api/properties"]["get"]["parameters"]}
    assert {
        "city",
        "ownerId",
        "mine",
        "minRent",
        "maxRent",
        "minBedrooms",
        "after",
        "limit",
    } <= set(params)
    assert "cents" in params["minRent"]["description"]
    assert "cents" in params["maxRent"]["description"]
