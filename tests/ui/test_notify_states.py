"""Notifications and mute without a browser: what `InboxState.alert` carries to
assets/notify.js, the mute handlers of ChatState (pages/thread_mute.py) and the settings'
switches, on real Reflex state objects and a real database."""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import reflex as rx
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat.config import get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.models import MUTED_FOREVER
from arbibase_chat.pages import thread_mute
from arbibase_chat.pages.inbox import ALERT_PREVIEW_CHARS, InboxState, alert_for
from arbibase_chat.pages.settings import NotifyPrefs, SettingsState
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.services import inbox, messages, mutes, notification_settings, ratelimit, tokens
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


def _sub(root: rx.State, cls: type[rx.State]) -> Any:
    return root.get_substate(cls.get_full_name().split(".")[1:])


def _root() -> rx.State:
    return rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]


async def _call(state: rx.State, handler: str, *args: Any) -> Any:
    result = type(state).event_handlers[handler].fn(state, *args)
    return await result if inspect.isawaitable(result) else result


def test_an_alert_is_the_other_partys_message_in_a_thread_not_muted(db: Engine) -> None:
    pair = Pair(db)
    long_body = "Is the garage\nincluded? " + "x" * 300
    sent = messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body=long_body, db=db
    )
    row = inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    alert = json.loads(alert_for(pair.owner.id, sent, row))
    assert alert["thread_id"] == str(pair.thread_id)
    assert alert["seq"] == sent.seq
    assert alert["title"] == f"{pair.operator.display_name} · {pair.property.title}"
    assert alert["body"].startswith("Is the garage included? x")
    assert len(alert["body"]) == ALERT_PREVIEW_CHARS and alert["body"].endswith("…")
    # Never for my own message, a deleted one, or a thread I muted (until it ends).
    assert alert_for(pair.operator.id, sent, row) == ""
    assert alert_for(pair.owner.id, sent.model_copy(update={"deleted_at": utcnow()}), row) == ""
    muted = row.model_copy(update={"muted_until": utcnow() + timedelta(hours=1)})
    assert alert_for(pair.owner.id, sent, muted) == ""
    ended = row.model_copy(update={"muted_until": utcnow() - timedelta(seconds=1)})
    assert alert_for(pair.owner.id, sent, ended) != ""


def test_the_header_fields_of_a_mute() -> None:
    soon = utcnow() + timedelta(hours=1)
    assert thread_mute.header_fields(None) == {"muted_until": "", "muted_forever": False}
    assert thread_mute.header_fields(utcnow() - timedelta(minutes=1))["muted_until"] == ""
    assert thread_mute.header_fields(soon) == {
        "muted_until": soon.isoformat(),
        "muted_forever": False,
    }
    assert thread_mute.header_fields(MUTED_FOREVER) == {"muted_until": "", "muted_forever": True}
    assert [choice for choice, _ in thread_mute.MUTE_MENU] == list(mutes.MUTE_CHOICES)


async def test_mute_and_unmute_through_the_handlers(app_db: Engine) -> None:
    pair = Pair(app_db)
    root = _root()
    session, chat = _sub(root, SessionState), _sub(root, ChatState)
    session.access_token = tokens.issue_access_token(user_id=pair.owner.id)
    chat._me, chat.open_id = str(pair.owner.id), str(pair.thread_id)
    # The tab's navbar shows one unread message of this thread.
    messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body="hi", db=app_db)
    badge = _sub(root, InboxState)
    badge._viewer, badge.unread_total = str(pair.owner.id), 1

    def stored() -> Any:
        return inbox.get_thread(
            user_id=pair.owner.id, thread_id=pair.thread_id, db=app_db
        ).muted_until

    await _call(chat, "mute", "1h")
    assert chat.is_muted and not chat.muted_forever and chat.muted_until
    assert mutes.is_muted(stored())
    assert badge.unread_total == 0  # this tab's total follows at once, on any deployment
    await _call(chat, "mute", "forever")
    assert chat.muted_forever and chat.muted_until == ""
    assert stored() == MUTED_FOREVER
    # Anything but the menu's choices changes nothing.
    for forged in ("1y", "", None, ["1h"], {"duration": "1h"}):
        await _call(chat, "mute", forged)
        assert stored() == MUTED_FOREVER and chat.muted_forever
    await _call(chat, "unmute")
    assert not chat.is_muted and stored() is None
    assert badge.unread_total == 1
    # The other party's mute is theirs: mine did not touch it.
    theirs = inbox.get_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=app_db)
    assert theirs.muted_until is None


async def test_mute_is_refused_outside_my_threads(app_db: Engine) -> None:
    pair = Pair(app_db)
    stranger = Pair(app_db).operator
    root = _root()
    session, chat = _sub(root, SessionState), _sub(root, ChatState)
    session.access_token = tokens.issue_access_token(user_id=stranger.id)
    chat._me, chat.open_id = str(stranger.id), str(pair.thread_id)  # as if forged
    answer = await _call(chat, "mute", "forever")
    assert answer is not None  # a toast
    assert not chat.is_muted
    for user in (pair.operator, pair.owner):
        row = inbox.get_thread(user_id=user.id, thread_id=pair.thread_id, db=app_db)
        assert row.muted_until is None
    # Signed out: to the login page, nothing written.
    session.access_token = ""
    chat.open_id = str(uuid.uuid4())
    assert await _call(chat, "unmute") is not None


async def test_the_settings_switches(app_db: Engine) -> None:
    pair = Pair(app_db)
    root = _root()
    session, settings = _sub(root, SessionState), _sub(root, SettingsState)
    prefs = _sub(root, NotifyPrefs)
    session.access_token = tokens.issue_access_token(user_id=pair.owner.id)
    await _call(settings, "load")
    assert settings.loaded and settings.email_enabled
    await _call(settings, "set_email", False)
    assert not settings.email_enabled
    assert not notification_settings.get_settings(user_id=pair.owner.id, db=app_db).email_enabled
    for forged in ("false", 0, None, {"on": True}):
        await _call(settings, "set_email", forged)
    assert not notification_settings.get_settings(user_id=pair.owner.id, db=app_db).email_enabled
    assert notification_settings.get_settings(user_id=pair.operator.id, db=app_db).email_enabled

    # This browser's switches: booleans only; without the permission the switch goes off.
    await _call(prefs, "set_desktop", True)
    await _call(prefs, "set_sound", "yes")
    assert prefs.desktop == "on" and prefs.sound == ""
    await _call(prefs, "set_permission", "granted")
    assert prefs.desktop_on
    await _call(prefs, "set_permission", "whatever")
    assert prefs.permission == "granted"
    await _call(prefs, "set_permission", "denied")
    assert prefs.desktop == "" and not prefs.desktop_on and prefs.permission == "denied"
