"""Words people read: a taken e-mail on sign-up offers "Log in instead" (and the login page
it leads to starts clean); an unknown address shows a styled page with a way to the inbox."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import INBOX_URL, log_in

pytestmark = [pytest.mark.browser]


def test_a_taken_email_offers_log_in_instead(live_server: str, page: Page) -> None:
    page.goto(live_server + "/signup")
    expect(page.locator("#signup-submit:not([disabled])")).to_be_visible()
    page.get_by_label("Your name").fill("Olivia Again")
    page.get_by_label("Email").fill("Olivia@Demo.Arbibase.test")
    page.get_by_label("Password (at least 10 characters)").fill("a long enough password")
    page.locator("#signup-submit").click()
    expect(page.locator("#auth-error")).to_contain_text(
        "An account with this e-mail already exists."
    )
    page.locator("#login-instead").click()
    expect(page).to_have_url(re.compile(r"/login/?$"))
    expect(page.locator("#auth-error")).to_have_count(0)  # the sign-up's error stays behind
    log_in(page, live_server, "olivia@demo.arbibase.test")


@pytest.mark.parametrize("width", [1280, 375])
def test_an_unknown_address_shows_a_styled_not_found_page(
    live_server: str, page: Page, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 812})
    page.goto(live_server + "/no/such/page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page).to_have_title("Page not found · ArbiBase Chat")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.locator("#not-found-inbox").click()
    # Signed out, the inbox sends to the login page; signed in it is the inbox itself.
    expect(page).to_have_url(re.compile(r"/(login|inbox)/?$"))
    log_in(page, live_server, "olivia@demo.arbibase.test")
    page.goto(live_server + "/threads/not-a-thread/nor-this")
    page.locator("#not-found-inbox").click()
    expect(page).to_have_url(INBOX_URL)
