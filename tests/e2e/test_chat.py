"""Two people negotiate in two browsers: live messages, badges, Seen, typing, reloads."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.helpers import THREAD_URL, bubble, open_thread, send, signed_in_page

pytestmark = [pytest.mark.browser]

ALICE = "alice@demo.arbibase.test"
OLIVIA = "olivia@demo.arbibase.test"
BAYVIEW = "Bayview 3BR Townhouse"


def test_operator_and_owner_chat_live(
    live_server: str, browser: Browser, artifacts_dir: Path
) -> None:
    alice = signed_in_page(browser, live_server, ALICE)
    olivia = signed_in_page(browser, live_server, OLIVIA)
    open_thread(alice, BAYVIEW)
    # Other tests share the demo data: Bayview may already hold messages Olivia has not read.
    bayview_row = olivia.locator(".thread-row", has_text=BAYVIEW)
    expect(bayview_row).to_be_visible()  # the inbox (rows and nav total) has loaded
    olivia_total_before = (
        int(olivia.locator("#nav-unread-total").inner_text() or 0)
        if olivia.locator("#nav-unread-total").count()
        else 0
    )
    row_badge = bayview_row.locator(".thread-unread")
    bayview_before = int(row_badge.inner_text() or 0) if row_badge.count() else 0

    # Alice writes; it shows at once on her side and live in Olivia's inbox.
    hello = f"Could we start on the 1st? {uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    send(alice, hello)
    expect(bubble(alice, hello)).to_have_attribute("data-status", "sent")
    top_row = olivia.locator(".thread-row").first
    expect(top_row).to_contain_text(hello[:40])
    live_ms = (time.monotonic() - started) * 1000
    expect(top_row.locator(".thread-unread")).to_have_text(str(bayview_before + 1))
    expect(olivia.locator("#nav-unread-total")).to_have_text(str(olivia_total_before + 1))

    # Olivia opens it: her badge clears and Alice sees "Seen" under her message.
    open_thread(olivia, BAYVIEW)
    expect(bubble(olivia, hello)).to_be_visible()
    expect(alice.locator("#seen-receipt")).to_be_visible()
    expect(bubble(alice, hello).locator("#seen-receipt")).to_be_visible()
    left = olivia_total_before - bayview_before
    if left == 0:
        expect(olivia.locator("#nav-unread-total")).to_have_count(0)
    else:
        expect(olivia.locator("#nav-unread-total")).to_have_text(str(left))

    # Olivia types: Alice sees the typing indicator; then the reply arrives live.
    olivia.locator("#composer").press_sequentially("Sure", delay=30)
    expect(alice.locator("#typing-indicator")).to_contain_text("Olivia Hart is typing")
    reply_tail = f" — the 1st works. {uuid.uuid4().hex[:6]}"
    olivia.locator("#composer").press_sequentially(reply_tail, delay=5)
    olivia.locator("#composer").press("Enter")
    reply = "Sure" + reply_tail
    expect(bubble(alice, reply)).to_be_visible()
    expect(alice.locator("#typing-indicator")).to_have_count(0)
    expect(bubble(alice, reply)).to_have_class(re.compile(r"\btheirs\b"))
    expect(bubble(olivia, reply)).to_have_class(re.compile(r"\bmine\b"))
    # Alice has it open in a visible tab: it is read at once, and Olivia sees it.
    expect(olivia.locator("#seen-receipt")).to_be_visible()

    # Shift+Enter makes a new line instead of sending.
    composer = alice.locator("#composer")
    composer.fill("line one")
    composer.press("Shift+Enter")
    composer.press_sequentially("line two")
    composer.press("Enter")
    expect(bubble(olivia, "line one")).to_contain_text("line two")
    assert "\n" in bubble(olivia, "line one").locator(".message-body").inner_text()

    alice.screenshot(path=str(artifacts_dir / "thread-desktop.png"))
    # A reload keeps everything, in order.
    alice.reload()
    expect(alice).to_have_url(THREAD_URL)
    expect(bubble(alice, reply)).to_be_visible()
    expect(bubble(alice, hello)).to_be_visible()
    texts = alice.locator("#message-list .message-body").all_inner_texts()
    order = [texts.index(t) for t in texts if t in (hello, reply)]
    assert order == sorted(order) and len(order) == 2
    print(f"\n[e2e] message visible in the other browser's inbox after {live_ms:.0f} ms")
    alice.context.close()
    olivia.context.close()


def test_markup_in_messages_is_inert_text(live_server: str, browser: Browser) -> None:
    ben = signed_in_page(browser, live_server, "ben@demo.arbibase.test")
    olivia = signed_in_page(browser, live_server, OLIVIA)
    open_thread(ben, "Midtown 2BR Loft")
    open_thread(olivia, "Midtown 2BR Loft")
    payloads = [
        "<script>window.__pwned = 1</script>",
        '<img src=x onerror="window.__pwned = 2">',
        "javascript:window.__pwned=3",
        "[click](javascript:alert(1)) and https://example.com/ok",
    ]
    for payload in payloads:
        send(ben, payload)
    for page in (ben, olivia):
        for payload in payloads:
            expect(bubble(page, payload).locator(".message-body")).to_have_text(payload)
        assert page.evaluate("window.__pwned") is None
        assert page.locator("#message-list img:not(.attachment-thumb)").count() == 0
        links = page.locator("#message-list .message-body a")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert hrefs and all(h is not None and h.startswith("https://") for h in hrefs)
    ben.context.close()
    olivia.context.close()


def test_stranger_cannot_open_a_thread_by_url(live_server: str, browser: Browser) -> None:
    alice = signed_in_page(browser, live_server, ALICE)
    open_thread(alice, BAYVIEW)
    url = alice.url
    ben = signed_in_page(browser, live_server, "ben@demo.arbibase.test")
    ben.goto(url)
    expect(ben.locator("#chat-not-found")).to_be_visible()
    expect(ben.get_by_text("Could we start")).to_have_count(0)
    alice.context.close()
    ben.context.close()
