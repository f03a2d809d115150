"""Edges of the chat: two tabs of one user stay exact; a refused send can be retried once."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat.seed import DEMO_PASSWORD
from arbibase_chat.services import accounts, inbox, reads
from tests.e2e.helpers import INBOX_URL, bubble, log_in, open_thread, send, signed_in_page

pytestmark = [pytest.mark.browser]


def test_two_tabs_of_one_user_keep_exact_badges(
    live_server: str, e2e_database_url: str, browser: Browser
) -> None:
    engine = dbmod.get_engine(e2e_database_url)
    olivia_id = accounts.authenticate(
        email="olivia@demo.arbibase.test", password=DEMO_PASSWORD, db=engine
    ).id
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    tab_a = context.new_page()
    log_in(tab_a, live_server, "olivia@demo.arbibase.test")
    tab_b = context.new_page()  # same cookie: the same user in a second tab
    tab_b.goto(live_server + "/inbox")
    expect(tab_b).to_have_url(INBOX_URL)
    ben = signed_in_page(browser, live_server, "ben@demo.arbibase.test")
    open_thread(ben, "Midtown 2BR Loft")
    for i in range(2):
        text = f"two tabs {i} {uuid.uuid4().hex[:6]}"
        send(ben, text)
        expect(bubble(ben, text)).to_have_attribute("data-status", "sent")
    total = reads.unread_total(user_id=olivia_id, db=engine)
    assert total >= 2
    for tab in (tab_a, tab_b):
        row = tab.locator(".thread-row", has_text="Midtown 2BR Loft")
        expect(row.locator(".thread-unread")).to_have_text(
            str(_unread_in(olivia_id, "Midtown 2BR Loft", engine))
        )
        expect(tab.locator("#nav-unread-total")).to_have_text(str(total))
    # Reading in tab A clears the thread's badge in tab B too, live.
    open_thread(tab_a, "Midtown 2BR Loft")
    row_b = tab_b.locator(".thread-row", has_text="Midtown 2BR Loft")
    expect(row_b.locator(".thread-unread")).to_have_count(0)
    left = reads.unread_total(user_id=olivia_id, db=engine)
    if left:
        expect(tab_b.locator("#nav-unread-total")).to_have_text(str(left))
    else:
        expect(tab_b.locator("#nav-unread-total")).to_have_count(0)
    context.close()
    ben.context.close()


def _unread_in(user_id: uuid.UUID, property_title: str, engine: Engine) -> int:
    items = inbox.list_threads(user_id=user_id, db=engine).items
    return next(t.unread_count for t in items if t.property_title == property_title)


def test_a_refused_send_fails_visibly_and_retries_once(
    live_server: str, e2e_database_url: str, browser: Browser
) -> None:
    engine = dbmod.get_engine(e2e_database_url)
    oscar = accounts.authenticate(
        email="oscar@demo.arbibase.test", password=DEMO_PASSWORD, db=engine
    )
    # Verified when the page opens (the composer shows), unverified by the time they send
    # (from another process: this server hears of it at its next re-read, after the send).
    accounts.set_verified(user_id=oscar.id, verified=True, db=engine)
    page = signed_in_page(browser, live_server, "oscar@demo.arbibase.test")
    open_thread(page, "Lakeside Cottage")
    accounts.set_verified(user_id=oscar.id, verified=False, db=engine)
    text = f"Happy to talk {uuid.uuid4().hex[:6]}"
    send(page, text)
    mine = bubble(page, text)
    expect(mine).to_have_attribute("data-status", "failed")
    expect(page.get_by_text("Verify ownership")).to_be_visible()
    # Ownership verified meanwhile (by ArbiBase staff): Retry sends it, exactly once.
    accounts.set_verified(user_id=oscar.id, verified=True, db=engine)
    try:
        mine.locator(".retry-send").click()
        expect(mine).to_have_attribute("data-status", "sent")
        expect(mine.locator(".retry-send")).to_have_count(0)
        page.reload()
        expect(bubble(page, text)).to_have_count(1)
    finally:
        accounts.set_verified(user_id=oscar.id, verified=False, db=engine)
        page.context.close()
