"""Edges of the chat: two tabs of one user stay exact; a refused send can be retried once; a
send the server never answers keeps its text and is retried once."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from playwright.sync_api import Browser, WebSocketRoute, expect
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat.seed import DEMO_PASSWORD
from arbibase_chat.services import accounts, inbox, messages, reads
from tests import factories
from tests.e2e.helpers import INBOX_URL, bubble, log_in, open_thread, send, signed_in_page

pytestmark = [pytest.mark.browser]


def test_two_tabs_of_one_user_keep_exact_badges(
    live_server: str, e2e_database_url: str, browser: Browser
) -> None:
    # A fresh pair: no tab of an earlier test can read these messages, so the counts are exact.
    pair = factories.Pair(dbmod.get_engine(e2e_database_url))
    title = pair.property.title
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    tab_a = context.new_page()
    log_in(tab_a, live_server, pair.owner.email, factories.PASSWORD)
    tab_b = context.new_page()  # same cookie: the same user in a second tab
    tab_b.goto(live_server + "/inbox")
    expect(tab_b).to_have_url(INBOX_URL)
    operator = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    operator.context.set_default_timeout(15_000)
    log_in(operator, live_server, pair.operator.email, factories.PASSWORD)
    open_thread(operator, title)
    for i in range(2):
        text = f"two tabs {i} {uuid.uuid4().hex[:6]}"
        send(operator, text)
        expect(bubble(operator, text)).to_have_attribute("data-status", "sent")
    assert reads.unread_total(user_id=pair.owner.id, db=pair.db) == 2
    for tab in (tab_a, tab_b):
        row = tab.locator(".thread-row", has_text=title)
        expect(row.locator(".thread-unread")).to_have_text("2")
        expect(tab.locator("#nav-unread-total")).to_have_text("2")
    # Reading in tab A clears the thread's badge in tab B too, live.
    open_thread(tab_a, title)
    row_b = tab_b.locator(".thread-row", has_text=title)
    expect(row_b.locator(".thread-unread")).to_have_count(0)
    expect(tab_b.locator("#nav-unread-total")).to_have_count(0)
    assert reads.unread_total(user_id=pair.owner.id, db=pair.db) == 0
    context.close()
    operator.context.close()


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


class _SocketTap:
    """Sits on the tab's Reflex socket (Playwright's WebSocket routing) and loses frames the
    way a dying worker or a failed state load does: the next send event on its way to the
    server, or every frame from the server while `mute_server` is set."""

    SEND = re.compile(r'chat_state\.send"')

    def __init__(self) -> None:
        self.drop_next_send = False
        self.mute_server = False
        self.dropped: list[str] = []

    def __call__(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if self.drop_next_send and isinstance(message, str) and self.SEND.search(message):
                self.drop_next_send = False
                self.dropped.append(message)
                return
            server.send(message)

        def from_server(message: str | bytes) -> None:
            if not self.mute_server:
                ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)


def _stored(engine: Engine, user_id: uuid.UUID, title: str, text: str) -> int:
    thread = next(
        t for t in inbox.list_threads(user_id=user_id, db=engine).items if t.property_title == title
    )
    stored = messages.list_messages(user_id=user_id, thread_id=thread.id, db=engine)
    return [m.body for m in stored].count(text)


def test_a_send_the_server_never_answers_is_kept_and_retried_once(
    live_server: str, e2e_database_url: str, browser: Browser
) -> None:
    """The composer is cleared at submit. A send the server never saw (Redis away, a worker
    killed with the event in it), or whose answer never came back, keeps its text in a local
    bubble that turns "Not sent" with Retry; Retry reuses the send's id, so a send that did
    arrive is still stored once."""
    engine = dbmod.get_engine(e2e_database_url)
    ben = accounts.authenticate(email="ben@demo.arbibase.test", password=DEMO_PASSWORD, db=engine)
    tap = _SocketTap()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.route_web_socket(re.compile(r"/_event"), tap)
    log_in(page, live_server, "ben@demo.arbibase.test")
    open_thread(page, "Midtown 2BR Loft")
    local = page.locator("#message-list .offline-pending")

    # 1. The send event is lost on its way: nothing stored, the text stays on screen.
    lost = f"lost on the way {uuid.uuid4().hex[:6]}"
    tap.drop_next_send = True
    send(page, lost)
    expect(page.locator("#composer")).to_have_value("")
    expect(local.filter(has_text=lost)).to_contain_text("Sending…", timeout=5_000)
    expect(local.filter(has_text=lost)).to_contain_text("Not sent", timeout=15_000)
    assert tap.dropped and _stored(engine, ben.id, "Midtown 2BR Loft", lost) == 0
    # What is being typed meanwhile stays in the composer through the retry.
    page.locator("#composer").fill("half a thought")
    local.filter(has_text=lost).locator(".local-retry").click()
    expect(bubble(page, lost)).to_have_attribute("data-status", "sent")
    expect(local).to_have_count(0)
    expect(page.locator("#composer")).to_have_value("half a thought")
    assert _stored(engine, ben.id, "Midtown 2BR Loft", lost) == 1

    # 2. The send arrives and is stored, but no answer comes back: Retry stores nothing new,
    # and the tab gets the window it missed.
    page.locator("#composer").fill("")
    unanswered = f"stored but unanswered {uuid.uuid4().hex[:6]}"
    tap.mute_server = True
    send(page, unanswered)
    deadline = time.monotonic() + 10
    while _stored(engine, ben.id, "Midtown 2BR Loft", unanswered) == 0:
        assert time.monotonic() < deadline, "the send was not stored"
        time.sleep(0.2)
    expect(local.filter(has_text=unanswered)).to_contain_text("Not sent", timeout=15_000)
    tap.mute_server = False
    local.filter(has_text=unanswered).locator(".local-retry").click()
    expect(bubble(page, unanswered)).to_have_attribute("data-status", "sent")
    expect(bubble(page, unanswered)).to_have_count(1)
    expect(local).to_have_count(0)
    assert _stored(engine, ben.id, "Midtown 2BR Loft", unanswered) == 1
    page.reload()
    expect(bubble(page, unanswered)).to_have_count(1)
    context.close()
