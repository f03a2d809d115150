"""Supabase mode in a real browser: people whose accounts live in (a stand-in of) Supabase Auth
sign in on the login page, negotiate live, and a lease PDF goes through Supabase Storage.

The stand-in (tests/supabase_adapters/standin.py) is a local HTTP server speaking GoTrue's and
storage-api's wire format; the app server talks to it through supabase-py exactly as it would
to a real project.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, expect
from sqlmodel import Session, col, select

from arbibase_chat import db as dbmod
from arbibase_chat import migrations
from arbibase_chat.models import User
from arbibase_chat.services import properties, threads
from tests import files
from tests.e2e.helpers import INBOX_URL, bubble, send
from tests.e2e.server import LiveServer, server_env
from tests.supabase_adapters.standin import SupabaseStandIn

pytestmark = [pytest.mark.browser]

PASSWORD = "supabase-password-1"
FILE_INPUT = "#attachment-upload input[type=file]"


@pytest.fixture
def project() -> Iterator[SupabaseStandIn]:
    standin = SupabaseStandIn(jwt_secret=secrets.token_urlsafe(48)).start()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture
def supabase_server(
    project: SupabaseStandIn, tmp_path: Path, artifacts_dir: Path
) -> Iterator[tuple[LiveServer, str]]:
    url = f"sqlite:///{tmp_path / 'supabase-mode.db'}"
    migrations.upgrade(url)  # no demo data: every account lives in Supabase
    env = server_env(
        url,
        tmp_path,
        tmp_path / "web",
        {
            "SUPABASE_URL": project.url,
            "SUPABASE_ANON_KEY": project.anon_key,
            "SUPABASE_SERVICE_ROLE_KEY": project.service_role_key,
            "SUPABASE_JWT_SECRET": project.jwt_secret,
        },
    )
    server = LiveServer(env=env, log_path=artifacts_dir / "e2e-supabase-server.log")
    server.start()
    try:
        server.wait_ready()
        yield server, url
    finally:
        server.stop()
        dbmod.dispose_engine(url)


def _sign_in(browser: Browser, base: str, email: str, password: str = PASSWORD):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    return page


def _local_id(url: str, email: str) -> uuid.UUID:
    with Session(dbmod.get_engine(url)) as session:
        found = session.exec(select(User.id).where(col(User.email) == email)).first()
    assert found is not None, f"no local row for {email}"
    return found


def test_supabase_users_sign_in_negotiate_and_share_a_file(
    supabase_server: tuple[LiveServer, str], project: SupabaseStandIn, browser: Browser
) -> None:
    server, url = supabase_server
    project.create_user(
        "sam@operators.example",
        PASSWORD,
        user_metadata={"display_name": "Sam", "role": "operator"},
        app_metadata={"tier": "pro"},  # file sharing is a Pro feature of the operator's plan
    )
    project.create_user(
        "olga@owners.example",
        PASSWORD,
        user_metadata={"display_name": "Olga", "role": "owner"},
        app_metadata={"verified": True},
    )

    # A wrong password is refused on the page, as Supabase answers it.
    intruder = _sign_in(browser, server.url, "sam@operators.example", "not-the-password")
    expect(intruder.get_by_text("Wrong e-mail or password.", exact=False)).to_be_visible()
    intruder.context.close()

    # First sign-in through Supabase Auth makes each local row.
    sam = _sign_in(browser, server.url, "sam@operators.example")
    expect(sam).to_have_url(INBOX_URL)
    olga = _sign_in(browser, server.url, "olga@owners.example")
    expect(olga).to_have_url(INBOX_URL)

    # Sam makes an offer on Olga's listing (as the ROI calculator's "Send Offer" would).
    engine = dbmod.get_engine(url)
    sam_id, olga_id = _local_id(url, "sam@operators.example"), _local_id(url, "olga@owners.example")
    listing = properties.create_property(
        user_id=olga_id,
        data={"title": "Harbor Loft", "address": "1 Pier Rd", "city": "Tampa"},
        db=engine,
    )
    thread = threads.get_or_create_thread(
        user_id=sam_id, property_id=listing.id, owner_id=olga_id, subject="Lease", db=engine
    )
    for page in (sam, olga):
        page.goto(f"{server.url}/threads/{thread.id}")
        expect(page.locator("#message-list")).to_be_visible()

    send(sam, "Would you take 2,400 a month?")
    expect(bubble(olga, "Would you take 2,400 a month?")).to_have_count(1)
    send(olga, "2,600 and it is yours.")
    expect(bubble(sam, "2,600 and it is yours.")).to_have_count(1)

    # Olga's lease PDF goes to Supabase Storage under the thread's folder; Sam downloads it
    # through the app, which checks him and then redirects to a short-lived signed URL.
    lease = files.pdf()
    olga.set_input_files(
        FILE_INPUT,
        files=[FilePayload(name="lease.pdf", mimeType="application/pdf", buffer=lease)],
    )
    chip = sam.locator("#message-list .attachment-chip", has_text="lease.pdf").last
    expect(chip).to_be_visible()
    stored = [key for key in project.objects() if key.startswith(f"{thread.id}/")]
    assert len(stored) == 1
    href = chip.get_attribute("href")
    assert href
    response = sam.request.get(server.url + href)
    assert response.status == 200 and response.body() == lease
    assert response.url.startswith(project.url + "/storage/v1/object/sign/")
    sam.context.close()
    olga.context.close()
