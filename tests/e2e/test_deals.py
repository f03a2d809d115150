"""A deal from first click to Agreed, in two browsers, as users act: the operator finds the
property, runs the ROI Calculator and sends an offer; the owner sees the card live and
counters; the operator sees what changed and accepts; both Portfolios show Agreed without a
reload. Screenshots of the thread with its cards and of the Portfolio go to test-artifacts/."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, ViewportSize, expect

from arbibase_chat import db as dbmod
from arbibase_chat.models import UserPublic
from arbibase_chat.seed import DEMO_PASSWORD
from arbibase_chat.services import properties
from tests import factories, files
from tests.e2e.helpers import INBOX_URL, THREAD_URL, log_in

pytestmark = [pytest.mark.browser]

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 812}


def _page(browser: Browser, base: str, user: UserPublic, viewport=DESKTOP) -> Page:
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(20_000)
    page = context.new_page()
    log_in(page, base, user.email, factories.PASSWORD)
    return page


def _card(page: Page, version: int):
    return page.locator(".offer-card").nth(version - 1)


def _shots(page: Page, artifacts: Path, name: str) -> None:
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        page.wait_for_timeout(250)
        page.screenshot(path=str(artifacts / f"{name}-{theme}.png"))
    page.emulate_media(color_scheme="light")


def test_operator_offers_owner_counters_operator_accepts(
    live_server: str, browser: Browser, e2e_database_url: str, artifacts_dir: Path
) -> None:
    engine = dbmod.get_engine(e2e_database_url)
    operator = factories.user(engine, "operator", name="Dana Operator")
    owner = factories.user(engine, "owner", name="Owen Owner")
    title = f"Harbor Flat {uuid.uuid4().hex[:5]}"
    prop = properties.create_property(
        user_id=owner.id,
        data={
            "title": title,
            "address": "5 Harbor Way",
            "city": "Tampa",
            "state": "FL",
            "monthly_rent_cents": 240_000,
            "bedrooms": 2,
            "bathrooms": 1.0,
        },
        db=engine,
    )
    op = _page(browser, live_server, operator)
    own = _page(browser, live_server, owner)
    own_portfolio = own.context.new_page()
    op_portfolio = op.context.new_page()
    try:
        # The operator: the property page → Calculate ROI → the calculator, prefilled.
        op.goto(f"{live_server}/properties/{prop.id}")
        op.locator("#calculate-roi").click()
        expect(op).to_have_url(re.compile(rf"/roi\?property={prop.id}$"))
        expect(op.locator("#roi-monthlyRent")).to_have_value("2400")
        op.locator("#roi-adr").fill("185")
        op.locator("#roi-occupancyPct").fill("72")
        panel = op.locator("#send-offer-panel")
        expect(panel).to_contain_text(title)
        expect(op.locator("#offer-monthlyRent")).to_have_value("2400")
        op.locator("#offer-message").fill("Happy to discuss the start date.")
        op.locator("#send-offer").click()
        expect(op).to_have_url(THREAD_URL)
        thread_url = op.url
        expect(_card(op, 1)).to_have_attribute("data-offer-status", "sent")
        expect(_card(op, 1)).to_contain_text("$2,400/mo")
        expect(_card(op, 1).locator(".offer-withdraw")).to_be_visible()
        expect(op.locator("#chat-stage")).to_have_text("Offer sent")

        # The owner opens the thread from the inbox: the card, with what they may do.
        own.goto(f"{live_server}/inbox")
        own.locator(".thread-row", has_text=title).click()
        expect(own).to_have_url(THREAD_URL)
        card = _card(own, 1)
        expect(card).to_contain_text("Happy to discuss the start date.")
        expect(card.locator(".offer-accept")).to_be_visible()
        expect(card.locator(".offer-numbers")).to_have_count(0)  # the operator's, not shared
        expect(own.locator("#deal-panel")).to_contain_text(title)
        # Both Portfolios open in other tabs: they must follow without a reload.
        own_portfolio.goto(f"{live_server}/portfolio")
        op_portfolio.goto(f"{live_server}/portfolio")
        for portfolio in (own_portfolio, op_portfolio):
            expect(
                portfolio.locator(f".portfolio-card[data-property-id='{prop.id}']")
            ).to_have_attribute("data-stage", "offer_sent")

        # The owner counters at $2,250.
        card.locator(".offer-counter").click()
        rent = own.locator("#counter-monthlyRent")
        expect(rent).to_have_value("2400")
        rent.fill("2250")
        own.locator("#counter-send").click()
        expect(_card(own, 2)).to_have_attribute("data-offer-status", "sent")
        expect(_card(own, 1)).to_have_attribute("data-offer-status", "countered")

        # The operator sees the counter arrive, with the change spelled out.
        v2 = _card(op, 2)
        expect(v2).to_contain_text("rent $2,400/mo → $2,250/mo")
        expect(_card(op, 1)).to_have_attribute("data-offer-status", "countered")
        expect(op.locator("#chat-stage")).to_have_text("Countered")
        _shots(op, artifacts_dir, "deal-thread-counter-desktop")
        v2.locator(".offer-accept").click()
        op.locator("#confirm-offer-step").click()
        expect(v2).to_have_attribute("data-offer-status", "accepted")
        expect(op.locator("#chat-stage")).to_have_text("Agreed")
        expect(op.locator(".system-message", has_text="accepted offer v2")).to_be_visible()
        # ...and the owner, live.
        expect(_card(own, 2)).to_have_attribute("data-offer-status", "accepted")
        expect(own.locator("#chat-stage")).to_have_text("Agreed")

        # Both Portfolios moved to Agreed without a reload.
        for portfolio in (own_portfolio, op_portfolio):
            expect(
                portfolio.locator(f".portfolio-card[data-property-id='{prop.id}']")
            ).to_have_attribute("data-stage", "agreed")
        _shots(own_portfolio, artifacts_dir, "deal-portfolio-desktop")

        # The thread on a phone: the card fits, nothing runs off the side.
        phone = _page(browser, live_server, owner, viewport=PHONE)
        try:
            phone.goto(thread_url)
            expect(_card(phone, 2)).to_be_visible()
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 376, f"the thread is {width}px wide on a 375px phone"
            _shots(phone, artifacts_dir, "deal-thread-phone")
            phone.goto(f"{live_server}/portfolio")
            expect(phone.locator(".portfolio-card").first).to_be_visible()
            _shots(phone, artifacts_dir, "deal-portfolio-phone")
        finally:
            phone.context.close()
    finally:
        op.context.close()
        own.context.close()


def _sign_up(browser: Browser, base: str, name: str, role: str) -> Page:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(base + "/signup")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(f"{role}-{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label("Password (at least 10 characters)").fill(factories.PASSWORD)
    page.get_by_role("radio", name=role).check()
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(INBOX_URL)
    return page


def test_two_new_users_go_from_sign_up_to_an_accepted_offer(
    live_server: str, browser: Browser
) -> None:
    """The issue's "done when", with nothing but the UI: a new owner lists a property and has
    it verified by staff; a new operator finds it, runs the numbers and sends an offer; the
    owner accepts it."""
    city = f"Newtown {uuid.uuid4().hex[:5]}"
    title = f"Orchard House {uuid.uuid4().hex[:4]}"
    owner = _sign_up(browser, live_server, "Nia Newowner", "owner")
    staff = _page_for(browser, live_server, "sam@demo.arbibase.test", DEMO_PASSWORD)
    operator = None
    try:
        # The owner: first steps from the empty inbox → list the property.
        owner.locator("#empty-list-property").click()
        owner.locator("#list-property").click()
        owner.get_by_label("Title", exact=True).fill(title)
        owner.get_by_label("Street address").fill("12 Orchard Ln")
        owner.get_by_label("City", exact=True).fill(city)
        owner.get_by_label("Monthly rent ($)").fill("2,100")
        owner.get_by_label("Bedrooms", exact=True).fill("3")
        owner.locator("#list-submit").click()
        expect(owner.locator(".property-card", has_text=title)).to_be_visible()
        # ...and asks to be verified; staff approve.
        owner.locator("#nav-verify").click()
        owner.set_input_files(
            "#proof-upload input[type=file]",
            files=[FilePayload(name="deed.pdf", mimeType="application/pdf", buffer=files.pdf())],
        )
        owner.locator("#submit-proof").click()
        expect(owner.locator("#claim-status")).to_have_attribute("data-status", "pending")
        staff.goto(f"{live_server}/staff/verifications")
        card = staff.locator(".claim-card", has_text="Nia Newowner")
        card.locator(".claim-approve").click()
        expect(card).to_have_count(0)
        expect(owner.locator("#nav-verify")).to_have_count(0)  # verified: the link goes

        # The operator: sign up, browse, calculate, offer.
        operator = _sign_up(browser, live_server, "Omar Newoperator", "operator")
        operator.locator("#empty-browse-properties").click()
        operator.locator("#city-filter").click()
        operator.get_by_role("option", name=city, exact=True).click()
        operator.locator(".property-card", has_text=title).click()
        operator.locator("#calculate-roi").click()
        expect(operator.locator("#roi-monthlyRent")).to_have_value("2100")
        operator.locator("#roi-adr").fill("160")
        operator.locator("#roi-occupancyPct").fill("70")
        operator.locator("#send-offer").click()
        expect(operator).to_have_url(THREAD_URL)
        expect(_card(operator, 1)).to_have_attribute("data-offer-status", "sent")

        # The owner: the negotiation is in the inbox; accept.
        owner.locator("#nav-inbox").click()
        owner.locator(".thread-row", has_text=title).click()
        _card(owner, 1).locator(".offer-accept").click()
        owner.locator("#confirm-offer-step").click()
        expect(_card(owner, 1)).to_have_attribute("data-offer-status", "accepted")
        expect(_card(operator, 1)).to_have_attribute("data-offer-status", "accepted")
        expect(operator.locator("#chat-stage")).to_have_text("Agreed")
    finally:
        for page in (owner, staff, operator):
            if page is not None:
                page.context.close()


def _page_for(browser: Browser, base: str, email: str, password: str) -> Page:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(20_000)
    page = context.new_page()
    log_in(page, base, email, password)
    return page


def test_a_beta_thread_shows_why_files_cannot_be_shared(live_server: str, browser: Browser) -> None:
    """Tier gating in the UI: Ben is on Beta; in his negotiation neither he nor the owner can
    attach a file, and each is told why in their own words."""
    for email, words in (
        ("ben@demo.arbibase.test", "File sharing is included in the Pro plan."),
        ("olivia@demo.arbibase.test", "The operator's plan does not include file sharing."),
    ):
        page = _page_for(browser, live_server, email, DEMO_PASSWORD)
        try:
            page.locator(".thread-row", has_text="Midtown 2BR Loft").click()
            expect(page).to_have_url(THREAD_URL)
            expect(page.locator("#attach-button-locked")).to_be_disabled()
            expect(page.locator("#attach-button")).to_have_count(0)
            expect(page.locator("#attach-note")).to_have_text(words)
            if email.startswith("ben"):
                expect(page.locator("#nav-tier")).to_have_text("beta")
        finally:
            page.context.close()
