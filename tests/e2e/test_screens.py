"""Screenshots of the inbox, a thread (with the seeded offer cards) and the Portfolio at
desktop and phone widths, light and dark.

They land in test-artifacts/ (ignored by git) for a human to look at; the assertions check
that nothing overflows sideways on a 375-px phone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from arbibase_chat import db as dbmod
from arbibase_chat.services import messages
from tests import factories
from tests.e2e.helpers import log_in, open_thread, signed_in_page

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
    page.screenshot(path=str(artifacts_dir / f"mute-menu-{size}-{scheme}.png"))
    page.locator(".mute-1d").click()
    expect(page.locator("#chat-muted")).to_contain_text("Muted until")
    _no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts_dir / f"thread-muted-{size}-{scheme}.png"))
    page.locator("#nav-inbox").click()
    row = page.locator(f'.thread-row[data-thread-id="{pair.thread_id}"]')
    expect(row.locator(".thread-muted")).to_be_visible()
    _no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts_dir / f"inbox-muted-{size}-{scheme}.png"))
    context.close()
