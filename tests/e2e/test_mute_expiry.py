"""A timed mute that runs out while the page is open (issue #13 leftovers): the header's
"Muted until …" and bell-off, and the inbox row's bell-off, turn back by themselves at the
expiry instant (assets/chat.js reloads the header and the list then), no reload needed.

The mute is set through the service and then shortened in the database to end seconds from
now (the service offers hours), as tests/services/test_mutes.py does.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import update

from arbibase_chat import db as dbmod
from arbibase_chat.db import utcnow
from arbibase_chat.models import Participant
from arbibase_chat.services import messages, mutes
from tests import factories
from tests.e2e.helpers import log_in

pytestmark = [pytest.mark.browser]

MUTE_SECONDS = 12


def _page(browser: Browser, base: str, email: str, viewport: dict[str, int]) -> Page:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, base, email, factories.PASSWORD)
    return page


def test_an_ending_mute_turns_back_without_a_reload(
    live_server: str, browser: Browser, e2e_database_url: str
) -> None:
    engine = dbmod.get_engine(e2e_database_url)
    pair = factories.Pair(engine)
    messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body="Any news?", db=engine
    )
    mutes.set_mute(user_id=pair.owner.id, thread_id=pair.thread_id, duration="1h", db=engine)
    ends = utcnow() + timedelta(seconds=MUTE_SECONDS)
    with dbmod.write_session(engine) as session:
        session.execute(
            update(Participant)
            .where(Participant.user_id == pair.owner.id)  # type: ignore[arg-type]
            .where(Participant.thread_id == pair.thread_id)  # type: ignore[arg-type]
            .values(muted_until=ends)
        )
    started = time.monotonic()

    # The thread (its header, and the list beside it) on a desktop; the inbox on a phone.
    desk = _page(browser, live_server, pair.owner.email, {"width": 1280, "height": 800})
    desk.goto(f"{live_server}/threads/{pair.thread_id}")
    phone = _page(browser, live_server, pair.owner.email, {"width": 375, "height": 812})
    header = desk.locator("#chat-muted")
    desk_row = desk.locator(f'.thread-row[data-thread-id="{pair.thread_id}"] .thread-muted')
    phone_row = phone.locator(f'.thread-row[data-thread-id="{pair.thread_id}"]')
    expect(header).to_contain_text("Muted until")
    expect(desk_row).to_be_visible()
    expect(phone_row.locator(".thread-muted")).to_be_visible()
    left = MUTE_SECONDS - (time.monotonic() - started)
    assert left > 1, f"the pages took too long to open ({left:.1f}s of the mute left)"

    # No reload: the labels go within seconds of the end.
    expect(header).to_have_count(0, timeout=(left + 10) * 1000)
    expect(desk_row).to_have_count(0, timeout=5_000)
    expect(phone_row.locator(".thread-muted")).to_have_count(0, timeout=5_000)
    expect(desk.locator("#mute-menu")).not_to_have_attribute("data-muted-until", re.compile("."))
    gone = time.monotonic() - started
    print(f"\n[mute expiry] labels gone {gone - MUTE_SECONDS:.1f}s after the mute ended")
    # The bell's menu no longer offers "Unmute".
    desk.locator("#mute-menu").click()
    expect(desk.locator(".mute-1h")).to_be_visible()
    expect(desk.locator(".unmute")).to_have_count(0)
    for page in (desk, phone):
        page.context.close()
