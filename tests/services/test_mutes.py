"""Per-thread mute and the e-mail opt-out (issue #12, part 3): mine only, never the other
party's; a muted thread leaves the navbar total but keeps its row's badge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from arbibase_chat import db as dbmod
from arbibase_chat.db import utcnow
from arbibase_chat.models import MUTED_FOREVER, Participant
from arbibase_chat.services import inbox, messages, mutes, notification_settings, reads
from arbibase_chat.services.errors import Invalid, NotFound
from tests import factories


def _row(db, user, thread_id):
    return inbox.get_thread(user_id=user.id, thread_id=thread_id, db=db)


def test_a_mute_is_mine_and_leaves_the_navbar_total(db) -> None:
    pair = factories.Pair(db)
    for text in ("one", "two"):
        messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body=text, db=db)
    assert reads.unread_total(user_id=pair.owner.id, db=db) == 2

    before = utcnow()
    until = mutes.set_mute(user_id=pair.owner.id, thread_id=pair.thread_id, duration="1h", db=db)
    assert until is not None
    assert before + timedelta(hours=1) <= until <= utcnow() + timedelta(hours=1)
    assert reads.unread_total(user_id=pair.owner.id, db=db) == 0
    owner_row = _row(db, pair.owner, pair.thread_id)
    assert owner_row.unread_count == 2  # the row keeps its badge
    assert owner_row.muted_until == until
    # The other party sees nothing of it.
    assert _row(db, pair.operator, pair.thread_id).muted_until is None

    assert (
        mutes.set_mute(user_id=pair.owner.id, thread_id=pair.thread_id, duration="forever", db=db)
        == MUTED_FOREVER
    )
    assert (
        mutes.set_mute(user_id=pair.owner.id, thread_id=pair.thread_id, duration=None, db=db)
        is None
    )
    assert reads.unread_total(user_id=pair.owner.id, db=db) == 2


def test_an_expired_mute_counts_again(db) -> None:
    pair = factories.Pair(db)
    messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body="hi", db=db)
    mutes.set_mute(user_id=pair.owner.id, thread_id=pair.thread_id, duration="1d", db=db)
    with dbmod.write_session(db) as session:
        session.execute(
            update(Participant)
            .where(Participant.user_id == pair.owner.id)  # type: ignore[arg-type]
            .values(muted_until=utcnow() - timedelta(seconds=1))
        )
    assert reads.unread_total(user_id=pair.owner.id, db=db) == 1
    assert not mutes.is_muted(_row(db, pair.owner, pair.thread_id).muted_until)


@pytest.mark.parametrize("duration", ["2h", "forever ", 3600, ["1h"], {"d": 1}, True])
def test_bad_durations_are_refused(db, duration) -> None:
    pair = factories.Pair(db)
    with pytest.raises(Invalid) as err:
        mutes.set_mute(user_id=pair.owner.id, thread_id=pair.thread_id, duration=duration, db=db)
    assert err.value.field == "duration"
    assert _row(db, pair.owner, pair.thread_id).muted_until is None


def test_a_stranger_cannot_mute_another_pairs_thread(db) -> None:
    pair = factories.Pair(db)
    stranger = factories.user(db, "operator")
    with pytest.raises(NotFound):
        mutes.set_mute(user_id=stranger.id, thread_id=pair.thread_id, duration="1d", db=db)
    assert _row(db, pair.owner, pair.thread_id).muted_until is None
    assert _row(db, pair.operator, pair.thread_id).muted_until is None


def test_the_email_opt_out_is_per_user(db) -> None:
    pair = factories.Pair(db)
    assert notification_settings.get_settings(user_id=pair.owner.id, db=db).email_enabled
    off = notification_settings.set_email_enabled(user_id=pair.owner.id, enabled=False, db=db)
    assert off.email_enabled is False
    assert not notification_settings.get_settings(user_id=pair.owner.id, db=db).email_enabled
    assert notification_settings.get_settings(user_id=pair.operator.id, db=db).email_enabled
    notification_settings.set_email_enabled(user_id=pair.owner.id, enabled=True, db=db)
    assert notification_settings.get_settings(user_id=pair.owner.id, db=db).email_enabled
    for bad in ("false", 0, None, [False]):
        with pytest.raises(Invalid):
            notification_settings.set_email_enabled(user_id=pair.owner.id, enabled=bad, db=db)
