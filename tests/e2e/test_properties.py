"""The Property Browser in Chromium: an operator filters, opens a property and lands in the
thread with its owner (the same one every time); an owner lists a property after a refused
value; a brand-new operator finds their way to a first thread. At 375 px nothing overflows
and the navbar keeps its height. Screenshots (desktop and phone, light and dark) of every
screen go to test-artifacts/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from arbibase_chat import db as dbmod
from arbibase_chat.models import PropertyPublic, UserPublic
from arbibase_chat.services import properties
from tests import factories
from tests.e2e.helpers import INBOX_URL, THREAD_URL, log_in

pytestmark = [pytest.mark.browser]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
PROPERTY_URL = re.compile(r"/properties/[0-9a-f-]{36}/?$")


@dataclass
class Market:
    city: str
    owner: UserPublic
    listings: dict[str, PropertyPublic]  # by rent label


@pytest.fixture(scope="module")
def market(live_server: str, e2e_database_url: str) -> Iterator[Market]:
    """An owner with three listings in a city of their own, in the live server's database."""
    engine = dbmod.get_engine(e2e_database_url)
    owner = factories.user(engine, "owner", name="Rita Lister")
    city = f"Testville {uuid.uuid4().hex[:6]}"
    listings = {}
    for rent, beds in ((180_000, 1), (260_000, 2), (340_000, 3)):
        label = f"${rent // 100:,}/mo"
        listings[label] = properties.create_property(
            user_id=owner.id,
            data={
                "title": f"{city} {beds}BR",
                "address": f"{beds} Test Lane",
                "city": city,
                "state": "FL",
                "monthly_rent_cents": rent,
                "bedrooms": beds,
                "bathrooms": 1.5,
                "square_feet": 900 + beds * 100,
            },
            db=engine,
        )
    yield Market(city=city, owner=owner, listings=listings)


def _fresh(role: str, e2e_database_url: str, *, verified: bool = True) -> UserPublic:
    return factories.user(dbmod.get_engine(e2e_database_url), role, verified=verified)


def _page(browser: Browser, base: str, user: UserPublic | None, **context: object) -> Page:
    ctx = browser.new_context(
        viewport=context.pop("viewport", SIZES["desktop"]),  # type: ignore[arg-type]
        **context,  # type: ignore[arg-type]
    )
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    if user is not None:
        log_in(page, base, user.email, factories.PASSWORD)
    return page


def _pick(page: Page, trigger: str, option: str) -> None:
    page.locator(trigger).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_an_operator_filters_opens_and_messages_the_owner(
    live_server: str, browser: Browser, market: Market, e2e_database_url: str
) -> None:
    page = _page(browser, live_server, _fresh("operator", e2e_database_url))
    try:
        page.locator("#nav-properties").click()
        expect(page).to_have_url(re.compile(r"/properties/?$"))
        expect(page.locator("#nav-properties")).to_have_attribute("aria-current", "page")
        expect(page.locator(".property-card").first).to_be_visible()
        _pick(page, "#city-filter", market.city)
        expect(page.locator(".property-card")).to_have_count(3)
        page.locator("#min-rent").fill("2,000")
        page.locator("#max-rent").fill("$3000")
        page.locator("#apply-rent").click()
        cards = page.locator(".property-card")
        expect(cards).to_have_count(1)
        expect(cards.first).to_contain_text("$2,600/mo")
        expect(cards.first).to_contain_text("2 bd · 1.5 ba")
        cards.first.click()
        expect(page).to_have_url(PROPERTY_URL)
        prop = market.listings["$2,600/mo"]
        expect(page.locator("#property-title")).to_have_text(prop.title)
        expect(page.locator("#property-owner")).to_have_text("Rita Lister")
        expect(page.locator("#calculate-roi")).to_have_attribute(
            "href", re.compile(rf"/roi\?property={prop.id}$")
        )
        page.locator("#message-owner").click()
        expect(page).to_have_url(THREAD_URL)
        expect(page.locator("#composer")).to_be_visible()
        first_thread = page.url
        page.goto(f"{live_server}/properties/{prop.id}")
        page.locator("#message-owner").click()
        expect(page).to_have_url(THREAD_URL)
        assert page.url == first_thread
        # An unknown id is a friendly page with a way back, not a crash.
        page.goto(f"{live_server}/properties/{uuid.uuid4()}")
        expect(page.locator("#property-not-found")).to_be_visible()
        page.goto(f"{live_server}/properties/not-an-id")
        expect(page.locator("#property-not-found")).to_contain_text("Property not found")
        page.get_by_role("button", name="Back to properties").click()
        expect(page).to_have_url(re.compile(r"/properties/?$"))
    finally:
        page.context.close()


def test_an_owner_fixes_a_refused_value_and_sees_the_listing(
    live_server: str, browser: Browser, e2e_database_url: str, artifacts_dir: Path
) -> None:
    owner = _fresh("owner", e2e_database_url, verified=False)
    page = _page(browser, live_server, owner)
    title = f"Canal House {uuid.uuid4().hex[:6]}"
    try:
        # A new owner's inbox says what to do: list a property, verify ownership.
        expect(page.locator("#empty-list-property")).to_be_visible()
        expect(page.locator("#empty-verify")).to_have_attribute("href", "/verify")
        expect(page.locator("#nav-roi")).to_have_count(0)  # operators only
        page.locator("#empty-list-property").click()
        page.locator("#list-property").click()
        page.get_by_label("Title", exact=True).fill(title)
        page.get_by_label("Street address").fill("3 Canal St")
        page.get_by_label("City", exact=True).fill("Tampa")
        page.get_by_label("Monthly rent ($)").fill("2,4OO")  # a letter O
        page.get_by_label("Bedrooms", exact=True).fill("3")
        page.locator("#list-submit").click()
        expect(page.locator("#list-rent-error")).to_contain_text("dollars")
        expect(page.get_by_label("Title", exact=True)).to_have_value(title)  # nothing typed is lost
        expect(page.get_by_label("Bedrooms", exact=True)).to_have_value("3")
        page.wait_for_timeout(300)
        page.screenshot(path=str(artifacts_dir / "properties-list-form-error-desktop-light.png"))
        page.get_by_label("Monthly rent ($)").fill("2,400")
        page.locator("#list-submit").click()
        expect(page.locator("#list-form")).to_have_count(0)
        expect(page.get_by_role("radio", name="My properties")).to_be_checked()
        card = page.locator(".property-card", has_text=title)
        expect(card).to_contain_text("$2,400/mo")
        expect(page.locator(".property-card")).to_have_count(1)
        page.get_by_role("radio", name="All listings").click()
        expect(page.locator(".property-card").nth(1)).to_be_visible()
        page.get_by_role("radio", name="My properties").click()
        expect(page.locator(".property-card")).to_have_count(1)
        card.click()
        expect(page.locator("#property-negotiations")).to_contain_text("No operator")
        expect(page.locator("#message-owner")).to_have_count(0)
    finally:
        page.context.close()


def test_a_new_operator_reaches_a_first_thread_without_help(
    live_server: str, browser: Browser, market: Market
) -> None:
    page = _page(browser, live_server, None)
    try:
        page.goto(live_server + "/signup")
        page.get_by_label("Your name").fill("Nora Newcomer")
        page.get_by_label("Email").fill(f"nora-{uuid.uuid4().hex[:8]}@example.com")
        page.get_by_label("Password (at least 10 characters)").fill(factories.PASSWORD)
        page.get_by_role("button", name="Create account").click()
        expect(page).to_have_url(INBOX_URL)
        expect(page.locator("#inbox-empty")).to_contain_text("No conversations yet")
        expect(page.locator("#empty-browse-properties")).to_be_visible()
        page.locator("#nav-properties").click()
        expect(page).to_have_url(re.compile(r"/properties/?$"))
        page.locator(".property-card").first.click()
        expect(page).to_have_url(PROPERTY_URL)
        page.get_by_role("button", name="Message owner").click()
        expect(page).to_have_url(THREAD_URL)
        expect(page.locator("#composer")).to_be_visible()
        page.locator("#nav-inbox").click()
        expect(page.locator(".thread-row")).to_have_count(1)
    finally:
        page.context.close()


def _no_horizontal_overflow(page: Page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"{what}: page is {width}px wide"  # type: ignore[index]


def _navbar_height(page: Page) -> float:
    box = page.locator("#navbar").bounding_box()
    assert box is not None
    return box["height"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", sorted(SIZES))
def test_screens_fit_and_keep_the_navbar_height(
    live_server: str,
    browser: Browser,
    market: Market,
    e2e_database_url: str,
    artifacts_dir: Path,
    size: str,
    scheme: str,
) -> None:
    def shot(page: Page, name: str) -> None:
        _no_horizontal_overflow(page, name)
        assert _navbar_height(page) == 57, f"{name}: the navbar grew"
        page.screenshot(path=str(artifacts_dir / f"{name}-{size}-{scheme}.png"))

    options = {"viewport": SIZES[size], "color_scheme": scheme}
    operator = _page(browser, live_server, _fresh("operator", e2e_database_url), **options)
    try:
        expect(operator.locator("#empty-browse-properties")).to_be_visible()
        shot(operator, "inbox-empty-operator")
        operator.goto(live_server + "/properties")
        expect(operator.locator(".property-card").first).to_be_visible()
        shot(operator, "properties")
        operator.goto(f"{live_server}/properties/{market.listings['$3,400/mo'].id}")
        expect(operator.locator("#message-owner")).to_be_visible()
        shot(operator, "property")
    finally:
        operator.context.close()
    owner = _page(
        browser, live_server, _fresh("owner", e2e_database_url, verified=False), **options
    )
    try:
        expect(owner.locator("#empty-verify")).to_be_visible()
        shot(owner, "inbox-empty-owner")
        owner.goto(live_server + "/properties")
        owner.locator("#list-property").click()
        expect(owner.locator("#list-form")).to_be_visible()
        owner.wait_for_timeout(500)  # the dialog's opening animation
        _no_horizontal_overflow(owner, "list form")
        owner.screenshot(path=str(artifacts_dir / f"properties-list-form-{size}-{scheme}.png"))
    finally:
        owner.context.close()
