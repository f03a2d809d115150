"""A demo user logs in with the browser and sees their threads; the others do not leak."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from arbibase_chat import db as dbmod
from arbibase_chat.seed import DEMO_PASSWORD
from arbibase_chat.services import accounts, inbox, reads

pytestmark = [pytest.mark.browser]


def _log_in(page: Page, base: str, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login/?$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_demo_operator_logs_in_and_sees_their_threads(
    live_server: str, e2e_database_url: str, page: Page, artifacts_dir: Path
) -> None:
    _log_in(page, live_server, "alice@demo.arbibase.test")
    expect(page).to_have_url(re.compile(r"/inbox/?$"))
    # What the services say Alice's inbox is (other tests may have chatted meanwhile).
    engine = dbmod.get_engine(e2e_database_url)
    alice = accounts.authenticate(
        email="alice@demo.arbibase.test", password=DEMO_PASSWORD, db=engine
    )
    truth = inbox.list_threads(user_id=alice.id, status="active", db=engine).items
    assert {t.property_title for t in truth} == {"Lakeside Cottage", "Bayview 3BR Townhouse"}
    rows = page.locator(".thread-row")
    expect(rows).to_have_count(len(truth))
    for i, thread in enumerate(truth):  # newest activity first, as the services order them
        expect(rows.nth(i)).to_contain_text(thread.property_title)
        expect(rows.nth(i)).to_contain_text(thread.counterparty_name)
        for tag in thread.tags:
            expect(rows.nth(i)).to_contain_text(tag)
        badge = rows.nth(i).locator(".thread-unread")
        if thread.unread_count:
            expect(badge).to_have_text(str(thread.unread_count))
        else:
            expect(badge).to_have_count(0)
    total = reads.unread_total(user_id=alice.id, db=engine)
    if total:
        expect(page.locator("#nav-unread-total")).to_have_text(str(total))
    # Ben's thread with Olivia is not Alice's business.
    expect(page.get_by_text("Midtown 2BR Loft")).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "inbox-desktop.png"), full_page=True)

    # A reload keeps the session (token in localStorage, identity re-derived on the server).
    page.reload()
    expect(page.locator(".thread-row")).to_have_count(2)
    page.set_viewport_size({"width": 375, "height": 740})
    page.screenshot(path=str(artifacts_dir / "inbox-phone.png"), full_page=True)

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/?$"))
    page.goto(live_server + "/inbox")
    expect(page).to_have_url(re.compile(r"/login/?$"))


def test_wrong_password_shows_a_clear_error(live_server: str, page: Page) -> None:
    _log_in(page, live_server, "olivia@demo.arbibase.test", "not the password")
    expect(page.locator("#auth-error")).to_contain_text("Wrong e-mail or password.")
    expect(page).to_have_url(re.compile(r"/login/?$"))


def test_sign_up_lands_on_an_empty_inbox(live_server: str, page: Page) -> None:
    page.goto(live_server + "/signup")
    page.get_by_label("Your name").fill("Nina New")
    page.get_by_label("Email").fill("nina@example.com")
    page.get_by_label("Password (at least 10 characters)").fill("a strong password")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/inbox/?$"))
    expect(page.locator("#inbox-empty")).to_be_visible()
    expect(page.locator("#nav-user-name")).to_have_text("Nina New")


@pytest.mark.parametrize("path", ["/login", "/signup"])
def test_a_password_never_goes_into_the_url_before_the_page_is_live(
    live_server: str, browser: Browser, path: str
) -> None:
    """Before the page is connected the form has no handler: a click would submit it natively
    (a GET with the password in the URL). The button waits, and the form says POST."""
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server + path)
        form = page.locator("form")
        assert form.get_attribute("method") == "post"
        expect(page.locator("button[type=submit]")).to_be_disabled()
    finally:
        context.close()
