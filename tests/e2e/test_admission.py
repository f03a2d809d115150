"""Admission before the state lock (arbibase_chat/admission.py), live over a raw socket.

A burst of sends from one tab, past the worker's bound of sends in flight
(MAX_SENDS_IN_FLIGHT, 32 here), is split exactly in two: each admitted send shows a bubble
(pending, then sent, or failed when the per-user send limit refuses it), each refused one
gets only the "busy" toast, with no state delta at all; and the database holds exactly the
sent ones.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from arbibase_chat.aio import BUSY
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.services import messages
from tests import factories
from tests.e2e.rawsocket import state_name, thread_tab
from tests.factories import Pair

pytestmark = [pytest.mark.browser]  # a live server (the e2e group)

BURST = 120


def _busy_only(update: dict) -> bool:
    return not update.get("delta") and BUSY in json.dumps(update.get("events") or [])


async def test_a_burst_past_the_bound_is_refused_at_the_socket(
    live_server: str, e2e_database_url: str
) -> None:
    from arbibase_chat import db as dbmod

    engine = dbmod.get_engine(e2e_database_url)
    pair = Pair(engine)
    tab = await thread_tab(live_server, pair.operator.email, factories.PASSWORD, pair.thread_id)
    chat = state_name(ChatState)
    tag = uuid.uuid4().hex[:6]
    try:
        before = len(tab.updates)
        await asyncio.gather(
            *(
                tab.emit(chat, "send", {"form_data": {"body": f"burst {tag} {i}"}})
                for i in range(BURST)
            )
        )
        await tab.settle(quiet=1.5, limit=60)
        pushed = tab.updates[before:]
        busy = sum(1 for u in pushed if _busy_only(u))
        items = tab.messages(chat)
        mine = [
            item
            for item in items
            if "".join(s["text"] for s in item["segments"]).startswith(f"burst {tag} ")
        ]
        bodies = ["".join(s["text"] for s in item["segments"]) for item in mine]
        assert len(bodies) == len(set(bodies))
        # Every send is either a bubble or a busy answer, never both, never neither.
        assert busy > 0, "the burst never reached the bound"
        assert len(mine) + busy == BURST, (len(mine), busy)
        assert all(item["status"] in ("sent", "failed") for item in mine)
        stored = [
            m.body or ""
            for m in messages.list_messages(
                user_id=pair.operator.id, thread_id=pair.thread_id, limit=100, db=engine
            )
            if (m.body or "").startswith(f"burst {tag} ")
        ]
        sent = sorted(
            "".join(s["text"] for s in item["segments"])
            for item in mine
            if item["status"] == "sent"
        )
        assert sorted(stored) == sent
    finally:
        await tab.close()
