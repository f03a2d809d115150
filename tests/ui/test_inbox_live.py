"""A live update of the inbox list (`InboxState._live_apply`) on a real Reflex state: the
row moves to the top, the tag filter learns the row's new tag, and what the state keeps are
the rows themselves — it reads them without Reflex's change-tracking proxies, which cost 40 times
as much for a 50-row inbox (bench/README.md, issue #14, session 15)."""

from __future__ import annotations

from typing import Any

import reflex as rx
from sqlalchemy.engine import Engine

from arbibase_chat.components.thread_row import ThreadRow
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.realtime.updates import UserUpdate
from arbibase_chat.services import inbox, messages, threads
from tests import factories
from tests.factories import Pair


def _inbox() -> tuple[rx.State, Any]:
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]
    return root, root.get_substate(InboxState.get_full_name().split(".")[1:])


async def test_a_live_row_goes_to_the_top_and_brings_its_new_tag_to_the_filter(
    db: Engine,
) -> None:
    first = Pair(db)
    owner = first.owner.id
    # The same owner's second thread (another listing, another operator), newer.
    later = threads.get_or_create_thread(
        user_id=factories.user(db, "operator").id,
        property_id=factories.listing(db, first.owner).id,
        owner_id=owner,
        subject="Second listing",
        db=db,
    ).id
    rows = [
        ThreadRow.from_thread(inbox.get_thread(user_id=owner, thread_id=t, db=db))
        for t in (later, first.thread_id)
    ]
    root, state = _inbox()
    state.rows = rows
    state.my_tags = ["Lease"]
    state.loaded = True
    state._viewer = str(owner)
    assert state.known_tags == ["Lease"]
    root.get_delta()  # what loading sent
    root._clean()

    threads.update_thread(user_id=owner, thread_id=first.thread_id, add_tags=["Parking"], db=db)
    sent = messages.send_message(
        user_id=first.operator.id, thread_id=first.thread_id, body="Garage too?", db=db
    )
    fresh = inbox.get_thread(user_id=owner, thread_id=first.thread_id, db=db)
    await state._live_apply(
        UserUpdate(user_id=owner, thread_id=first.thread_id, thread=fresh, message=sent)
    )

    assert [r.id for r in state.get_value("rows")] == [str(first.thread_id), str(later)]
    assert all(type(r) is ThreadRow for r in state.get_value("rows"))
    assert state.get_value("rows")[0].preview == "Garage too?"
    delta = root.get_delta()[InboxState.get_full_name()]
    assert delta["known_tags_rx_state_"] == ["Lease", "Parking"]  # recomputed and sent
