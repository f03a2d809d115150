"""An e-mail's links in a real browser. The offer link: signed out, it goes through the login
page and back; opening it changes nothing (link scanners open links too); the button accepts.
The unsubscribe link: a page that asks; its button mutes."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlmodel import col

from arbibase_chat import db as dbmod
from arbibase_chat.models import MUTED_FOREVER, MessagingOffer, Participant
from arbibase_chat.services import email_tokens, offers, properties
from tests import factories

pytestmark = [pytest.mark.browser]

START = (date.today() + timedelta(days=30)).isoformat()


def _status(engine, offer_id: uuid.UUID) -> str:
    with dbmod.read_session(engine) as session:
        return str(
            session.scalar(
                select(col(MessagingOffer.status)).where(col(MessagingOffer.id) == offer_id)
            )
        )


def test_opening_the_link_changes_nothing_and_the_button_accepts(
    live_server: str, browser: Browser, e2e_database_url: str
) -> None:
    engine = dbmod.get_engine(e2e_database_url)
    operator = factories.user(engine, "operator", name="Lena Operator")
    owner = factories.user(engine, "owner", name="Omar Owner")
    prop = properties.create_property(
        user_id=owner.id,
        data={"title": f"Bay Loft {uuid.uuid4().hex[:5]}", "address": "9 Bay St", "city": "Tampa"},
        db=engine,
    )
    sent = offers.send_offer(
        user_id=operator.id,
        property_id=prop.id,
        terms={"monthlyRent": 2150, "leaseMonths": 18, "startDate": START},
        db=engine,
    )
    link = f"{live_server}/offers/{sent.offer_id}?action=accept"
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        # Signed out: the login page, which comes back to the link afterwards.
        page.goto(link)
        expect(page).to_have_url(re.compile(r"/login\?next=/offers/"))
        page.get_by_label("Email").fill(owner.email)
        page.get_by_label("Password").fill(factories.PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(rf"/offers/{sent.offer_id}\?action=accept$"))
        expect(page.locator("#offer-confirm-headline")).to_contain_text("$2,150/mo")
        expect(page.locator("#offer-confirm-status")).to_have_text("Awaiting answer")
        button = page.locator("#offer-confirm-button")
        expect(button).to_have_text("Accept this offer")
        # Loaded twice (a scanner, a preview, a reload): still open.
        page.reload()
        expect(button).to_be_visible()
        assert _status(engine, sent.offer_id) == "sent"
        button.click()
        expect(page.locator("#offer-confirm-done")).to_have_text("You accepted this offer.")
        expect(page.locator("#offer-confirm-status")).to_have_text("Accepted")
        assert _status(engine, sent.offer_id) == "accepted"
        expect(button).to_have_count(0)
    finally:
        context.close()


def test_a_link_to_someone_elses_offer_shows_not_found(
    live_server: str, browser: Browser, e2e_database_url: str
) -> None:
    engine = dbmod.get_engine(e2e_database_url)
    pair = factories.Pair(engine)
    sent = offers.send_offer(
        user_id=pair.operator.id,
        property_id=pair.property.id,
        terms={"monthlyRent": 1999, "leaseMonths": 12, "startDate": START},
        db=engine,
    )
    stranger = factories.user(engine, "owner")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login?next=//evil.example/x")
        page.get_by_label("Email").fill(stranger.email)
        page.get_by_label("Password").fill(factories.PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/inbox/?$"))  # not another site
        page.goto(f"{live_server}/offers/{sent.offer_id}?action=accept")
        expect(page.locator("#offer-not-found")).to_be_visible()
        expect(page.get_by_text("$1,999/mo")).to_have_count(0)
        assert _status(engine, sent.offer_id) == "sent"
    finally:
        context.close()


def test_the_unsubscribe_page_asks_and_its_button_mutes(
    live_server: str, browser: Browser, e2e_database_url: str
) -> None:
    """The e-mail footer's link in a browser (no session): the page changes nothing; its
    button (a plain form POST, allowed by the page's CSP) mutes the thread until unmuted."""
    engine = dbmod.get_engine(e2e_database_url)
    pair = factories.Pair(engine)
    with dbmod.write_session(engine) as session:
        token = email_tokens.issue_in(session, user_id=pair.owner.id, thread_id=pair.thread_id)

    def muted_until() -> object:
        with dbmod.read_session(engine) as session:
            return session.scalar(
                select(col(Participant.muted_until)).where(
                    col(Participant.thread_id) == pair.thread_id,
                    col(Participant.user_id) == pair.owner.id,
                )
            )

    context = browser.new_context()
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/api/email/unsubscribe/{token}")
        expect(page.get_by_role("heading")).to_have_text("Stop e-mails about this conversation?")
        page.reload()
        assert muted_until() is None
        page.locator("#confirm-unsubscribe").click()
        expect(page.get_by_role("heading")).to_have_text("Conversation muted")
        assert muted_until() == MUTED_FOREVER
    finally:
        context.close()
