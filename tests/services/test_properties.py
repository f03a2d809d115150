"""The Property Browser's service: filters, newest-first keyset pages, cities, details."""

from __future__ import annotations

import uuid

import pytest

from arbibase_chat.services import properties, threads
from arbibase_chat.services.errors import Invalid, NotFound
from tests import factories
from tests.factories import Pair


def _list(owner, title, city, rent, beds, db):
    return properties.create_property(
        user_id=owner.id,
        data={
            "title": title,
            "address": "1 Main St",
            "city": city,
            "monthly_rent_cents": rent,
            "bedrooms": beds,
        },
        db=db,
    )


@pytest.fixture
def market(db):
    owner = factories.user(db, "owner")
    other = factories.user(db, "owner")
    listed = [
        _list(owner, "A", "Tampa", 150_000, 1, db),
        _list(owner, "B", "tampa ", 240_000, 2, db),
        _list(other, "C", "Austin", 240_000, 3, db),
        _list(other, "D", "Atlanta", 400_000, 4, db),
        _list(other, "E", "Tampa", None, None, db),
    ]
    return owner, other, listed


def _titles(db, user, **filters):
    return [p.title for p in properties.list_properties(user_id=user.id, db=db, **filters)]


def test_newest_first_and_every_filter(db, market):
    owner, other, _ = market
    me = factories.user(db, "operator")
    assert _titles(db, me) == ["E", "D", "C", "B", "A"]
    assert _titles(db, me, city="  TAMPA ") == ["E", "B", "A"]  # trimmed, any case
    assert _titles(db, me, min_rent_cents=240_000) == ["D", "C", "B"]  # no rent: no match
    assert _titles(db, me, max_rent_cents=240_000) == ["C", "B", "A"]  # inclusive
    assert _titles(db, me, min_rent_cents=200_000, max_rent_cents=300_000) == ["C", "B"]
    assert _titles(db, me, min_bedrooms=3) == ["D", "C"]
    assert _titles(db, me, city="tampa", min_bedrooms=2) == ["B"]
    assert _titles(db, owner, mine=True) == ["B", "A"]
    assert _titles(db, other, mine=True, city="Austin") == ["C"]
    assert _titles(db, me, mine=True) == []
    assert _titles(db, me, owner_id=str(other.id)) == ["E", "D", "C"]
    assert _titles(db, me, city="", min_rent_cents=None) == ["E", "D", "C", "B", "A"]


def test_keyset_pages_neither_repeat_nor_skip(db, market):
    me = factories.user(db, "operator")
    seen, after = [], None
    while True:
        page = properties.list_properties(user_id=me.id, after=after, limit=2, db=db)
        if not page:
            break
        seen += [p.title for p in page]
        after = page[-1].id
    assert seen == ["E", "D", "C", "B", "A"]
    # A listing added meanwhile goes on top: the next page still continues where it was.
    first = properties.list_properties(user_id=me.id, limit=2, db=db)
    _list(market[0], "F", "Tampa", 100_000, 1, db)
    rest = properties.list_properties(user_id=me.id, after=first[-1].id, db=db)
    assert [p.title for p in rest] == ["C", "B", "A"]
    filtered = properties.list_properties(user_id=me.id, city="tampa", limit=1, db=db)
    nxt = properties.list_properties(user_id=me.id, city="tampa", after=filtered[0].id, db=db)
    assert [p.title for p in filtered + nxt] == ["F", "E", "B", "A"]


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"min_rent_cents": -1}, "min_rent_cents"),
        ({"min_rent_cents": "100"}, "min_rent_cents"),
        ({"min_rent_cents": True}, "min_rent_cents"),
        ({"max_rent_cents": 2**31}, "max_rent_cents"),
        ({"min_rent_cents": 5, "max_rent_cents": 4}, "max_rent_cents"),
        ({"min_bedrooms": 1.5}, "min_bedrooms"),
        ({"min_bedrooms": -2}, "min_bedrooms"),
        ({"city": "x" * 121}, "city"),
        ({"city": 7}, "city"),
        ({"city": "\ud800"}, "city"),
        ({"owner_id": "nope"}, "owner_id"),
        ({"after": "nope"}, "after"),
        ({"after": uuid.uuid4()}, "after"),
        ({"mine": "yes"}, "mine"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_filters_name_their_field(db, filters, field):
    me = factories.user(db, "operator")
    with pytest.raises(Invalid) as err:
        properties.list_properties(user_id=me.id, db=db, **filters)
    assert err.value.field == field


def test_cities_are_distinct_whatever_the_case(db, market):
    me = factories.user(db, "operator")
    cities = properties.list_cities(user_id=me.id, db=db)
    assert [c.lower().strip() for c in cities] == ["atlanta", "austin", "tampa"]
    assert properties.list_cities(user_id=me.id, db=db) == cities


def test_details_name_the_owner_and_count_negotiations_for_the_owner_only(db):
    pair = Pair(db)
    second = factories.user(db, "operator")
    threads.get_or_create_thread(
        user_id=second.id, property_id=pair.property.id, owner_id=pair.owner.id, db=db
    )
    mine = properties.get_property_details(
        user_id=pair.owner.id, property_id=pair.property.id, db=db
    )
    assert mine.owner_display_name == pair.owner.display_name
    assert mine.negotiations == 2
    theirs = properties.get_property_details(
        user_id=pair.operator.id, property_id=str(pair.property.id), db=db
    )
    assert theirs.title == pair.property.title and theirs.negotiations is None
    with pytest.raises(NotFound):
        properties.get_property_details(user_id=pair.operator.id, property_id=uuid.uuid4(), db=db)
    with pytest.raises(Invalid) as err:
        properties.get_property_details(user_id=pair.operator.id, property_id="../x", db=db)
    assert err.value.field == "property_id"


def test_a_refused_listing_names_its_field(db):
    owner = factories.user(db, "owner")
    base = {"title": "t", "address": "a", "city": "c"}
    for change, field in (({"bedrooms": -1}, "bedrooms"), ({"square_feet": "big"}, "square_feet")):
        with pytest.raises(Invalid) as err:
            properties.create_property(user_id=owner.id, data={**base, **change}, db=db)
        assert err.value.field == field
