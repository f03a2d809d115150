"""The thread header's status actions without a browser (pages/thread_status.py): archive at
once and mine, close / reopen only after the confirmation, forged arguments do nothing."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
import reflex as rx
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat.config import get_settings
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.pages.thread_status import needs_confirmation
from arbibase_chat.services import inbox, messages, ratelimit, tokens
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


def _status(pair: Pair, user: Any) -> str:
    return inbox.get_thread(user_id=user.id, thread_id=pair.thread_id, db=pair.db).status


def test_what_asks_first() -> None:
    assert needs_confirmation("active", "closed") and needs_confirmation("archived", "closed")
    assert needs_confirmation("closed", "active")
    assert not needs_confirmation("active", "archived")
    assert not needs_confirmation("archived", "active")  # unarchive: mine


async def test_archive_is_immediate_close_waits_for_confirmation(app_db) -> None:
    pair = Pair(app_db)
    session, chat = _tab()
    session.access_token = tokens.issue_access_token(user_id=pair.operator.id)
    chat._me, chat.open_id, chat.status = str(pair.operator.id), str(pair.thread_id), "active"
    toast = await _call(chat, "set_status", "archived")
    assert toast is not None and chat.status == "archived"  # the toast with its Undo
    assert _status(pair, pair.operator) == "archived" and _status(pair, pair.owner) == "active"
    await _call(chat, "set_status", "active")  # Undo / Unarchive
    assert chat.status == "active" and chat.confirm_status_to == ""
    # Close: nothing happens until confirmed; Cancel forgets it.
    await _call(chat, "set_status", "closed")
    assert chat.confirm_status_to == "closed" and _status(pair, pair.owner) == "active"
    await _call(chat, "cancel_status")
    assert chat.confirm_status_to == "" and _status(pair, pair.owner) == "active"
    await _call(chat, "set_status", "closed")
    await _call(chat, "confirm_status")
    assert chat.status == "closed" and chat.confirm_status_to == ""
    assert _status(pair, pair.owner) == "closed"
    history = messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=app_db)
    assert history[-1].kind == "system" and "closed the conversation" in (history[-1].body or "")
    # Reopen asks too.
    await _call(chat, "set_status", "active")
    assert chat.confirm_status_to == "active" and _status(pair, pair.owner) == "closed"
    await _call(chat, "confirm_status")
    assert chat.status == "active" and _status(pair, pair.owner) == "active"


async def test_forged_arguments_and_strangers_do_nothing(app_db) -> None:
    pair = Pair(app_db)
    stranger = Pair(app_db).operator
    session, chat = _tab()
    session.access_token = tokens.issue_access_token(user_id=stranger.id)
    chat._me, chat.open_id, chat.status = str(stranger.id), str(pair.thread_id), "active"
    for forged in (None, 5, "deleted", {"status": "closed"}):
        await _call(chat, "set_status", forged)
        assert chat.confirm_status_to == ""
    chat.confirm_status_to = "weird"  # a forged state: not a shared status
    await _call(chat, "confirm_status")
    await _call(chat, "set_status", "closed")
    result = await _call(chat, "confirm_status")  # not their thread: a toast, nothing changed
    assert result is not None
    assert _status(pair, pair.owner) == "active"
    assert messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=app_db) == []
