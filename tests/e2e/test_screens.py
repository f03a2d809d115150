"""Screenshots of the inbox, a thread (with the seeded offer cards) and the Portfolio at
desktop and phone widths, light and dark.

They land in test-artifacts/ (ignored by git) for a human to look at; the assertions check
that nothing overflows sideways on a 375-px phone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.helpers import open_thread, signed_in_page

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
