"""RoiState on real Reflex state objects and a real database, without a browser: the prefill
from `?property=`, recomputing as fields change, inline errors that keep the last figures, and
the validated inputs a Send Offer panel reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import reflex as rx
from reflex.istate.data import ReflexURL, RouterData
from reflex.state import BaseState
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat.config import get_settings
from arbibase_chat.pages.roi import NOT_FOUND_NOTE, RoiState
from arbibase_chat.services import roi, tokens
from arbibase_chat.session import SessionState
from tests import factories


@pytest.fixture
def app_db(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The states use the configured database: point it at the test's."""
    url = next(u for u, engine in dbmod._engines.items() if engine is db)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield db
    monkeypatch.undo()
    get_settings.cache_clear()


def _tab(query: str = "") -> tuple[rx.State, SessionState, RoiState]:
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]
    root.router = RouterData(url=ReflexURL(f"http://localhost:3000/roi{query}"))

    def sub(cls: type[rx.State]) -> BaseState:
        return root.get_substate(cls.get_full_name().split(".")[1:])

    session, state = sub(SessionState), sub(RoiState)
    assert isinstance(session, SessionState) and isinstance(state, RoiState)
    return root, session, state


async def _run(state: RoiState, handler: str, *args: object) -> object:
    return await type(state).event_handlers[handler].fn(state, *args)


async def _signed_in_tab(db: Engine, query: str = "") -> RoiState:
    user = factories.user(db, "operator")
    _root, session, state = _tab(query)
    session.access_token = tokens.issue_access_token(user_id=user.id)
    assert await _run(state, "load") is None
    return state


def _figure(state: RoiState, figure_id: str) -> str:
    return next(f.value for f in state.figures if f.id == figure_id)


async def test_signed_out_goes_to_login(app_db):
    _root, _session, state = _tab()
    redirect = await _run(state, "load")
    assert redirect is not None and "/login" in str(redirect)
    assert not state.loaded and state._inputs() is None
    # Nothing is computed for an anonymous socket either.
    await _run(state, "update_input", "adr", "150")
    assert state.values["adr"] == ""


async def test_prefilled_from_a_property(app_db):
    owner = factories.user(app_db, "owner")
    listing = factories.listing(app_db, owner, title="Bayview Loft")
    assert listing.monthly_rent_cents == 350_000
    state = await _signed_in_tab(app_db, f"?property={listing.id}")
    assert state.property_id == str(listing.id)
    assert state.property_title == "Bayview Loft"
    assert state.note == ""
    assert state.values["monthlyRent"] == "3500"
    assert state._inputs() == roi.compute({"monthlyRent": 3500}).inputs.as_dict()
    assert _figure(state, "roi-net") == "-$3,500.00"


@pytest.mark.parametrize(
    "garbage", ["7d4c1b7e-3f0a-4a52-9c1e-5b8e2f6d0a93", "not-an-id", "%00", "x" * 500]
)
async def test_an_unknown_property_is_an_empty_calculator_with_a_note(app_db, garbage):
    state = await _signed_in_tab(app_db, f"?property={garbage}")
    assert state.loaded and state.property_id == "" and state.property_title == ""
    assert state.note == NOT_FOUND_NOTE
    assert set(state.values.values()) == {""}
    assert _figure(state, "roi-net") == "$0.00"


async def test_figures_follow_the_typed_inputs(app_db):
    state = await _signed_in_tab(app_db)
    assert state.note == "" and state.inputs_ok
    typed = {
        "monthlyRent": "2,000",
        "adr": "$150",
        "occupancyPct": "70",
        "cleaningFeePerStay": "100",
        "cleaningCostPerStay": "80",
        "utilities": "200",
        "internet": "60",
        "deposit": "2000",
        "furnishingCost": "10000",
    }
    for key, text in typed.items():
        await _run(state, "update_input", key, text)
    assert state.values["monthlyRent"] == "2,000"  # the text stays as typed
    # The hand-computed unit of tests/services/test_roi.py.
    assert _figure(state, "roi-net") == "$958.59"
    assert _figure(state, "roi-annual") == "$11,503.08"
    assert _figure(state, "roi-coc") == "82.16%"
    assert _figure(state, "roi-payback") == "14.6 months"
    assert _figure(state, "roi-break-even") == "49.15%"
    assert state.grid[1].cells[1].value == "$959" and state.grid[1].cells[1].current
    assert state.grid[0].cells[0].value == "$233" and state.grid[0].cells[0].tone == "green"
    assert (state.grid_header[0].value, state.grid_header[0].delta) == ("$135", "-10%")
    assert (state.grid[2].head.value, state.grid[2].head.delta) == ("80%", "+10 pts")
    assert state.curve[0] == {"occupancy": 0, "net": -2260.0}
    assert len(state.curve) == 21 and state.curve[-1]["occupancy"] == 100
    assert state.break_even_x == pytest.approx(49.15)
    inputs = state._inputs()
    assert inputs is not None and inputs["monthlyRent"] == 2000 and inputs["adr"] == 150
    assert roi.compute(inputs).net_cash_flow == roi.compute(typed).net_cash_flow


async def test_a_bad_field_shows_its_error_and_keeps_the_last_figures(app_db):
    state = await _signed_in_tab(app_db)
    await _run(state, "update_input", "adr", "100")
    await _run(state, "update_input", "occupancyPct", "50")
    good = _figure(state, "roi-net")
    assert good == "$1,475.21"
    await _run(state, "update_input", "occupancyPct", "150")
    assert state.errors == {"occupancyPct": "Must be a number from 0 to 100"}
    assert state.stale and not state.inputs_ok and state._inputs() is None
    assert _figure(state, "roi-net") == good  # the last valid result stays
    await _run(state, "update_input", "occupancyPct", "60")
    assert state.errors == {} and not state.stale
    assert _figure(state, "roi-net") != good


async def test_unreachable_break_even_and_losses(app_db):
    state = await _signed_in_tab(app_db)
    for key, text in {"monthlyRent": "3000", "adr": "100", "occupancyPct": "50"}.items():
        await _run(state, "update_input", key, text)
    assert _figure(state, "roi-net") == "-$1,524.79"
    assert _figure(state, "roi-break-even") == "Unreachable"  # 101.68 %
    assert _figure(state, "roi-payback") == "—"
    assert state.break_even_x == -1.0
    assert all(cell.tone == "red" for row in state.grid for cell in row.cells)


async def test_hostile_arguments_change_nothing(app_db):
    state = await _signed_in_tab(app_db)
    before = dict(state.values)
    for key, value in (
        ("_valid", "1"),
        ("values", "1"),
        (["adr"], "1"),
        ("adr", 150),
        ("adr", {"x": 1}),
    ):
        await _run(state, "update_input", key, value)
    assert state.values == before and state.errors == {}
    await _run(state, "update_input", "adr", "9" * 5000)
    assert len(state.values["adr"]) == 64 and "adr" in state.errors


async def test_start_over_and_reconnect(app_db):
    owner = factories.user(app_db, "owner")
    listing = factories.listing(app_db, owner, title="Harbor House")
    state = await _signed_in_tab(app_db, f"?property={listing.id}")
    prefill = dict(state.values)
    await _run(state, "update_input", "adr", "180")
    # A reconnect runs on_load again: what was typed stays.
    assert await _run(state, "load") is None
    assert state.values["adr"] == "180"
    await _run(state, "start_over")
    assert state.values == prefill
