"""Actions a user takes in the browser, shared by the end-to-end tests."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, BrowserContext, Page, expect

from arbibase_chat.seed import DEMO_PASSWORD

INBOX_URL = re.compile(r"/inbox/?$")
THREAD_URL = re.compile(r"/threads/[0-9a-f-]{36}/?$")


def log_in(page: Page, base: str, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(INBOX_URL)


def signed_in_page(browser: Browser, base: str, email: str, **context_args: object) -> Page:
    context: BrowserContext = browser.new_context(
        viewport=context_args.pop("viewport", {"width": 1280, "height": 800}),  # type: ignore[arg-type]
        **context_args,  # type: ignore[arg-type]
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, base, email)
    return page


def open_thread(page: Page, property_title: str) -> None:
    page.locator(".thread-row", has_text=property_title).first.click()
    expect(page).to_have_url(THREAD_URL)
    expect(page.locator("#message-list")).to_be_visible()


def send(page: Page, text: str) -> None:
    composer = page.locator("#composer")
    composer.fill(text)
    composer.press("Enter")


def bubble(page: Page, text: str):
    return page.locator("#message-list .message", has_text=text)


def slow_uplink(page: Page, bytes_per_second: int = 1 << 20) -> None:
    """Chromium's own network throttling (as DevTools does it) on the page's uploads: a big
    file then takes seconds, long enough to watch a progress bar move."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


def record_upload_progress(page: Page) -> None:
    """The page records every value the composer's upload bar shows in `window.__progress`
    (polling from the test could miss them)."""
    page.evaluate(
        """() => {
            window.__progress = [];
            new MutationObserver(() => {
                const bar = document.querySelector('#upload-progress [role=progressbar]');
                const v = bar && (bar.getAttribute('aria-valuenow') ?? bar.dataset.value);
                if (v != null) window.__progress.push(Number(v));
            }).observe(document.body, {subtree: true, childList: true, attributes: true});
        }"""
    )
