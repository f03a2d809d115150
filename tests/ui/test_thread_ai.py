"""ChatState's AI reply suggestions (pages/thread_ai.py, view in thread_ai_view.py) on real
Reflex state objects and a real database, without a browser: who sees the control, the
upgrade line, template chips for a Premium operator, nothing sent, a stale answer ignored."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import reflex as rx
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat.config import get_settings
from arbibase_chat.pages import thread_ai
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.pages.thread_ai_view import suggestion_chips
from arbibase_chat.services import messages, threads, tokens
from arbibase_chat.session import SessionState
from tests import factories

UPGRADE = "AI reply suggestions are included in the Premium plan."


@pytest.fixture
def app_db(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = next(u for u, engine in dbmod._engines.items() if engine is db)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield db
    monkeypatch.undo()
    get_settings.cache_clear()


def _tab(user_id: uuid.UUID) -> tuple[SessionState, Any]:
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]

    def sub(cls: type[rx.State]) -> Any:
        return root.get_substate(cls.get_full_name().split(".")[1:])

    session, chat = sub(SessionState), sub(ChatState)
    session.access_token = tokens.issue_access_token(user_id=user_id)
    return session, chat


def _thread(db: Engine, tier: str):
    operator = factories.user(db, "operator", tier=tier)
    owner = factories.user(db, "owner")
    prop = factories.listing(db, owner)
    tid = threads.get_or_create_thread(
        user_id=operator.id, property_id=prop.id, owner_id=owner.id, db=db
    ).id
    messages.send_message(user_id=owner.id, thread_id=tid, body="What deposit can you pay?", db=db)
    return operator, owner, tid


def _open(chat: Any, db: Engine, user_id: uuid.UUID, tid: uuid.UUID, *, operator: bool) -> None:
    """What ChatState.load does for the control."""
    chat.open_id = str(tid)
    thread_ai.reset(chat, is_operator=operator, revisit=False)
    thread_ai.apply_plan(chat, threads.thread_features(user_id=user_id, thread_id=tid, db=db))


async def _ask(chat: Any) -> None:
    """ChatState.suggest_replies without the background task's locks."""
    started = await thread_ai.begin(chat)
    if started is not None:
        thread_ai.finish(chat, started[1], await thread_ai.fetch(*started))


async def test_a_premium_operator_gets_template_chips_and_nothing_is_sent(app_db):
    operator, _owner, tid = _thread(app_db, "premium")
    _session, chat = _tab(operator.id)
    _open(chat, app_db, operator.id, tid, operator=True)
    assert chat.ai_show and chat.ai_allowed and chat.ai_note == ""
    started = await thread_ai.begin(chat)
    assert started == (operator.id, str(tid)) and chat.ai_loading
    assert await thread_ai.begin(chat) is None  # one request at a time
    thread_ai.finish(chat, started[1], await thread_ai.fetch(*started))
    assert not chat.ai_loading and chat.ai_notice == ""
    assert chat.ai_source == "Suggested from templates"
    assert 1 <= len(chat.ai_chips) <= 3 and chat.ai_chips[0]["intent"] == "deposit"
    history = messages.list_messages(user_id=operator.id, thread_id=tid, db=app_db)
    assert [m.body for m in history] == ["What deposit can you pay?"]


async def test_below_premium_the_button_is_disabled_with_one_line(app_db):
    operator, _owner, tid = _thread(app_db, "pro")
    _session, chat = _tab(operator.id)
    _open(chat, app_db, operator.id, tid, operator=True)
    assert chat.ai_show and not chat.ai_allowed and chat.ai_note == UPGRADE
    await _ask(chat)
    assert chat.ai_chips == [] and not chat.ai_loading


async def test_owners_never_see_it_and_a_forged_flag_changes_nothing(app_db):
    _operator, owner, tid = _thread(app_db, "premium")
    _session, chat = _tab(owner.id)
    _open(chat, app_db, owner.id, tid, operator=False)
    assert not chat.ai_show
    await _ask(chat)
    assert chat.ai_chips == []
    chat.ai_show = True  # as if set from the browser: the service refuses anyway
    await _ask(chat)
    assert (
        chat.ai_chips == []
        and chat.ai_notice == "AI reply suggestions are for the thread's operator."
    )


async def test_an_answer_for_a_thread_left_meanwhile_is_dropped(app_db):
    operator, _owner, tid = _thread(app_db, "premium")
    _session, chat = _tab(operator.id)
    _open(chat, app_db, operator.id, tid, operator=True)
    started = await thread_ai.begin(chat)
    assert started is not None
    fetched = await thread_ai.fetch(*started)
    chat.open_id = str(uuid.uuid4())  # the tab opened another thread
    thread_ai.finish(chat, started[1], fetched)
    assert chat.ai_chips == [] and not chat.ai_loading


def test_reset_keeps_chips_on_a_revisit_only():
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]
    chat: Any = root.get_substate(ChatState.get_full_name().split(".")[1:])
    chat.ai_chips, chat.ai_source = [{"text": "Hi", "intent": "question"}], "x"
    thread_ai.reset(chat, is_operator=True, revisit=True)
    assert chat.ai_chips and chat.ai_show
    thread_ai.reset(chat, is_operator=False, revisit=False)
    assert chat.ai_chips == [] and chat.ai_source == "" and not chat.ai_show


def test_the_labels_and_the_chip_click():
    assert thread_ai.source_label("templates") == "Suggested from templates"
    assert thread_ai.source_label("openai-compatible:llama3.1") == "Suggested by AI"
    rendered = str(suggestion_chips().render())
    # A chip fills the composer in the browser and focuses it; it calls no handler that sends.
    assert '"_set_value"' in rendered and "ref_composer" in rendered
    assert "suggest_replies" in rendered and ".send" not in rendered
