"""What a send puts into the sender's own tab, live over a raw socket (pages/thread_send.py).

A send that is stored and pushed back quickly arrives once, as sent: no "Sending…" bubble
and no state update for one. A send held up past PENDING_AFTER_SECONDS (here the database is
write-locked by another connection) shows "Sending…" first, then the sent message in its
place, once; one sent while another is storing shows "Sending…" at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from typing import Any

import pytest

from arbibase_chat.pages.thread import ChatState
from arbibase_chat.pages.thread_send import PENDING_AFTER_SECONDS
from arbibase_chat.pages.thread_window import PARTS
from tests import factories
from tests.e2e.rawsocket import FIELD, RawTab, state_name, thread_tab
from tests.factories import Pair

pytestmark = [pytest.mark.browser]  # a live server (the e2e group)


def _statuses(tab: RawTab, since: int, body: str) -> list[list[str]]:
    """For each update since `since` that carried a part of the window holding `body`: the
    statuses of the bubbles with that text in it."""
    chat = state_name(ChatState)
    seen = []
    for update in tab.updates[since:]:
        changes = (update.get("delta") or {}).get(chat) or {}
        parts = [changes[f"{part}{FIELD}"] for part in PARTS if f"{part}{FIELD}" in changes]
        found = [
            item["status"]
            for part in parts
            for item in part
            if "".join(s["text"] for s in item["segments"]) == body
        ]
        if found:
            seen.append(found)
    return seen


async def _tab(live_server: str, pair: Pair) -> RawTab:
    return await thread_tab(live_server, pair.operator.email, factories.PASSWORD, pair.thread_id)


async def _send(tab: RawTab, body: str) -> None:
    await tab.emit(state_name(ChatState), "send", {"form_data": {"body": body}})


async def test_a_quick_send_reaches_its_tab_once_as_sent(
    live_server: str, e2e_database_url: str
) -> None:
    from arbibase_chat import db as dbmod

    pair = Pair(dbmod.get_engine(e2e_database_url))
    tab = await _tab(live_server, pair)
    try:
        body = f"quick {uuid.uuid4().hex[:6]}"
        before = len(tab.updates)
        await _send(tab, body)
        await tab.settle(quiet=0.6)
        assert _statuses(tab, before, body) == [["sent"]]
        assert [v["status"] for v in tab.messages(state_name(ChatState))][-1:] == ["sent"]
    finally:
        await tab.close()


async def test_a_slow_send_shows_sending_first_then_sent_in_its_place(
    live_server: str, e2e_database_url: str
) -> None:
    from arbibase_chat import db as dbmod

    pair = Pair(dbmod.get_engine(e2e_database_url))
    tab = await _tab(live_server, pair)
    path = e2e_database_url.removeprefix("sqlite:///")
    locked, release = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        conn = sqlite3.connect(path, timeout=10)
        try:
            conn.execute("BEGIN IMMEDIATE")
            locked.set()
            release.wait(10)
            conn.rollback()
        finally:
            conn.close()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    try:
        assert await asyncio.to_thread(locked.wait, 10)
        body = f"slow {uuid.uuid4().hex[:6]}"
        before = len(tab.updates)
        await _send(tab, body)
        await asyncio.sleep(PENDING_AFTER_SECONDS * 6)  # the database is still locked
        statuses: list[Any] = _statuses(tab, before, body)
        assert statuses == [["pending"]]
        # A second send while the first is storing waits its turn: "Sending…" at once (with
        # its event's own update), after the first.
        second = f"queued {uuid.uuid4().hex[:6]}"
        await _send(tab, second)
        await asyncio.sleep(PENDING_AFTER_SECONDS * 3)
        assert _statuses(tab, before, second)[:1] == [["pending"]]
        release.set()
        await tab.settle(quiet=0.6)
        statuses = _statuses(tab, before, body)
        assert statuses[0] == ["pending"] and statuses[-1] == ["sent"]
        assert _statuses(tab, before, second)[-1] == ["sent"]
        texts = [
            ("".join(s["text"] for s in v["segments"]), v["status"])
            for v in tab.messages(state_name(ChatState))
        ]
        assert texts[-2:] == [(body, "sent"), (second, "sent")]
    finally:
        release.set()
        holder.join(10)
        await tab.close()
