"""The backend goes away mid-conversation; messages are sent meanwhile through the services;
when it is back the open chat panel catches up with no gap and no duplicate."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from arbibase_chat import db as dbmod
from arbibase_chat import migrations
from arbibase_chat.models import ThreadPublic
from arbibase_chat.seed import seed_demo
from arbibase_chat.services import inbox, messages
from tests.e2e.helpers import bubble, open_thread, send, signed_in_page
from tests.e2e.server import LiveServer, server_env

pytestmark = [pytest.mark.browser]


@pytest.fixture
def restartable(tmp_path: Path, artifacts_dir: Path) -> Iterator[tuple[LiveServer, str]]:
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    migrations.upgrade(url)
    seed_demo(dbmod.get_engine(url))
    # Its own frontend build: it runs on another port than the shared live server, and a
    # shared web dir would be rebuilt for this port under the other server's feet.
    env = server_env(url, tmp_path, tmp_path / "web")
    server = LiveServer(env=env, log_path=artifacts_dir / "e2e-restart-server.log")
    server.start()
    server.wait_ready()
    try:
        yield server, url
    finally:
        server.stop()
        dbmod.dispose_engine(url)


def _bayview(url: str, user_id: uuid.UUID) -> ThreadPublic:
    items = inbox.list_threads(user_id=user_id, db=dbmod.get_engine(url)).items
    return next(t for t in items if t.property_title == "Bayview 3BR Townhouse")


def test_panel_catches_up_after_a_backend_restart(
    restartable: tuple[LiveServer, str], browser: Browser
) -> None:
    server, url = restartable
    engine = dbmod.get_engine(url)
    alice = signed_in_page(browser, server.url, "alice@demo.arbibase.test")
    open_thread(alice, "Bayview 3BR Townhouse")
    before = f"before the outage {uuid.uuid4().hex[:6]}"
    send(alice, before)
    expect(bubble(alice, before)).to_have_attribute("data-status", "sent")

    server.stop()
    thread = _bayview(url, alice_id := _alice_id(url))
    olivia_id = thread.counterparty_id
    missed = [f"sent while you were away #{i} {uuid.uuid4().hex[:4]}" for i in range(3)]
    for text in missed:
        messages.send_message(user_id=olivia_id, thread_id=thread.id, body=text, db=engine)

    server.start()  # same port: the page reconnects by itself
    server.wait_ready()
    for text in missed:
        expect(bubble(alice, text)).to_have_count(1, timeout=30_000)
    expect(bubble(alice, before)).to_have_count(1)
    # Order is the server's order, and there is nothing twice.
    seqs = [
        int(s)
        for s in alice.locator("#message-list .message").evaluate_all(
            "els => els.map(e => e.dataset.seq)"
        )
    ]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))

    # Sending works again after the restart (rows written by another process, like the
    # services above, only show up live once the Postgres LISTEN/NOTIFY listener exists).
    after = f"after the outage {uuid.uuid4().hex[:6]}"
    send(alice, after)
    expect(bubble(alice, after)).to_have_attribute("data-status", "sent")
    expect(bubble(alice, after)).to_have_count(1)
    assert alice_id != olivia_id
    alice.context.close()


def _alice_id(url: str) -> uuid.UUID:
    from arbibase_chat.seed import DEMO_PASSWORD
    from arbibase_chat.services import accounts

    return accounts.authenticate(
        email="alice@demo.arbibase.test", password=DEMO_PASSWORD, db=dbmod.get_engine(url)
    ).id
