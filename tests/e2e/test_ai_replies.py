"""AI reply suggestions in the browser: a Premium operator, in a thread where the owner asked
about the deposit, asks for suggestions, gets template chips, clicks one: the composer holds
its text and nothing was sent. The owner sees no such control. Screenshots of the chips
(desktop and phone, light and dark) go to test-artifacts/."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from arbibase_chat import db as dbmod
from arbibase_chat import routes
from arbibase_chat.models import UserPublic
from arbibase_chat.services import messages, properties, threads
from tests import factories
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.browser]

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 812}
QUESTION = "Thanks for reaching out! What deposit would you put down?"


def _page(browser: Browser, base: str, user: UserPublic, viewport: ViewportSize) -> Page:
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(20_000)
    page = context.new_page()
    log_in(page, base, user.email, factories.PASSWORD)
    return page


def _chips(page: Page, base: str, thread_id: uuid.UUID):
    page.goto(base + routes.thread(str(thread_id)))
    expect(page.locator("#message-list")).to_contain_text(QUESTION)
    button = page.locator("#suggest-replies")
    expect(button).to_be_enabled()
    button.click()
    chips = page.locator("#ai-chips .ai-chip")
    expect(chips.first).to_be_visible()
    expect(page.locator("#ai-source")).to_have_text("Suggested from templates")
    return chips


def _shots(page: Page, artifacts: Path, name: str) -> None:
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        page.wait_for_timeout(250)
        page.screenshot(path=str(artifacts / f"{name}-{theme}.png"))
    page.emulate_media(color_scheme="light")


def test_template_chips_fill_the_composer_and_send_nothing(
    live_server: str, browser: Browser, e2e_database_url: str, artifacts_dir: Path
) -> None:
    engine = dbmod.get_engine(e2e_database_url)
    operator = factories.user(engine, "operator", name="Pia Premium", tier="premium")
    owner = factories.user(engine, "owner", name="Oren Owner")
    prop = properties.create_property(
        user_id=owner.id,
        data={
            "title": f"Cedar Cottage {uuid.uuid4().hex[:5]}",
            "address": "9 Cedar Lane",
            "city": "Tampa",
            "monthly_rent_cents": 210_000,
            "bedrooms": 2,
        },
        db=engine,
    )
    tid = threads.get_or_create_thread(
        user_id=operator.id, property_id=prop.id, owner_id=owner.id, db=engine
    ).id
    messages.send_message(
        user_id=operator.id, thread_id=tid, body="Hi! I'd like to lease your cottage.", db=engine
    )
    messages.send_message(user_id=owner.id, thread_id=tid, body=QUESTION, db=engine)

    op = _page(browser, live_server, operator, DESKTOP)
    phone = _page(browser, live_server, operator, PHONE)
    own = _page(browser, live_server, owner, DESKTOP)
    try:
        chips = _chips(op, live_server, tid)
        assert 1 <= chips.count() <= 3
        _shots(op, artifacts_dir, "ai-chips-desktop")
        text = chips.first.get_attribute("title")
        assert text and "deposit" in text
        chips.first.click()
        expect(op.locator("#composer")).to_have_value(text)
        expect(op.locator("#composer")).to_be_focused()
        op.screenshot(path=str(artifacts_dir / "ai-chip-clicked-desktop-light.png"))
        op.wait_for_timeout(500)  # a send would have shown by now
        expect(op.locator("#message-list .message")).to_have_count(2)
        history = messages.list_messages(user_id=operator.id, thread_id=tid, db=engine)
        assert [m.body for m in history][-1] == QUESTION

        phone_chips = _chips(phone, live_server, tid)
        assert phone_chips.count() >= 1
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, f"page is {width}px wide"
        _shots(phone, artifacts_dir, "ai-chips-phone")

        # The owner of the thread never sees the control.
        own.goto(live_server + routes.thread(str(tid)))
        expect(own.locator("#message-list")).to_contain_text(QUESTION)
        expect(own.locator("#composer")).to_be_visible()
        expect(own.locator("#suggest-replies")).to_have_count(0)
    finally:
        for page in (op, phone, own):
            page.context.close()
