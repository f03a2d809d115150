"""The rows and totals the hub derives from events equal what a fresh read returns.

Random conversations (sends both ways in two threads, reads, archive / close / reopen, tags)
through the real services; after each step the hub's rows and unread totals are compared
with `get_thread` / `unread_total`, field by field, on both backends.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from arbibase_chat import aio
from arbibase_chat.models import MessagePublic, ThreadPublic
from arbibase_chat.realtime import hub as hub_module
from arbibase_chat.realtime import rows
from arbibase_chat.realtime.hub import Hub
from arbibase_chat.realtime.updates import UserUpdate
from arbibase_chat.services import events, inbox, messages, reads, threads
from arbibase_chat.services.errors import DomainError
from tests import factories
from tests.factories import Pair
from tests.realtime.conftest import Recorder


@pytest.fixture
async def hub_and_recorder(db: Engine, monkeypatch: pytest.MonkeyPatch):
    # Count the rows the hub reads (the test's own reads go through `inbox` directly).
    reads_by_hub: list[uuid.UUID] = []

    def counted_get_thread(**kw: Any) -> ThreadPublic:
        reads_by_hub.append(kw["user_id"])
        return inbox.get_thread(**kw)

    monkeypatch.setattr(hub_module, "inbox", SimpleNamespace(get_thread=counted_get_thread))
    hub = Hub(db=db)
    hub.reads_by_hub = reads_by_hub  # type: ignore[attr-defined]
    recorder = Recorder()
    unsubscribe = hub.start(recorder)
    task = asyncio.create_task(hub.run())
    yield hub, recorder
    unsubscribe()
    task.cancel()


async def _assert_hub_matches_the_database(
    hub: Hub, db: Engine, users: list[uuid.UUID], thread_ids: list[uuid.UUID], step: str
) -> None:
    for user in users:
        for thread_id in thread_ids:
            held = hub._rows.row(user, thread_id)
            if held is None:
                continue
            fresh = await aio.call(inbox.get_thread, user_id=user, thread_id=thread_id, db=db)
            assert held.model_dump() == fresh.model_dump(), step
        total = hub._rows.total(user)
        if total is not None:
            assert total == await aio.call(reads.unread_total, user_id=user, db=db), step


async def test_derived_rows_and_totals_stay_exact_through_random_conversations(
    hub_and_recorder: tuple[Hub, Recorder], db: Engine
) -> None:
    hub, recorder = hub_and_recorder
    pair = Pair(db)
    second = threads.get_or_create_thread(
        user_id=pair.operator.id,
        property_id=factories.listing(db, pair.owner, title="Second listing").id,
        owner_id=pair.owner.id,
        db=db,
    ).id
    users = [pair.operator.id, pair.owner.id]
    thread_ids = [pair.thread_id, second]
    await hub.drained()
    hub.register("operator-tab", pair.operator.id)
    hub.register("owner-tab", pair.owner.id)
    rng = random.Random(20261124)
    for step in range(80):
        user = rng.choice(users)
        thread_id = rng.choice(thread_ids)
        roll = rng.random()
        try:
            if roll < 0.55:
                what = "send"
                await aio.call(
                    messages.send_message,
                    user_id=user,
                    thread_id=thread_id,
                    body=f"step {step} " + "x" * rng.randrange(0, 300),
                    db=db,
                )
            elif roll < 0.8:
                what = "read"
                await aio.call(reads.mark_read, user_id=user, thread_id=thread_id, db=db)
            elif roll < 0.92:
                what = "status"
                await aio.call(
                    threads.update_thread,
                    user_id=user,
                    thread_id=thread_id,
                    status=rng.choice(["active", "archived", "closed", "active"]),
                    db=db,
                )
            else:
                what = "tag"
                await aio.call(
                    threads.update_thread,
                    user_id=user,
                    thread_id=thread_id,
                    add_tags=[rng.choice(["offer", "lease", "urgent"])],
                    db=db,
                )
        except DomainError:
            continue  # e.g. sending into a closed thread: refused, nothing changed
        await hub.drained()
        await _assert_hub_matches_the_database(
            hub, db, users, thread_ids, f"step {step} ({what} by {user} in {thread_id})"
        )
    derived = sum(1 for _, u in recorder.got if isinstance(u, UserUpdate) and u.thread)
    print(f"rows pushed {derived}, rows read by the hub {len(hub.reads_by_hub)}")  # type: ignore[attr-defined]
    assert derived > 50  # the comparison above really ran on many pushed rows
    # ...and most of those rows were derived, not read (reads: first sight, status, tags).
    assert len(hub.reads_by_hub) < derived / 2, (len(hub.reads_by_hub), derived)  # type: ignore[attr-defined]


def _row(**changes: Any) -> ThreadPublic:
    base: dict[str, Any] = {
        "id": uuid.uuid4(),
        "property_id": uuid.uuid4(),
        "operator_id": uuid.uuid4(),
        "owner_id": uuid.uuid4(),
        "subject": None,
        "status": "active",
        "last_message_at": "2026-11-24T10:00:00+00:00",
        "created_at": "2026-11-24T09:00:00+00:00",
        "message_count": 5,
        "unread_count": 2,
        "last_read_seq": 3,
        "counterparty_last_read_seq": 5,
        "tags": [],
        "my_role": "operator",
        "property_title": "Bayview",
        "counterparty_id": uuid.uuid4(),
        "counterparty_name": "Olivia",
        "last_message": None,
    }
    base.update(changes)
    return ThreadPublic.model_validate(base)


def _message(row: ThreadPublic, seq: int, sender: uuid.UUID) -> MessagePublic:
    return MessagePublic.model_validate(
        {
            "id": uuid.uuid4(),
            "thread_id": row.id,
            "sender_id": sender,
            "body": "y" * 400,
            "attachment_url": None,
            "seen_by": [],
            "created_at": "2026-11-24T11:00:00+00:00",
            "seq": seq,
            "kind": "text",
            "client_msg_id": None,
            "metadata": None,
            "edited_at": None,
            "deleted_at": None,
        }
    )


def test_out_of_order_events_fold_to_the_same_row():
    me = uuid.uuid4()
    row = _row(status="archived")
    them = row.counterparty_id
    six, seven = _message(row, 6, them), _message(row, 7, them)
    in_order = rows.after_message(rows.after_message(row, six, me), seven, me)
    swapped = rows.after_message(rows.after_message(row, seven, me), six, me)
    assert in_order == swapped
    assert in_order.message_count == 7 and in_order.unread_count == 4
    assert in_order.status == "active"  # a message brings an archived thread back
    assert in_order.last_message is not None and len(in_order.last_message.body or "") == 160
    # A cursor ahead of every message this row knows: we missed one, read it again.
    ahead = events.ReadUpdated(
        thread_id=row.id, user_id=me, last_read_seq=9, participant_ids=(me, them)
    )
    assert rows.after_read(in_order, ahead, me) is None
