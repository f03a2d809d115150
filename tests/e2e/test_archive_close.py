"""Issue #13 in two browsers: my archive is mine alone (the other party's Active list keeps the
thread); closing asks first, then the other side sees the system message and loses the
composer live; reopening gives it back."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from arbibase_chat import db as dbmod
from arbibase_chat import routes
from arbibase_chat.models import UserPublic
from arbibase_chat.services import messages, properties, threads
from tests import factories
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.browser]


def _page(browser: Browser, base: str, user: UserPublic) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    log_in(page, base, user.email, factories.PASSWORD)
    return page


def _action(page: Page, item_id: str) -> None:
    expect(page.get_by_role("menu")).to_have_count(0)  # the last one has closed
    page.locator("#thread-actions").click()
    expect(page.get_by_role("menu")).to_be_visible()
    page.locator(f"#{item_id}").click()


def test_archive_is_personal_and_close_is_confirmed_and_shared(
    live_server: str, browser: Browser, e2e_database_url: str
) -> None:
    engine = dbmod.get_engine(e2e_database_url)
    alice = factories.user(engine, "operator", name="Alice Archer")
    olivia = factories.user(engine, "owner", name="Olivia Oakes")
    title = f"Archive Row {uuid.uuid4().hex[:6]}"
    prop = properties.create_property(
        user_id=olivia.id,
        data={"title": title, "address": "3 Elm St", "city": "Tampa", "bedrooms": 2},
        db=engine,
    )
    tid = threads.get_or_create_thread(
        user_id=alice.id, property_id=prop.id, owner_id=olivia.id, db=engine
    ).id
    messages.send_message(user_id=alice.id, thread_id=tid, body="Hello Olivia", db=engine)
    url = live_server + routes.thread(str(tid))

    op = _page(browser, live_server, alice)
    own = _page(browser, live_server, olivia)
    try:
        # Alice archives: at once, for her only.
        op.goto(url)
        expect(op.locator("#composer")).to_be_visible()
        _action(op, "status-archive")
        expect(op.locator("#chat-status")).to_have_text("Archived")
        expect(op.get_by_text("Archived for you.")).to_be_visible()
        op.goto(live_server + routes.INBOX)
        expect(op.locator("#status-filter")).to_be_visible()
        expect(op.locator(".thread-row", has_text=title)).to_have_count(0)
        op.locator("#status-filter").get_by_role("radio", name="Archived").click()
        expect(op.locator(".thread-row", has_text=title)).to_be_visible()
        # Olivia's Active list still has it (and her header says nothing of Alice's archive).
        expect(own.locator(".thread-row", has_text=title)).to_be_visible()
        own.goto(url)
        expect(own.locator("#composer")).to_be_visible()
        expect(own.locator("#chat-status")).to_have_count(0)

        # Alice unarchives from the menu, then asks to close: nothing happens before she says so.
        op.goto(url)
        expect(op.locator("#chat-status")).to_have_text("Archived")
        _action(op, "status-unarchive")
        expect(op.locator("#chat-status")).to_have_count(0)
        _action(op, "status-close")
        dialog = op.get_by_role("alertdialog")
        expect(dialog).to_contain_text("Close this conversation?")
        expect(dialog).to_contain_text(
            "Olivia Oakes will no longer be able to send messages until one of you reopens it."
        )
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_have_count(0)
        op.wait_for_timeout(300)
        expect(own.locator("#composer")).to_be_visible()

        _action(op, "status-close")
        op.locator("#confirm-status").click()
        expect(op.locator("#chat-status")).to_have_text("Closed")
        # Olivia, live: the system message, and no composer.
        expect(own.locator("#message-list")).to_contain_text("Alice Archer closed the conversation")
        expect(own.locator("#composer")).to_have_count(0)
        expect(own.locator("#chat-status")).to_have_text("Closed")

        # Olivia reopens (asked first); Alice gets the message and her composer back.
        _action(own, "status-reopen")
        expect(own.get_by_role("alertdialog")).to_contain_text("Reopen this conversation?")
        own.locator("#confirm-status").click()
        expect(op.locator("#message-list")).to_contain_text(
            "Olivia Oakes reopened the conversation"
        )
        expect(op.locator("#composer")).to_be_visible()
        expect(own.locator("#composer")).to_be_visible()
    finally:
        op.context.close()
        own.context.close()
