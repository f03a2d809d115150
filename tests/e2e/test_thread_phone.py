"""The thread page on a 375x812 phone (issue #13 leftovers): tags have a home in the header's
⋮ menu ("Tags…", a dialog to add and remove them), and "Suggest replies" takes one short row
over the composer. Each measures in the browser: boxes inside the viewport, heights.

A fresh operator-owner pair per test keeps the demo data other tests read untouched.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from arbibase_chat import db as dbmod
from arbibase_chat.services import inbox, messages, properties, threads
from tests import factories
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.browser]

PHONE = {"width": 375, "height": 812}
SUGGEST_ROW_MAX_PX = 32


@pytest.fixture
def pair(e2e_database_url: str) -> Iterator[factories.Pair]:
    yield factories.Pair(dbmod.get_engine(e2e_database_url))


def _phone(browser: Browser, base: str, email: str, scheme: str = "light") -> Page:
    context = browser.new_context(viewport=PHONE, color_scheme=scheme)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, base, email, factories.PASSWORD)
    return page


def _open(page: Page, base: str, thread_id: uuid.UUID) -> None:
    page.goto(f"{base}/threads/{thread_id}")
    expect(page.locator("#message-list")).to_have_attribute("data-thread", str(thread_id))


def _inside_viewport(locator: Locator) -> None:
    for i in range(locator.count()):
        box = locator.nth(i).bounding_box()
        assert box is not None, (locator, i)
        assert box["x"] >= 0 and box["y"] >= 0, (locator, i, box)
        assert box["x"] + box["width"] <= PHONE["width"], (locator, i, box)
        assert box["y"] + box["height"] <= PHONE["height"], (locator, i, box)


def _tags(pair: factories.Pair) -> list[str]:
    return inbox.get_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=pair.db).tags


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_adds_and_removes_tags_from_the_menu(
    live_server: str, browser: Browser, pair: factories.Pair, artifacts_dir: Path, scheme: str
) -> None:
    threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, add_tags=["Hot lead"], db=pair.db
    )
    messages.send_message(
        user_id=pair.owner.id, thread_id=pair.thread_id, body="Hello there", db=pair.db
    )
    page = _phone(browser, live_server, pair.operator.email, scheme)
    _open(page, live_server, pair.thread_id)
    # The header's tag bar is not on a phone: the menu leads to the tags.
    expect(page.locator("#thread-tags")).to_be_hidden()
    page.locator("#thread-actions").click()
    item = page.locator("#menu-tags")
    expect(item).to_be_visible()
    _inside_viewport(item)
    item.click()

    dialog = page.get_by_role("dialog", name="Tags")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".dialog-tag")).to_have_text(["Hot lead"])
    # Focus lands on the dialog itself: no ringed remove button, no keyboard over the tags.
    expect(page.locator("#tags-dialog")).to_be_focused()
    field = dialog.get_by_role("textbox", name="New tag")
    field.fill("Signed NDA")
    dialog.get_by_role("button", name="Add").click()
    expect(dialog.locator(".dialog-tag")).to_have_count(2)
    expect(field).to_have_value("")
    assert sorted(_tags(pair)) == ["Hot lead", "Signed NDA"]
    # Every control of the dialog is on the screen; a remove button is a finger's target.
    for i in range(2):
        target = dialog.locator(".remove-tag").nth(i).bounding_box()
        assert target is not None and min(target["width"], target["height"]) >= 24, target
    _inside_viewport(dialog)
    _inside_viewport(dialog.get_by_role("button"))
    _inside_viewport(field)
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)  # Radix's open animation
    page.screenshot(path=str(artifacts_dir / f"thread-tags-dialog-phone-{scheme}.png"))

    dialog.get_by_role("button", name="Remove tag Hot lead").click()
    expect(dialog.locator(".dialog-tag")).to_have_text(["Signed NDA"])
    assert _tags(pair) == ["Signed NDA"]
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    # Focus goes back to the menu's button, not to the page body.
    expect(page.locator("#thread-actions")).to_be_focused()
    page.context.close()


def test_desktop_menu_has_no_tags_item(live_server: str, browser: Browser, pair: factories.Pair):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, live_server, pair.operator.email, factories.PASSWORD)
    _open(page, live_server, pair.thread_id)
    expect(page.locator("#thread-tags")).to_be_visible()  # the bar itself
    page.locator("#thread-actions").click()
    expect(page.locator("#status-close")).to_be_visible()
    expect(page.locator("#menu-tags")).to_be_hidden()
    context.close()


def _premium_thread(engine) -> tuple[factories.UserPublic, uuid.UUID]:
    operator = factories.user(engine, "operator", tier="premium")
    owner = factories.user(engine, "owner")
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
        user_id=owner.id, thread_id=tid, body="What deposit would you put down?", db=engine
    )
    return operator, tid


def _suggest_row(page: Page, scheme: str, artifacts_dir: Path, name: str) -> None:
    row = page.locator("#ai-suggestions")
    expect(row).to_be_visible()
    box = row.bounding_box()
    assert box is not None
    print(f"\n[{name} {scheme}] suggest row {box['height']}px")
    assert box["height"] <= SUGGEST_ROW_MAX_PX, box
    button = page.get_by_role("button", name="Suggest replies")
    expect(button).to_be_visible()
    _inside_viewport(button)
    _inside_viewport(page.locator("#send-button"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts_dir / f"thread-{name}-phone-{scheme}.png"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_suggest_replies_is_one_short_row(
    live_server: str, browser: Browser, e2e_database_url: str, artifacts_dir: Path, scheme: str
) -> None:
    engine = dbmod.get_engine(e2e_database_url)
    # Premium: the button works; its chips then scroll sideways in one row.
    operator, tid = _premium_thread(engine)
    page = _phone(browser, live_server, operator.email, scheme)
    _open(page, live_server, tid)
    _suggest_row(page, scheme, artifacts_dir, "suggest")
    page.get_by_role("button", name="Suggest replies").click()
    chips = page.locator("#ai-chips .ai-chip")
    expect(chips.first).to_be_visible()
    expect(page.locator("#ai-source")).to_have_text("Suggested from templates")
    whole = page.locator("#ai-suggestions").bounding_box()
    chip = chips.first.bounding_box()
    assert whole is not None and chip is not None
    # One row of chips under the button's row, not a stack of them.
    assert whole["height"] <= SUGGEST_ROW_MAX_PX + chip["height"] + 8, (whole, chip)
    _inside_viewport(page.locator("#send-button"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts_dir / f"thread-suggest-chips-phone-{scheme}.png"))
    page.context.close()

    # A plan without it: the disabled button and its one-line note, as short.
    basic = factories.Pair(engine)
    messages.send_message(user_id=basic.owner.id, thread_id=basic.thread_id, body="Hi", db=engine)
    page = _phone(browser, live_server, basic.operator.email, scheme)
    _open(page, live_server, basic.thread_id)
    note = page.locator("#ai-note")
    if note.count():
        _suggest_row(page, scheme, artifacts_dir, "suggest-locked")
        assert note.get_attribute("title")  # the whole sentence, for the cut one
    page.context.close()
