"""The Property Browser's states without a browser: real Reflex state objects on a real
database (both backends), driven through their event handlers as the page would."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import reflex as rx
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from arbibase_chat import db as dbmod
from arbibase_chat.components.property_card import PropertyCard, rent_label, rooms_label
from arbibase_chat.config import get_settings
from arbibase_chat.models import MessagingThread
from arbibase_chat.pages import properties as page
from arbibase_chat.pages.properties import PropertiesState, dollars_to_cents, listing_from_form
from arbibase_chat.pages.property import PropertyState
from arbibase_chat.services import properties, tokens
from arbibase_chat.services.errors import Invalid
from arbibase_chat.session import SessionState
from tests import factories


@pytest.fixture
def app_db(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = next(u for u, engine in dbmod._engines.items() if engine is db)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield db
    monkeypatch.undo()
    get_settings.cache_clear()


def _states(user_id: uuid.UUID) -> tuple[PropertiesState, PropertyState]:
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]

    def sub(cls: type[rx.State]) -> Any:
        return root.get_substate(cls.get_full_name().split(".")[1:])

    sub(SessionState).access_token = tokens.issue_access_token(user_id=user_id)
    return sub(PropertiesState), sub(PropertyState)


async def _call(state: rx.State, handler: str, *args: Any) -> Any:
    return await type(state).event_handlers[handler].fn(state, *args)


def _listing(db: Engine, owner: Any, title: str, city: str, rent: int, beds: int = 2) -> Any:
    return properties.create_property(
        user_id=owner.id,
        data={
            "title": title,
            "address": "1 Main St",
            "city": city,
            "state": "FL",
            "monthly_rent_cents": rent,
            "bedrooms": beds,
            "bathrooms": 1.5,
            "square_feet": 1200,
        },
        db=db,
    )


# --- what a person types ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("", None), ("2400", 240_000), ("$2,400", 240_000), (" 2400.5 ", 240_050), ("0", 0)],
)
def test_dollars_become_cents(typed, cents):
    assert dollars_to_cents(typed, label="Rent") == cents


@pytest.mark.parametrize("typed", ["abc", "-5", "12.345", "1e3000", "NaN", "99999999999"])
def test_bad_dollars_say_what_to_type(typed):
    with pytest.raises(Invalid) as err:
        dollars_to_cents(typed, label="Min rent")
    assert err.value.message.startswith("Min rent:")


def test_the_form_names_each_bad_field_and_keeps_the_rest():
    data, errors = listing_from_form(
        {
            "title": " Loft ",
            "address": "",
            "city": "Tampa",
            "rent": "lots",
            "bedrooms": "2.5",
            "bathrooms": "1.5",
            "square_feet": "1,100",
        }
    )
    assert set(errors) == {"address", "rent", "bedrooms"}
    assert data["title"] == "Loft" and data["bathrooms"] == 1.5 and data["square_feet"] == 1100


def test_cards_read_like_a_listing():
    assert rent_label(240_000) == "$2,400/mo" and rent_label(None) == "Rent on request"
    assert rooms_label(3, 2.5) == "3 bd · 2.5 ba" and rooms_label(0, None) == "Studio"


# --- the browser page ---------------------------------------------------------------------------


async def test_an_operator_filters_and_pages(app_db, monkeypatch):
    owner = factories.user(app_db, "owner")
    for i in range(5):
        _listing(app_db, owner, f"Tampa {i}", "Tampa", 200_000 + i * 10_000)
    _listing(app_db, owner, "Austin 1", "Austin", 150_000, beds=4)
    operator = factories.user(app_db, "operator")
    browse, _ = _states(operator.id)
    monkeypatch.setattr(page, "PAGE_SIZE", 4)
    await _call(browse, "load")
    assert browse.cities == ["Austin", "Tampa"] and len(browse.cards) == 4 and browse.has_more
    await _call(browse, "load_more")
    assert [c.title for c in browse.cards][::5] == ["Austin 1", "Tampa 0"]  # newest first
    assert len(browse.cards) == 6 and not browse.has_more
    await _call(browse, "set_city", "Tampa")
    await _call(browse, "apply_rent", {"min_rent": "$2,100", "max_rent": "2,300"})
    assert [c.title for c in browse.cards] == ["Tampa 3", "Tampa 2", "Tampa 1"]
    assert isinstance(browse.cards[0], PropertyCard) and browse.cards[0].rent == "$2,300/mo"
    await _call(browse, "set_city", "Nowhere")  # not a listed city: ignored
    assert browse.city == "Tampa"
    await _call(browse, "set_bedrooms", "4")
    assert browse.cards == [] and browse.filtered
    await _call(browse, "apply_rent", {"min_rent": "a lot"})
    assert "Min rent" in browse.filter_error
    await _call(browse, "clear_filters")
    await _call(browse, "load")
    assert browse.filter_error == "" and len(browse.cards) == 4


async def test_an_owner_lists_a_property_after_fixing_a_value(app_db):
    owner = factories.user(app_db, "owner", verified=False)
    browse, _ = _states(owner.id)
    await _call(browse, "load")
    await _call(browse, "set_form_open", True)
    form = {"title": "Canal House", "address": "3 Canal St", "city": "Tampa", "rent": "2,4OO"}
    await _call(browse, "list_property", form)
    assert set(browse.form_errors) == {"rent"} and browse.form_open
    await _call(browse, "list_property", {**form, "rent": "2,400"})
    assert browse.form_errors == {} and not browse.form_open and browse.scope == "mine"
    await _call(browse, "load")
    assert [(c.title, c.rent) for c in browse.cards] == [("Canal House", "$2,400/mo")]


async def test_an_operator_cannot_list(app_db):
    operator = factories.user(app_db, "operator")
    browse, _ = _states(operator.id)
    form = {"title": "X", "address": "Y", "city": "Z"}
    await _call(browse, "list_property", form)
    assert "owner accounts" in browse.form_errors["form"]
    assert properties.list_properties(user_id=operator.id, db=app_db) == []


# --- one property -------------------------------------------------------------------------------


def _threads(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count(col(MessagingThread.id)))).scalar_one())


async def test_message_owner_opens_the_same_thread_every_time(app_db, monkeypatch):
    owner = factories.user(app_db, "owner")
    prop = _listing(app_db, owner, "Bay House", "Tampa", 300_000)
    operator = factories.user(app_db, "operator")
    _, detail = _states(operator.id)
    monkeypatch.setattr(PropertyState, "_route_property_id", lambda self: str(prop.id))
    await _call(detail, "load")
    assert detail.found and detail.owner_name == owner.display_name and not detail.is_mine
    assert detail.rent == "$3,000/mo" and detail.area == "1,200 sq ft"
    first = await _call(detail, "message_owner")
    second = await _call(detail, "message_owner")
    path = re.search(r"/threads/[0-9a-f-]{36}", str(first))
    assert path is not None and path.group() in str(second)
    assert _threads(app_db) == 1

    _, mine = _states(owner.id)
    await _call(mine, "load")
    assert mine.is_mine and mine.negotiations == 1
    assert "/threads/" not in str(await _call(mine, "message_owner"))  # a toast, no thread
    assert _threads(app_db) == 1


@pytest.mark.parametrize(
    "bad", ["", "garbage", "7d4c1b7e-3f0a-4a52-9c1e-5b8e2f6d0a93", "../../etc"]
)
async def test_unknown_ids_show_not_found(app_db, monkeypatch, bad):
    operator = factories.user(app_db, "operator")
    _, detail = _states(operator.id)
    monkeypatch.setattr(PropertyState, "_route_property_id", lambda self: bad)
    await _call(detail, "load")
    assert detail.loaded and not detail.found
    assert await _call(detail, "message_owner") is None
    assert _threads(app_db) == 0
