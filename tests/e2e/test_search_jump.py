"""Message search in the browser (issue #14): from the inbox to /search, a word found in an
old message of a long thread, and its result opens the thread at that message (paged in,
scrolled to, marked), at desktop and phone widths, light and dark."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Literal

import pytest
from playwright.sync_api import Browser, WebSocketRoute, expect

from arbibase_chat import db as dbmod
from arbibase_chat import routes
from arbibase_chat.services import messages, properties, ratelimit, threads
from tests import factories
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.browser]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
OLD_SEQ = 10  # older than the newest page (50): the thread page must page it in


class _HoldServer:
    """Holds the server's frames to the tab while `hold` is set (a slow load), then lets
    them through in order."""

    def __init__(self) -> None:
        self.hold = False
        self._held: list[str | bytes] = []
        self._ws: WebSocketRoute | None = None

    def __call__(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        self._ws = ws

        def from_server(message: str | bytes) -> None:
            if self.hold:
                self._held.append(message)
            else:
                ws.send(message)

        server.on_message(from_server)

    def release(self) -> None:
        self.hold = False
        assert self._ws is not None
        for message in self._held:
            self._ws.send(message)
        self._held.clear()


def test_words_typed_while_the_page_loads_are_kept(
    live_server: str, browser: Browser, e2e_database_url: str
) -> None:
    """Back on /search after a search, the box is typed into before the page's load lands:
    the load clears the old search without wiping the new words (the box was keyed by the
    query and remounted), and Enter searches for them."""
    engine = dbmod.get_engine(e2e_database_url)
    word = f"gnu{uuid.uuid4().hex[:6]}"
    pair = factories.Pair(engine)
    messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body=f"about the {word}", db=engine
    )
    tap = _HoldServer()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.route_web_socket(re.compile(r"/_event"), tap)
    try:
        log_in(page, live_server, pair.owner.email, factories.PASSWORD)
        page.goto(live_server + routes.search_for("garage"))
        expect(page.locator("#search-empty")).to_be_visible()
        page.locator("#nav-inbox").click()
        expect(page.locator(".thread-row").first).to_be_visible()
        tap.hold = True
        page.locator("#open-message-search").click()
        expect(page).to_have_url(live_server + routes.SEARCH)
        box = page.locator("#message-search-input")
        box.fill(word)
        page.wait_for_timeout(300)
        tap.release()
        page.wait_for_timeout(500)  # the held load (and the page leaving) applied
        expect(box).to_have_value(word)
        box.press("Enter")
        expect(page.locator(".search-result")).to_have_count(1)
        expect(page).to_have_url(live_server + routes.search_for(word))
        expect(box).to_have_value(word)
    finally:
        context.close()


@pytest.mark.parametrize(("size", "scheme"), [("desktop", "light"), ("phone", "dark")])
def test_a_result_opens_the_thread_at_the_message(
    live_server: str, browser: Browser, e2e_database_url: str, artifacts_dir: Path, size, scheme
) -> None:
    engine = dbmod.get_engine(e2e_database_url)
    word = f"zebu{uuid.uuid4().hex[:6]}"
    alice = factories.user(engine, "operator", name="Alice Finder")
    olivia = factories.user(engine, "owner", name="Olivia Long")
    prop = properties.create_property(
        user_id=olivia.id,
        data={"title": f"Search Loft {word[-6:]}", "address": "1 Elm St", "city": "Tampa"},
        db=engine,
    )
    tid = threads.get_or_create_thread(
        user_id=alice.id, property_id=prop.id, owner_id=olivia.id, subject="Long talk", db=engine
    ).id
    with ratelimit.use(ratelimit.Unlimited()):
        for seq in range(1, 121):
            body = f"The <b>{word}</b> clause, see section 4" if seq == OLD_SEQ else f"Line {seq}"
            sender = alice if seq % 2 else olivia
            messages.send_message(user_id=sender.id, thread_id=tid, body=body, db=engine)

    context = browser.new_context(viewport=SIZES[size], color_scheme=scheme)  # type: ignore[arg-type]
    context.set_default_timeout(20_000)
    page = context.new_page()
    other: Literal["dark", "light"] = "dark" if scheme == "light" else "light"
    try:
        log_in(page, live_server, alice.email, factories.PASSWORD)
        # From the inbox's own search: "Search all messages for …" carries the words over.
        page.locator("#inbox-search").fill(word)
        page.locator("#inbox-search").press("Enter")
        expect(page.locator("#search-all-messages")).to_be_in_viewport()
        page.screenshot(path=str(artifacts_dir / f"inbox-search-all-{size}-{scheme}.png"))
        page.locator("#search-all-messages").click()
        expect(page).to_have_url(live_server + routes.search_for(word))
        expect(page.locator(".search-result")).to_have_count(1)
        page.go_back()
        page.locator("#open-message-search").click()
        expect(page).to_have_url(live_server + routes.SEARCH)
        page.locator("#message-search-input").fill(word[:-2])  # a prefix while typing
        page.locator("#message-search-input").press("Enter")
        result = page.locator(".search-result")
        expect(result).to_have_count(1)
        # The text is shown as text: the markup in the message is not markup here.
        expect(result.locator("mark.search-match")).to_have_text(word)
        expect(result).to_contain_text(f"<b>{word}</b> clause")
        expect(result).to_contain_text("Long talk")
        page.screenshot(path=str(artifacts_dir / f"search-results-{size}-{scheme}.png"))
        page.emulate_media(color_scheme=other)
        page.screenshot(path=str(artifacts_dir / f"search-results-{size}-{other}.png"))
        page.emulate_media(color_scheme="light" if other == "dark" else "dark")

        result.click()
        expect(page).to_have_url(live_server + routes.thread_at(str(tid), OLD_SEQ))
        target = page.locator(f'#message-list [data-seq="{OLD_SEQ}"]')
        expect(target).to_have_attribute("data-jumped", "1")
        expect(target).to_be_in_viewport()
        expect(target).to_contain_text(f"<b>{word}</b> clause")
        page.screenshot(path=str(artifacts_dir / f"search-jump-{size}-{scheme}.png"))
        page.emulate_media(color_scheme=other)
        page.screenshot(path=str(artifacts_dir / f"search-jump-{size}-{other}.png"))

        # A stranger's search finds nothing of theirs.
        page.goto(live_server + routes.search_for("Line"))
        expect(page.locator(".search-result").first).to_be_visible()
        stranger = factories.user(engine, "operator", name="Sam Stranger")
        page.context.clear_cookies()
        log_in(page, live_server, stranger.email, factories.PASSWORD)
        page.goto(live_server + routes.search_for(word))
        expect(page.locator("#search-empty")).to_be_visible()
        expect(page.locator(".search-result")).to_have_count(0)
    finally:
        context.close()
