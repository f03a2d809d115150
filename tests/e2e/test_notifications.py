"""Browser notifications and mute (issue #12, part 3), in Chromium against the live server.

The unread total shows in the tab title and as a badge drawn on the favicon; the settings
switch asks the Notification permission from its click and never on page load; a hidden tab
gets one notification per thread (tag = thread id) and a chime; a muted thread gives none
and is left out of the navbar total. The other party writes through the REST API (the live
server's own process, so the push is real). Each test has a fresh operator-owner pair: mutes
and unread counts never leak into the tests that share the demo data.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from arbibase_chat import db as dbmod
from tests import factories
from tests.e2e.helpers import log_in
from tests.factories import Pair

pytestmark = [pytest.mark.browser]

# Headless Chromium has no notification UI and no visible/hidden tabs of its own: stand-ins
# that record what the page asks for. `window.__vis` plays the tab's visibility.
FAKE_BROWSER = """
window.__notes = [];
window.__asked = 0;
window.__chimes = 0;
window.__vis = "visible";
window.__permission = "granted";
window.__answer = "granted";
Object.defineProperty(document, "visibilityState", { configurable: true, get: () => window.__vis });
Object.defineProperty(document, "hidden", {
  configurable: true, get: () => window.__vis !== "visible",
});
class FakeNotification {
  constructor(title, options) {
    window.__notes.push({ title, ...(options || {}) });
    window.__lastNote = this;
  }
  close() {}
  static get permission() { return window.__permission; }
  static requestPermission() {
    window.__asked += 1;
    window.__permission = window.__answer;
    return Promise.resolve(window.__answer);
  }
}
window.Notification = FakeNotification;
class FakeAudioContext {
  constructor() { this.state = "running"; this.currentTime = 0; this.destination = {}; }
  resume() { this.state = "running"; return Promise.resolve(); }
  createGain() {
    const param = { setValueAtTime() {}, exponentialRampToValueAtTime() {} };
    return { gain: param, connect() {} };
  }
  createOscillator() {
    return {
      frequency: { setValueAtTime() {} }, connect() {}, stop() {},
      start() { window.__chimes += 1; },
    };
  }
}
window.AudioContext = FakeAudioContext;
"""


@dataclass
class People:
    pair: Pair
    base: str
    operator_token: str

    @property
    def thread_id(self) -> str:
        return str(self.pair.thread_id)

    def operator_says(self, text: str) -> None:
        """The other party writes, through the live server (so the push is real)."""
        response = httpx.post(
            f"{self.base}/api/messages/{self.thread_id}",
            json={"text": text},
            headers={"Authorization": f"Bearer {self.operator_token}"},
        )
        assert response.status_code in (200, 201), response.text


@pytest.fixture
def people(live_server: str, e2e_database_url: str) -> Iterator[People]:
    engine = dbmod.get_engine(e2e_database_url)
    pair = Pair(engine)
    login = httpx.post(
        f"{live_server}/api/auth/login",
        json={"email": pair.operator.email, "password": factories.PASSWORD},
    )
    assert login.status_code == 200, login.text
    yield People(pair=pair, base=live_server, operator_token=login.json()["access_token"])


def owner_page(browser: Browser, people: People, *, fake: bool = True, **context_args: Any) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, **context_args)
    context.set_default_timeout(15_000)
    if fake:
        context.add_init_script(FAKE_BROWSER)
    page = context.new_page()
    log_in(page, people.base, people.pair.owner.email, factories.PASSWORD)
    return page


def hide(page: Page, hidden: bool = True) -> None:
    page.evaluate(
        """hidden => {
            window.__vis = hidden ? "hidden" : "visible";
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


def favicon_href(page: Page) -> str:
    return str(page.locator("link#favicon").get_attribute("href"))


def badge_pixel(page: Page) -> list[int]:
    """The favicon's pixel where the badge is drawn (RGBA)."""
    return page.evaluate(
        """() => new Promise(resolve => {
            const img = new Image();
            img.onload = () => {
                const c = document.createElement("canvas");
                c.width = c.height = 64;
                const ctx = c.getContext("2d");
                ctx.drawImage(img, 0, 0, 64, 64);
                resolve(Array.from(ctx.getImageData(29, 20, 1, 1).data));
            };
            img.src = document.getElementById("favicon").getAttribute("href");
        })"""
    )


def switch(page: Page, name: str):
    return page.get_by_role("switch", name=name)


def turn_on(page: Page, name: str) -> None:
    control = switch(page, name)
    expect(control).to_have_attribute("aria-checked", "false")
    control.click()
    expect(control).to_have_attribute("aria-checked", "true")


# --- title and favicon -----------------------------------------------------------------------


def test_the_title_and_the_favicon_show_the_unread_total(browser: Browser, people: People) -> None:
    page = owner_page(browser, people)
    expect(page.locator(".thread-row")).to_have_count(1)
    expect(page).to_have_title("Inbox · ArbiBase Chat")  # nothing unread: no "(0)"
    assert favicon_href(page) == "/favicon.svg"

    people.operator_says(f"Is the garage included? {uuid.uuid4().hex[:6]}")
    expect(page).to_have_title("(1) Inbox · ArbiBase Chat")
    expect(page.locator("link#favicon")).to_have_attribute("href", re.compile(r"^data:image/png"))
    red, green, blue, alpha = badge_pixel(page)
    assert red > 200 and green < 120 and blue < 120 and alpha == 255, (red, green, blue, alpha)

    people.operator_says("And the yard?")
    expect(page).to_have_title("(2) Inbox · ArbiBase Chat")
    # Another page of the app keeps the count in its own title.
    page.locator("#nav-portfolio").click()
    expect(page).to_have_title("(2) Portfolio · ArbiBase Chat")

    # Reading the thread (a visible tab) brings the plain title and icon back.
    page.goto(f"{people.base}/threads/{people.thread_id}")
    expect(page.locator("#message-list .message")).to_have_count(2)
    expect(page).to_have_title("Conversation · ArbiBase Chat")
    expect(page.locator("link#favicon")).to_have_attribute("href", "/favicon.svg")
    page.context.close()


def test_the_favicon_is_served(live_server: str) -> None:
    ico = httpx.get(f"{live_server}/favicon.ico")
    assert ico.status_code == 200
    assert ico.content[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    svg = httpx.get(f"{live_server}/favicon.svg")
    assert svg.status_code == 200 and b"<svg" in svg.content
    assert base64.b64encode(ico.content)  # not empty


# --- the permission ---------------------------------------------------------------------------


def test_permission_is_asked_from_the_switch_only(browser: Browser, people: People) -> None:
    """Real Notification API (granted to the origin); only requestPermission is counted."""
    context_args = {"permissions": ["notifications"]}
    page = owner_page(browser, people, fake=False, **context_args)
    page.context.add_init_script(
        """window.__asked = 0;
        const ask = Notification.requestPermission.bind(Notification);
        Notification.requestPermission = (...args) => { window.__asked += 1; return ask(...args); };
        """
    )
    page.reload()
    expect(page.locator(".thread-row")).to_have_count(1)
    page.locator("#nav-settings").click()
    expect(page).to_have_url(re.compile(r"/settings/?$"))
    expect(switch(page, "Desktop notifications")).to_be_visible()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__asked") == 0  # never on page load

    turn_on(page, "Desktop notifications")
    page.wait_for_function("window.__asked === 1")
    assert page.evaluate("localStorage.getItem('arbibase_notify_desktop')") == "on"
    expect(page.locator("#notify-blocked")).to_have_count(0)

    page.reload()
    expect(switch(page, "Desktop notifications")).to_have_attribute("aria-checked", "true")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__asked") == 0
    page.context.close()


def test_a_refused_permission_says_blocked(
    browser: Browser, people: People, artifacts_dir: Path
) -> None:
    page = owner_page(browser, people)
    page.evaluate("window.__permission = 'default'; window.__answer = 'denied'")
    page.goto(f"{people.base}/settings")
    page.evaluate("window.__permission = 'default'; window.__answer = 'denied'")
    control = switch(page, "Desktop notifications")
    expect(control).to_have_attribute("aria-checked", "false")
    control.click()
    expect(page.locator("#notify-blocked")).to_contain_text("Blocked by the browser")
    expect(control).to_have_attribute("aria-checked", "false")
    assert page.evaluate("window.__asked") == 1
    page.screenshot(path=str(artifacts_dir / "settings-blocked-desktop-light.png"))
    page.context.close()


# --- notifications and sound ------------------------------------------------------------------


def test_a_hidden_tab_notifies_once_per_thread_and_chimes(browser: Browser, people: People) -> None:
    page = owner_page(browser, people)
    page.goto(f"{people.base}/settings")
    turn_on(page, "Desktop notifications")
    turn_on(page, "Sound")
    chimes = page.evaluate("window.__chimes")  # the switch plays what it will sound like
    assert chimes == 1
    page.locator("#nav-inbox").click()
    expect(page.locator(".thread-row")).to_have_count(1)

    # Visible, on the inbox: a chime (the thread is not open) but no notification.
    people.operator_says("First question")
    expect(page).to_have_title("(1) Inbox · ArbiBase Chat")
    page.wait_for_function("window.__chimes === 2")
    assert page.evaluate("window.__notes") == []

    hide(page)
    people.operator_says("Second question\nwith a second line")
    page.wait_for_function("window.__notes.length === 1")
    people.operator_says("Third question")
    page.wait_for_function("window.__notes.length === 2")
    notes = page.evaluate("window.__notes")
    assert [n["tag"] for n in notes] == [people.thread_id, people.thread_id]
    assert notes[0]["body"] == "Second question with a second line"
    assert notes[1]["body"] == "Third question"
    assert notes[0]["title"] == (
        f"{people.pair.operator.display_name} · {people.pair.property.title}"
    )
    page.wait_for_function("window.__chimes === 4")

    # A reload brings the last alert back with the state: it is not notified twice.
    page.reload()
    expect(page).to_have_title("(3) Inbox · ArbiBase Chat")
    hide(page)
    page.wait_for_timeout(800)
    assert page.evaluate("window.__notes.length") == 0

    # Clicking a notification opens its thread.
    people.operator_says("Fourth question")
    page.wait_for_function("window.__notes.length === 1")
    page.evaluate("window.__lastNote.onclick()")
    expect(page).to_have_url(re.compile(f"/threads/{people.thread_id}/?$"))
    expect(page.locator("#message-list .message")).to_have_count(4)

    # The thread open in a visible tab: neither a notification nor a chime (the click on the
    # composer unlocked the sound).
    hide(page, False)
    page.locator("#composer").click()
    people.operator_says("Seen here")
    expect(page.locator("#message-list .message")).to_have_count(5)
    page.wait_for_timeout(800)
    assert page.evaluate("window.__notes.length") == 1
    assert page.evaluate("window.__chimes") == 0

    # My own messages never notify me.
    hide(page)
    page.locator("#composer").fill("My own answer")
    page.locator("#composer").press("Enter")
    expect(page.locator("#message-list .message.mine")).to_have_count(1)
    page.wait_for_timeout(800)
    assert page.evaluate("window.__notes.length") == 1
    page.context.close()


def test_switches_off_mean_silence(browser: Browser, people: People) -> None:
    page = owner_page(browser, people)
    expect(page.locator(".thread-row")).to_have_count(1)
    hide(page)
    people.operator_says("Nobody hears this")
    expect(page).to_have_title("(1) Inbox · ArbiBase Chat")
    page.wait_for_timeout(800)
    assert page.evaluate("window.__notes.length") == 0
    assert page.evaluate("window.__chimes") == 0
    page.context.close()


# --- mute ---------------------------------------------------------------------------------------


def nav_total(page: Page):
    return page.locator("#nav-unread-total")


def mute(page: Page, choice: str) -> None:
    page.locator("#mute-menu").click()
    page.locator(f".mute-{choice}").click()


def test_a_muted_thread_is_silent_and_out_of_the_total(browser: Browser, people: People) -> None:
    page = owner_page(browser, people)
    page.goto(f"{people.base}/settings")
    turn_on(page, "Desktop notifications")
    turn_on(page, "Sound")

    page.goto(f"{people.base}/threads/{people.thread_id}")
    expect(page.locator("#chat-muted")).to_have_count(0)
    mute(page, "1h")
    expect(page.locator("#chat-muted")).to_contain_text("Muted until")
    expect(page.locator("#mute-menu")).to_be_visible()
    # The inbox row (the list beside the thread) has the bell-off.
    row = page.locator(f'.thread-row[data-thread-id="{people.thread_id}"]')
    expect(row.locator(".thread-muted")).to_have_count(1)

    # The choice is stored: a reload shows it, and "until I unmute" replaces it.
    page.reload()
    expect(page.locator("#chat-muted")).to_contain_text("Muted until")
    mute(page, "forever")
    expect(page.locator("#chat-muted")).to_have_text("Muted")
    page.reload()
    expect(page.locator("#chat-muted")).to_have_text("Muted")

    # On the inbox, hidden: nothing to notify, nothing in the total or the title; the row
    # still counts its own unread messages (in gray).
    page.locator("#nav-inbox").click()
    # (On the inbox before hiding: a hidden thread page would not read the thread later.)
    expect(page).to_have_url(re.compile(r"/inbox/?$"))
    # (The address changes before the thread page unmounts: hidden while it still showed,
    # the tab would tell that page, not the inbox.)
    expect(page.locator("#message-list")).to_have_count(0)
    expect(row).to_be_visible()
    hide(page)
    people.operator_says("Quiet, please")
    expect(row.locator(".thread-unread")).to_have_text("1")
    # A second one: the pushed total is folded from the rows, muted ones left out.
    people.operator_says("Still quiet")
    expect(row.locator(".thread-unread")).to_have_text("2")
    expect(row).to_contain_text("Still quiet")
    page.wait_for_timeout(800)
    expect(nav_total(page)).to_have_count(0)
    expect(page).to_have_title("Inbox · ArbiBase Chat")
    assert page.evaluate("window.__notes.length") == 0
    # (A new document: the click on "Inbox" unlocked its sound, which stayed silent.)
    assert page.evaluate("window.__chimes") == 0
    # A reload agrees (the total from the database leaves the muted thread out).
    page.reload()
    expect(row.locator(".thread-unread")).to_have_text("2")
    expect(row.locator(".thread-muted")).to_have_count(1)
    expect(nav_total(page)).to_have_count(0)

    # Read in a visible tab, then unmuted: the thread counts again and its next message
    # notifies and chimes.
    page.goto(f"{people.base}/threads/{people.thread_id}")
    expect(page.locator("#message-list .message")).to_have_count(2)
    expect(row.locator(".thread-unread")).to_have_count(0)
    page.locator("#mute-menu").click()
    page.locator(".unmute").click()
    expect(page.locator("#chat-muted")).to_have_count(0)
    expect(row.locator(".thread-muted")).to_have_count(0)
    page.locator("#nav-inbox").click()
    expect(page).to_have_url(re.compile(r"/inbox/?$"))
    hide(page)
    people.operator_says("Loud again")
    page.wait_for_function("window.__notes.length === 1")
    assert page.evaluate("window.__notes[0].tag") == people.thread_id
    page.wait_for_function("window.__chimes === 1")
    expect(nav_total(page)).to_have_text("1")
    expect(page).to_have_title("(1) Inbox · ArbiBase Chat")
    page.context.close()


def test_a_tab_hidden_then_reloaded_visible_reads_again(browser: Browser, people: People) -> None:
    """The server's "hidden" outlives the document (a reload keeps the session): the new,
    visible document sets it right, so what arrives is read, not left unread under my eyes."""
    page = owner_page(browser, people)
    page.goto(f"{people.base}/threads/{people.thread_id}")
    expect(page.locator("#message-list")).to_be_visible()
    hide(page)
    expect(page.locator("#tab-held-hidden")).to_have_count(1)
    page.reload()  # a new document: visible
    expect(page.locator("#message-list")).to_be_visible()
    expect(page.locator("#tab-held-hidden")).to_have_count(0)
    people.operator_says("Still there?")
    expect(page.locator("#message-list .message")).to_contain_text(["Still there?"])
    row = page.locator(f'.thread-row[data-thread-id="{people.thread_id}"]')
    page.wait_for_timeout(500)  # the read is pushed with the message, or not at all
    expect(row.locator(".thread-unread")).to_have_count(0)
    page.context.close()


def test_the_email_switch_is_kept_on_the_server(browser: Browser, people: People) -> None:
    page = owner_page(browser, people)
    page.goto(f"{people.base}/settings")
    control = switch(page, "E-mail notifications")
    expect(control).to_have_attribute("aria-checked", "true")  # on unless I opt out
    control.click()
    expect(control).to_have_attribute("aria-checked", "false")
    page.reload()
    expect(switch(page, "E-mail notifications")).to_have_attribute("aria-checked", "false")
    # The REST API reads the same choice.
    token = httpx.post(
        f"{people.base}/api/auth/login",
        json={"email": people.pair.owner.email, "password": factories.PASSWORD},
    ).json()["access_token"]
    found = httpx.get(
        f"{people.base}/api/me/settings", headers={"Authorization": f"Bearer {token}"}
    )
    assert found.status_code == 200 and found.json()["email_enabled"] is False, found.text
    page.context.close()
