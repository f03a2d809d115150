"""Identity follows the token (issue "Security first", finding 3), on real Reflex state
objects and a real database: another user's token, garbage, an expired token and a deleted
account each change or end the page session, and every view of the old user is wiped."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import reflex as rx
from reflex.state import BaseState
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import col

from arbibase_chat import db as dbmod
from arbibase_chat import session as session_module
from arbibase_chat.components.thread_row import ThreadRow
from arbibase_chat.config import get_settings
from arbibase_chat.models import User
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.services import tokens
from arbibase_chat.session import SessionState
from tests import factories


@pytest.fixture
def app_db(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The states use the configured database: point it at the test's."""
    url = next(u for u, engine in dbmod._engines.items() if engine is db)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield db
    monkeypatch.undo()
    get_settings.cache_clear()


def _tab() -> tuple[SessionState, InboxState, ChatState]:
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]

    def sub(cls: type[rx.State]) -> BaseState:
        return root.get_substate(cls.get_full_name().split(".")[1:])

    session, inbox, chat = sub(SessionState), sub(InboxState), sub(ChatState)
    assert isinstance(session, SessionState)
    assert isinstance(inbox, InboxState) and isinstance(chat, ChatState)
    return session, inbox, chat


def _show_inbox_of(inbox: InboxState, chat: ChatState, user_id: uuid.UUID) -> None:
    """What a loaded page holds for `user_id` (a row, an open thread, unread count)."""
    inbox._viewer = str(user_id)
    inbox.unread_total = 3
    inbox.rows = [
        ThreadRow(
            id=str(uuid.uuid4()),
            subject="Secret negotiation",
            property_title="Bayview",
            counterparty_name="Olivia",
            my_role="operator",
            status="active",
            preview="our best offer is $2,900",
            unread_count=3,
        )
    ]
    chat._me = str(user_id)
    chat.open_id = str(uuid.uuid4())
    chat.subject = "Secret negotiation"


def _wiped(inbox: InboxState, chat: ChatState) -> bool:
    return (
        inbox.rows == []
        and inbox.unread_total == 0
        and inbox._viewer == ""
        and chat.open_id == ""
        and chat._me == ""
        and chat.subject == ""
    )


async def test_another_users_token_switches_identity_and_wipes_the_old_views(app_db):
    alice, ben = factories.user(app_db, "operator"), factories.user(app_db, "operator")
    session, inbox, chat = _tab()
    session.access_token = tokens.issue_access_token(user_id=alice.id)
    assert await session._current_user_id() == alice.id
    _show_inbox_of(inbox, chat, alice.id)

    # The tab reconnects (hydrate hands over the browser's cookie) with Ben's token.
    session.access_token = tokens.issue_access_token(user_id=ben.id)
    assert await session._current_user_id() == ben.id
    assert session.display_name == ben.display_name
    assert _wiped(inbox, chat)


@pytest.mark.parametrize("token", ["garbage", "", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
async def test_a_bad_token_ends_the_session(app_db, token):
    alice = factories.user(app_db, "operator")
    session, inbox, chat = _tab()
    session.access_token = tokens.issue_access_token(user_id=alice.id)
    assert await session._current_user_id() == alice.id
    _show_inbox_of(inbox, chat, alice.id)

    session.access_token = token
    assert await session._current_user_id() is None
    assert session._user_id == "" and session.display_name == "" and session.access_token == ""
    assert _wiped(inbox, chat)


async def test_the_session_ends_when_the_local_token_expires(app_db, monkeypatch):
    alice = factories.user(app_db, "operator")
    session, inbox, chat = _tab()
    session.access_token = tokens.issue_access_token(user_id=alice.id, ttl_seconds=60)
    assert await session._current_user_id() == alice.id
    _show_inbox_of(inbox, chat, alice.id)

    later = time.time() + 61
    monkeypatch.setattr(session_module.time, "time", lambda: later)
    assert await session._current_user_id() is None
    assert _wiped(inbox, chat) and session.access_token == ""


async def test_the_session_ends_when_the_user_is_gone(app_db, monkeypatch):
    alice = factories.user(app_db, "operator")
    session, inbox, chat = _tab()
    session.access_token = tokens.issue_access_token(user_id=alice.id)
    assert await session._current_user_id() == alice.id
    _show_inbox_of(inbox, chat, alice.id)
    with app_db.begin() as conn:
        conn.execute(delete(User).where(col(User.id) == alice.id))

    # Within the re-check interval the verified session stands (no database read per event)...
    assert await session._current_user_id() == alice.id
    # ...and at the next check it ends.
    later = time.time() + session_module.RECHECK_SECONDS + 1
    monkeypatch.setattr(session_module.time, "time", lambda: later)
    assert await session._current_user_id() is None
    assert _wiped(inbox, chat)


async def test_log_out_wipes_the_views(app_db):
    alice = factories.user(app_db, "operator")
    session, inbox, chat = _tab()
    session.access_token = tokens.issue_access_token(user_id=alice.id)
    assert await session._current_user_id() == alice.id
    _show_inbox_of(inbox, chat, alice.id)
    await type(session).event_handlers["log_out"].fn(session)
    assert session._user_id == "" and session.access_token == ""
    assert _wiped(inbox, chat)


async def test_an_ended_identity_stops_the_tabs_live_pushes(app_db, monkeypatch):
    """The hub forgets the tab (no pushes for the previous user) until a page registers it."""
    from arbibase_chat.realtime import views

    forgotten: list[str] = []

    class Recorder:
        def register(self, token: str, user_id: uuid.UUID) -> None: ...
        def open(self, token: str, thread_id: uuid.UUID | None) -> None: ...
        def typing(self, *, thread_id: uuid.UUID, to_user: uuid.UUID, name: str) -> None: ...
        def stopped_typing(self, *, thread_id: uuid.UUID, to_user: uuid.UUID) -> None: ...

        def forget(self, token: str) -> None:
            forgotten.append(token)

    monkeypatch.setattr(views, "_presence", Recorder())
    alice = factories.user(app_db, "operator")
    session, _inbox, _chat = _tab()
    session.access_token = tokens.issue_access_token(user_id=alice.id)
    assert await session._current_user_id() == alice.id
    assert forgotten == []
    session.access_token = "garbage"
    assert await session._current_user_id() is None
    assert forgotten == [session.router.session.client_token]
