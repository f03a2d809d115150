"""Editing and deleting my own messages without a browser: the bubble's flags (MessageView), the
window's in-place replacement, and ChatState's handlers (pages/thread_edit.py) on real Reflex
state objects and a real database."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import reflex as rx
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat.components.message_bubble import MessageView
from arbibase_chat.components.thread_row import ThreadRow
from arbibase_chat.config import get_settings
from arbibase_chat.models import MessagePublic
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.pages.thread_window import LEVELS, PARTS, MessageWindow
from arbibase_chat.services import inbox, message_edits, messages, ratelimit, reads, tokens
from arbibase_chat.session import SessionState
from tests.factories import Pair


@pytest.fixture
def app_db(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = next(u for u, engine in dbmod._engines.items() if engine is db)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    with ratelimit.use(ratelimit.Unlimited()):
        yield db
    monkeypatch.undo()
    get_settings.cache_clear()


def _tab() -> tuple[SessionState, ChatState]:
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]

    def sub(cls: type[rx.State]) -> Any:
        return root.get_substate(cls.get_full_name().split(".")[1:])

    return sub(SessionState), sub(ChatState)


async def _call(state: rx.State, handler: str, *args: Any) -> Any:
    result = type(state).event_handlers[handler].fn(state, *args)
    return await result if inspect.isawaitable(result) else result


def _public(pair: Pair, **changes: Any) -> MessagePublic:
    sent = messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body="hello", db=pair.db
    )
    return sent.model_copy(update=changes)


def test_the_bubble_flags(db) -> None:
    pair = Pair(db)
    me, them = str(pair.operator.id), str(pair.owner.id)
    fresh = _public(pair)
    assert MessageView.from_message(fresh, me=me, names={}).editable
    assert not MessageView.from_message(fresh, me=them, names={}).editable  # not theirs
    late = fresh.model_copy(update={"created_at": fresh.created_at - timedelta(minutes=16)})
    assert not MessageView.from_message(late, me=me, names={}).editable
    offer = fresh.model_copy(update={"kind": "offer"})
    assert not MessageView.from_message(offer, me=me, names={}).editable
    edited = MessageView.from_message(
        fresh.model_copy(update={"edited_at": fresh.created_at}), me=them, names={}
    )
    assert edited.edited and not edited.deleted
    gone = MessageView.from_message(
        fresh.model_copy(update={"deleted_at": fresh.created_at, "body": None}), me=me, names={}
    )
    assert gone.deleted and not gone.editable and gone.segments == []


def test_the_window_replaces_a_stored_message_in_place() -> None:
    views = [MessageView(id=f"m{i}", seq=i, day_label="Today" if i == 1 else "") for i in (1, 2)]
    pending = MessageView(id="pending-x", seq=3, status="pending", client_msg_id="x")
    window = MessageWindow([*views, pending])
    assert window.replace_stored(MessageView(id="m1", seq=1, edited=True))
    assert [v.id for v in window.items] == ["m1", "m2", "pending-x"]
    assert window.items[0].edited and window.items[0].day_label == "Today"
    assert not window.replace_stored(MessageView(id="elsewhere", seq=9))
    assert not window.replace_stored(MessageView(id="pending-x", seq=3))  # not stored


async def test_edit_and_delete_through_the_handlers(app_db) -> None:
    pair = Pair(app_db)
    session, chat = _tab()
    session.access_token = tokens.issue_access_token(user_id=pair.operator.id)
    mine = _public(pair)
    theirs = messages.send_message(
        user_id=pair.owner.id, thread_id=pair.thread_id, body="theirs", db=app_db
    )
    chat._me, chat.open_id = str(pair.operator.id), str(pair.thread_id)
    chat._show(chat._views([mine, theirs]))
    # The other side's bubble, a forged id or a non-string opens nothing.
    for forged in (str(theirs.id), "nope", 5, None):
        await _call(chat, "start_edit", forged)
        await _call(chat, "ask_delete", forged)
        assert chat.editing_id == "" and chat.deleting_id == ""
    await _call(chat, "start_edit", str(mine.id))
    assert chat.editing_id == str(mine.id) and chat.edit_text == "hello"
    await _call(chat, "cancel_edit")
    assert chat.editing_id == ""
    await _call(chat, "start_edit", str(mine.id))
    await _call(chat, "save_edit", {"body": "hello, edited"})
    assert chat.editing_id == ""
    shown = next(v for v in chat._on_screen() if v.id == str(mine.id))
    assert shown.edited and "".join(s.text for s in shown.segments) == "hello, edited"
    await _call(chat, "ask_delete", str(mine.id))
    assert chat.deleting_id == str(mine.id)
    await _call(chat, "confirm_delete")
    shown = next(v for v in chat._on_screen() if v.id == str(mine.id))
    assert chat.deleting_id == "" and shown.deleted and not shown.editable
    audit = message_edits.list_edits(
        user_id=pair.owner.id, thread_id=pair.thread_id, message_id=mine.id, db=app_db
    )
    assert [a.action for a in audit] == ["edit", "delete"]


async def test_a_refusal_is_a_toast_and_changes_nothing(app_db) -> None:
    pair = Pair(app_db)
    session, chat = _tab()
    session.access_token = tokens.issue_access_token(user_id=pair.owner.id)
    theirs = _public(pair)
    chat._me, chat.open_id = str(pair.owner.id), str(pair.thread_id)
    chat._show(chat._views([theirs]))
    # A forged state (the id set without the menu): the service still says no.
    chat.editing_id = str(theirs.id)
    result = await _call(chat, "save_edit", {"body": "forged"})
    assert result is not None  # rx.toast.error(...)
    assert (
        messages.get_message(user_id=pair.owner.id, message_id=theirs.id, db=app_db).body == "hello"
    )
    for bad in (None, "text", {"body": 5}, {"body": "x" * 10_001}):
        chat.editing_id = str(theirs.id)
        await _call(chat, "save_edit", bad)
        assert chat.editing_id == ""
    session.access_token = ""
    chat.deleting_id = str(theirs.id)
    await _call(chat, "confirm_delete")  # signed out: a redirect, nothing deleted
    assert (
        messages.get_message(user_id=pair.owner.id, message_id=theirs.id, db=app_db).deleted_at
        is None
    )


def test_the_inbox_row_of_a_deleted_last_message(db) -> None:
    pair = Pair(db)
    sent = _public(pair)
    message_edits.delete_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, message_id=sent.id, db=db
    )
    thread = inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    assert ThreadRow.from_thread(thread).preview == "Message deleted"


def test_a_new_message_resends_the_tail_not_the_window() -> None:
    """ChatState._show: the tab's window travels in PARTS; appending marks the tail for
    resending and the parts before it only now and then, and the parts always add up to the
    window."""
    _, chat = _tab()
    (most, keep), (recent_most, recent_keep) = LEVELS

    def window() -> list[MessageView]:
        return [view for part in PARTS for view in getattr(chat, part)]

    views = [MessageView(id=f"m{s}", seq=s, status="sent") for s in range(1, 101)]
    chat._show(views)
    assert window() == views and len(chat.tail) == recent_keep
    assert len(chat.recent) == keep - recent_keep
    sent = {part: 0 for part in PARTS}
    for seq in range(101, 101 + most - keep + 1):
        chat.dirty_vars.clear()
        views = [*views, MessageView(id=f"m{seq}", seq=seq, status="sent")]
        chat._show(views)
        assert "tail" in chat.dirty_vars and window() == views
        for part in PARTS:
            sent[part] += part in chat.dirty_vars
    # The history went out once (when the tail and the recent part grew past `most`).
    assert sent["history"] == 1 and len(chat.recent) + len(chat.tail) == keep
    assert sent["recent"] <= (most - keep + 1) // (recent_most - recent_keep + 1) + 1
    # Sent again on request, every part (a tab that may have missed them).
    chat.dirty_vars.clear()
    chat._show(views, again=True)
    assert set(PARTS) <= chat.dirty_vars and window() == views


def test_each_thread_has_its_own_seen(app_db) -> None:
    """Found with the tail split: "Seen" stayed at the last thread's number when the tab
    opened another thread, so my messages there showed "Seen" before they were read."""
    read, unread = Pair(app_db), Pair(app_db)
    for pair in (read, unread):
        for body in ("one", "two", "three"):
            messages.send_message(
                user_id=pair.operator.id, thread_id=pair.thread_id, body=body, db=app_db
            )
    reads.mark_read(user_id=read.owner.id, thread_id=read.thread_id, db=app_db)
    _, chat = _tab()
    first = inbox.get_thread(user_id=read.operator.id, thread_id=read.thread_id, db=app_db)
    chat._apply_header(first)
    chat.open_id = str(first.id)
    assert chat.seen_seq == 3
    second = inbox.get_thread(user_id=unread.operator.id, thread_id=unread.thread_id, db=app_db)
    chat._apply_header(second)
    assert chat.seen_seq == 0
