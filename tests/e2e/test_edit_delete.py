"""Edit and delete my own message in two browsers: the sender edits and deletes from the
bubble's menu; the other party sees "edited" and then the "Message deleted" tombstone live,
without a reload. Screenshots of the bubble states at desktop and phone widths, light and dark
(test-artifacts/edit-*.png)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.helpers import bubble, open_thread, send, signed_in_page

pytestmark = [pytest.mark.browser]

ALICE = "alice@demo.arbibase.test"
OLIVIA = "olivia@demo.arbibase.test"
BAYVIEW = "Bayview 3BR Townhouse"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}


def _by_seq(page: Page, seq: str):
    return page.locator(f'#message-list .message[data-seq="{seq}"]')


def _sent(page: Page, text: str) -> str:
    send(page, text)
    mine = bubble(page, text)
    expect(mine).to_have_attribute("data-status", "sent")
    seq = mine.get_attribute("data-seq")
    assert seq
    return seq


def _menu(page: Page, seq: str, item: str) -> None:
    _by_seq(page, seq).locator(".message-menu").click()
    page.locator(f".{item}-message").click()


def test_the_sender_edits_and_deletes_and_the_other_side_sees_it_live(
    live_server: str, browser: Browser, artifacts_dir: Path
) -> None:
    alice = signed_in_page(browser, live_server, ALICE)
    olivia = signed_in_page(browser, live_server, OLIVIA)
    open_thread(alice, BAYVIEW)
    open_thread(olivia, BAYVIEW)
    tag = uuid.uuid4().hex[:6]

    # A message to delete later, and one to keep edited.
    first = f"Rent due on the 5th? {tag}"
    doomed = _sent(alice, first)
    kept_text = f"Parking included {tag}"
    kept = _sent(alice, kept_text)
    expect(bubble(olivia, first)).to_be_visible()
    expect(bubble(olivia, kept_text)).to_be_visible()
    # Only my own text bubbles carry the menu.
    expect(_by_seq(alice, kept).locator(".message-menu")).to_be_visible()
    expect(_by_seq(olivia, kept).locator(".message-menu")).to_have_count(0)

    # Edit in the dialog: the text is there to change; both see the new text and "edited".
    _menu(alice, kept, "edit")
    body = alice.locator("#edit-body")
    expect(body).to_have_value(kept_text)
    edited_text = f"Parking and storage included {tag}"
    body.fill(edited_text)
    alice.locator("#edit-save").click()
    for page in (alice, olivia):
        shown = _by_seq(page, kept)
        expect(shown.locator(".message-body")).to_have_text(edited_text)
        expect(shown.locator(".edited-label")).to_have_text("edited")
    expect(olivia.locator("#message-list")).not_to_contain_text(kept_text)

    # Delete asks first; cancelling keeps it.
    _menu(alice, doomed, "delete")
    alice.get_by_role("button", name="Cancel").click()
    expect(_by_seq(alice, doomed).locator(".message-body")).to_have_text(first)
    _menu(alice, doomed, "delete")
    alice.locator("#confirm-delete").click()
    for page in (alice, olivia):
        tomb = _by_seq(page, doomed)
        expect(tomb.locator(".message-deleted")).to_have_text("Message deleted")
        expect(tomb).not_to_contain_text(first)
        expect(tomb.locator(".message-menu")).to_have_count(0)
    olivia.screenshot(path=str(artifacts_dir / "edit-theirs-desktop-light.png"))

    # The bubble states, as the sender sees them: edited with its menu, the tombstone.
    _by_seq(alice, kept).locator(".message-menu").click()
    expect(alice.locator(".edit-message")).to_be_visible()
    alice.screenshot(path=str(artifacts_dir / "edit-mine-menu-desktop-light.png"))
    alice.keyboard.press("Escape")
    for size, scheme in (("desktop", "dark"), ("phone", "light"), ("phone", "dark")):
        page = signed_in_page(
            browser, live_server, ALICE, viewport=SIZES[size], color_scheme=scheme
        )
        page.goto(alice.url)
        shown = _by_seq(page, kept)
        expect(shown.locator(".edited-label")).to_be_visible()
        expect(_by_seq(page, doomed).locator(".message-deleted")).to_be_visible()
        shown.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / f"edit-mine-{size}-{scheme}.png"))
        # Nothing overflows sideways on a phone.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SIZES[size]["width"], (size, width)
        page.context.close()
