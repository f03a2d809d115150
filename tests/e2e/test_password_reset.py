"""Forgotten password, in the browser (issue #13): "Forgot password?" on the login page, the
link read from the live server's log (no SMTP: the e-mail goes to MAIL_DIR and the link is
printed), a new password, then logging in with it, while a session of the old password
elsewhere ends; at 1280x800 and 375x812. Screenshots of
/forgot and /reset, light and dark, in test-artifacts/."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from arbibase_chat import db as dbmod
from arbibase_chat.services import accounts
from tests.e2e.helpers import INBOX_URL, log_in

pytestmark = [pytest.mark.browser]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
OLD = "the old password 1"
NEW = "the new password 2"


def _page(browser: Browser, size: str, scheme: str = "light") -> Page:
    context = browser.new_context(viewport=SIZES[size], color_scheme=scheme)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    return context.new_page()


def _no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"  # type: ignore[index]


def _link_from_log(log: Path, email: str, timeout: float = 15.0) -> str:
    """The reset link the server printed for `email` (the newest one)."""
    pattern = re.compile(
        re.escape(f"password reset link for {email} ") + r"\(.*?\): (\S+/reset\?token=[0-9a-f]{64})"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.findall(log.read_text(errors="replace"))
        if found:
            return str(found[-1])
        time.sleep(0.2)
    raise AssertionError(f"no reset link for {email} in {log}")


def _request_link(page: Page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page).to_have_url(re.compile(r"/forgot/?$"))
    expect(page.locator("#forgot-submit:not([disabled])")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.locator("#forgot-submit").click()
    expect(page.locator("#forgot-sent")).to_contain_text(
        "If an account exists for that address, we sent a link"
    )


@pytest.mark.parametrize("size", sorted(SIZES))
def test_forgot_then_reset_then_log_in_with_the_new_password(
    live_server: str, e2e_database_url: str, browser: Browser, live_server_log: Path, size: str
) -> None:
    email = f"reset-{uuid.uuid4().hex[:10]}@example.com"
    accounts.sign_up(
        email=email,
        password=OLD,
        display_name="Rita Reset",
        db=dbmod.get_engine(e2e_database_url),
    )
    # Signed in elsewhere with the old password (say, a stolen session): the reset ends it.
    elsewhere = _page(browser, size)
    log_in(elsewhere, live_server, email, OLD)
    expect(elsewhere.locator("#inbox-empty")).to_be_visible()
    page = _page(browser, size)
    _request_link(page, live_server, email)
    _no_horizontal_overflow(page)
    link = _link_from_log(live_server_log, email)
    # The link names PUBLIC_URL; the page is the same on the test server.
    path = link[link.index("/reset?token=") :]

    page.goto(live_server + path)
    expect(page.locator("#reset-submit:not([disabled])")).to_be_visible()
    page.get_by_label("New password (at least 10 characters)").fill(NEW)
    page.get_by_label("Repeat the new password").fill(NEW + "x")
    page.locator("#reset-submit").click()
    expect(page.locator("#auth-error")).to_contain_text("not the same")
    page.get_by_label("Repeat the new password").fill(NEW)
    page.locator("#reset-submit").click()
    expect(page).to_have_url(re.compile(r"/login/?$"))
    expect(page.locator("#auth-notice")).to_contain_text("Your password was changed")
    _no_horizontal_overflow(page)
    elsewhere.reload()
    expect(elsewhere).to_have_url(re.compile(r"/login"))
    elsewhere.context.close()

    # The old password no longer works; the new one does.
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(OLD)
    page.locator("#login-submit").click()
    expect(page.locator("#auth-error")).to_contain_text("Wrong e-mail or password.")
    page.get_by_label("Password").fill(NEW)
    page.locator("#login-submit").click()
    expect(page).to_have_url(INBOX_URL)

    # The link worked once.
    page.goto(live_server + path)
    expect(page.locator("#reset-submit:not([disabled])")).to_be_visible()
    page.get_by_label("New password (at least 10 characters)").fill("another one 3456")
    page.get_by_label("Repeat the new password").fill("another one 3456")
    page.locator("#reset-submit").click()
    expect(page.locator("#auth-error")).to_contain_text("invalid, expired or already used")
    expect(page.locator("#reset-new-link")).to_be_visible()
    page.context.close()


def test_an_unknown_address_gets_the_same_page(
    live_server: str, browser: Browser, live_server_log: Path
) -> None:
    email = f"ghost-{uuid.uuid4().hex[:10]}@example.com"
    page = _page(browser, "desktop")
    _request_link(page, live_server, email)
    page.wait_for_timeout(500)
    assert email not in live_server_log.read_text(errors="replace")
    page.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", sorted(SIZES))
def test_forgot_and_reset_screens(
    live_server: str, browser: Browser, artifacts_dir: Path, size: str, scheme: str
) -> None:
    page = _page(browser, size, scheme)
    page.goto(live_server + "/forgot")
    expect(page.locator("#forgot-submit:not([disabled])")).to_be_visible()
    _no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts_dir / f"forgot-{size}-{scheme}.png"))
    page.get_by_label("Email").fill(f"shot-{uuid.uuid4().hex[:10]}@example.com")
    page.locator("#forgot-submit").click()
    expect(page.locator("#forgot-sent")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / f"forgot-sent-{size}-{scheme}.png"))
    page.goto(live_server + "/reset?token=" + "f" * 64)
    expect(page.locator("#reset-submit:not([disabled])")).to_be_visible()
    _no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts_dir / f"reset-{size}-{scheme}.png"))
    page.get_by_label("New password (at least 10 characters)").fill("long enough pass")
    page.get_by_label("Repeat the new password").fill("long enough pass")
    page.locator("#reset-submit").click()
    expect(page.locator("#reset-new-link")).to_be_visible()
    _no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts_dir / f"reset-invalid-{size}-{scheme}.png"))
    page.goto(live_server + "/login")
    expect(page.locator("#forgot-link")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / f"login-forgot-{size}-{scheme}.png"))
    page.context.close()
