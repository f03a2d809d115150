"""Screenshots of the inbox, a thread (with the seeded offer cards) and the Portfolio at
desktop and phone widths, light and dark; and of the thread's states: muted (the bell-off in
the header and the inbox row), ending in images, and offline (the banner, a waiting message).

They land in test-artifacts/ (ignored by git) for a human to look at; the assertions check
that nothing overflows sideways on a 375-px phone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from arbibase_chat import db as dbmod
from arbibase_chat.services import messages
from tests import factories, files
from tests.e2e.helpers import log_in, open_thread, send, signed_in_page
from tests.e2e.server import LiveServer
from tests.e2e.test_reconnect import restartable  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}


def _no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"  # type: ignore[index]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", sorted(SIZES))
def test_inbox_and_thread_screens(
    live_server: str, browser: Browser, artifacts_dir: Path, size: str, scheme: str
) -> None:
    page = signed_in_page(
        browser, live_server, "olivia@demo.arbibase.test", viewport=SIZES[size], color_scheme=scheme
    )
    expect(page.locator(".thread-row").first).to_be_visible()
    _no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts_dir / f"inbox-{size}-{scheme}.png"))
    open_thread(page, "Bayview 3BR Townhouse")
    expect(page.locator("#message-list .message").first).to_be_visible()
    expect(page.locator("#composer")).to_be_visible()
    if size == "phone":
        # One pane at a time on a phone: the list is hidden, a back button shows.
        expect(page.get_by_role("button", name="Back to inbox")).to_be_visible()
    _no_horizontal_overflow(page)
    expect(page.locator(".offer-card").first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / f"thread-{size}-{scheme}.png"))
    page.goto(live_server + "/portfolio")
    expect(page.locator(".portfolio-card").first).to_be_visible()
    _no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts_dir / f"portfolio-{size}-{scheme}.png"), full_page=True)
    page.context.close()


def _settled(page: Page) -> None:
    """Every CSS animation over (a menu fading in would be caught half transparent)."""
    page.wait_for_function(
        "document.getAnimations().every(a => a.playState !== 'running')", timeout=5_000
    )


def _navbar_one_row(page: Page) -> None:
    """The navbar keeps its height (it never wraps) and shows every control it has."""
    box = page.locator("#navbar").bounding_box()
    assert box is not None and box["height"] <= 58, box
    for control in ("#nav-settings", "#log-out"):
        item = page.locator(control).bounding_box()
        assert item is not None and item["x"] + item["width"] <= box["width"] + 1, control


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", sorted(SIZES))
def test_settings_screens(
    live_server: str, browser: Browser, artifacts_dir: Path, size: str, scheme: str
) -> None:
    # Sam: a staff operator, the most navbar items anyone has.
    page = signed_in_page(
        browser, live_server, "sam@demo.arbibase.test", viewport=SIZES[size], color_scheme=scheme
    )
    page.locator("#nav-settings").click()
    expect(page.get_by_role("switch", name="Desktop notifications")).to_be_visible()
    expect(page.locator("#nav-settings")).to_have_attribute("aria-current", "page")
    _no_horizontal_overflow(page)
    _navbar_one_row(page)
    page.screenshot(path=str(artifacts_dir / f"settings-{size}-{scheme}.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", sorted(SIZES))
def test_muted_thread_screens(
    live_server: str,
    browser: Browser,
    e2e_database_url: str,
    artifacts_dir: Path,
    size: str,
    scheme: str,
) -> None:
    """A fresh pair (a mute must not reach the tests sharing the demo data), muted from the
    header's bell: the menu, the header's "Muted until …", the inbox row's bell-off."""
    engine = dbmod.get_engine(e2e_database_url)
    pair = factories.Pair(engine)
    for body in ("Is the garage included in the rent?", "And could we start on the 1st?"):
        messages.send_message(
            user_id=pair.operator.id, thread_id=pair.thread_id, body=body, db=engine
        )
    context = browser.new_context(viewport=SIZES[size], color_scheme=scheme)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, live_server, pair.owner.email, factories.PASSWORD)
    page.goto(f"{live_server}/threads/{pair.thread_id}")
    expect(page.locator("#message-list .message")).to_have_count(2)
    page.locator("#mute-menu").click()
    expect(page.locator(".mute-1h")).to_be_visible()
    _settled(page)
    page.screenshot(path=str(artifacts_dir / f"mute-menu-{size}-{scheme}.png"))
    page.locator(".mute-1d").click()
    expect(page.locator("#chat-muted")).to_contain_text("Muted until")
    expect(page.locator("#mute-menu-status")).to_have_count(0)  # the menu has closed
    _no_horizontal_overflow(page)
    if size == "phone":
        # No badge beside the name on a phone (it cut the name to one letter): the bell-off
        # says it, its menu says until when.
        expect(page.locator("#chat-muted")).to_be_hidden()
        name = page.locator("#chat-counterparty").bounding_box()
        assert name is not None and name["width"] >= 80, name
    else:
        expect(page.locator("#chat-muted")).to_be_visible()
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts_dir / f"thread-muted-{size}-{scheme}.png"))
    page.locator("#mute-menu").click()
    expect(page.locator("#mute-menu-status")).to_contain_text("Muted until")
    expect(page.locator(".unmute")).to_be_visible()
    _settled(page)
    page.screenshot(path=str(artifacts_dir / f"mute-menu-muted-{size}-{scheme}.png"))
    page.keyboard.press("Escape")
    page.locator("#nav-inbox").click()
    row = page.locator(f'.thread-row[data-thread-id="{pair.thread_id}"]')
    expect(row.locator(".thread-muted")).to_be_visible()
    _no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts_dir / f"inbox-muted-{size}-{scheme}.png"))
    context.close()


def _pair_page(browser: Browser, base: str, email: str, size: str, scheme: str) -> Page:
    context = browser.new_context(viewport=SIZES[size], color_scheme=scheme)  # type: ignore[arg-type]
    context.set_default_timeout(20_000)
    page = context.new_page()
    log_in(page, base, email, factories.PASSWORD)
    return page


def test_thread_ending_in_images_screens(
    live_server: str, browser: Browser, e2e_database_url: str, artifacts_dir: Path
) -> None:
    """The operator's last messages are two photos: the owner lands at the bottom, the
    thumbnails whole, at both widths and in both themes."""
    engine = dbmod.get_engine(e2e_database_url)
    pair = factories.Pair(engine)
    for body in ("Here are the photos you asked for.", "The kitchen, then the view."):
        messages.send_message(
            user_id=pair.operator.id, thread_id=pair.thread_id, body=body, db=engine
        )
    sender = _pair_page(browser, live_server, pair.operator.email, "desktop", "light")
    sender.goto(f"{live_server}/threads/{pair.thread_id}")
    for i in range(2):
        payload = files.image("PNG", size=(1200, 900))
        # As a person would: the next pick once the paperclip is free again (the previous
        # upload's request has ended; Reflex drops a pick made before).
        expect(sender.locator("#attach-button")).to_be_enabled(timeout=30_000)
        sender.set_input_files(
            "#attachment-upload input[type=file]",
            files=[FilePayload(name=f"photo-{i}.png", mimeType="image/png", buffer=payload)],
        )
        expect(sender.locator(".attachment-thumb")).to_have_count(i + 1, timeout=30_000)
    sender.context.close()

    for size in sorted(SIZES):
        for scheme in ("light", "dark"):
            page = _pair_page(browser, live_server, pair.owner.email, size, scheme)
            page.goto(f"{live_server}/threads/{pair.thread_id}")
            thumbs = page.locator("#message-list .attachment-thumb")
            expect(thumbs).to_have_count(2)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.attachment-thumb')]"
                ".every(i => i.complete && i.naturalWidth > 0)"
            )
            gap = page.evaluate(
                "() => { const l = document.getElementById('message-list');"
                " return l.scrollHeight - l.scrollTop - l.clientHeight; }"
            )
            assert gap <= 2, (size, scheme, gap)
            expect(thumbs.last).to_be_in_viewport()
            _no_horizontal_overflow(page)
            page.screenshot(path=str(artifacts_dir / f"thread-images-{size}-{scheme}.png"))
            page.context.close()


def test_offline_screens(
    restartable: tuple[LiveServer, str],  # noqa: F811 (the fixture imported above)
    browser: Browser,
    artifacts_dir: Path,
) -> None:
    """The backend goes away (as in test_reconnect.py): the banner at the top, a message typed
    meanwhile waiting in the list, the composer uncovered, at both widths and themes."""
    server, _url = restartable
    pages: dict[tuple[str, str], Page] = {}
    for size in sorted(SIZES):
        for scheme in ("light", "dark"):
            page = signed_in_page(
                browser,
                server.url,
                "alice@demo.arbibase.test",
                viewport=SIZES[size],
                color_scheme=scheme,
            )
            open_thread(page, "Bayview 3BR Townhouse")
            expect(page.locator("#message-list .message").first).to_be_visible()
            pages[(size, scheme)] = page
    server.stop()
    for (size, scheme), page in pages.items():
        expect(page.locator("#offline-banner")).to_be_visible(timeout=30_000)
        send(page, "Typed while the connection was down")
        expect(page.locator("#message-list .offline-pending")).to_contain_text(
            "Waiting for connection"
        )
        banner = page.locator("#offline-banner").bounding_box()
        composer = page.locator("#composer-form").bounding_box()
        assert banner is not None and composer is not None
        assert banner["y"] + banner["height"] <= composer["y"], (banner, composer)
        _no_horizontal_overflow(page)
        page.mouse.move(0, 0)
        page.screenshot(path=str(artifacts_dir / f"thread-offline-{size}-{scheme}.png"))
        page.context.close()
