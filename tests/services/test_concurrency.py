"""Races that the database itself must settle: two creators, two deliveries of one message."""

import functools
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from arbibase_chat.models import MessagingMessage, MessagingThread
from arbibase_chat.services import inbox, messages, threads
from tests import factories
from tests.factories import Pair


def _race(n: int, work: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(work())
        except BaseException as exc:  # pragma: no cover - asserted by the caller
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results, errors


def test_two_concurrent_creators_get_one_active_thread(db):
    operator = factories.user(db, "operator")
    owner = factories.user(db, "owner")
    for attempt in range(5):
        prop = factories.listing(db, owner, title=f"Race {attempt}")
        results, errors = _race(
            2,
            functools.partial(
                threads.get_or_create_thread,
                user_id=operator.id,
                property_id=prop.id,
                owner_id=owner.id,
                db=db,
            ),
        )
        assert errors == []
        assert len({r.id for r in results}) == 1
        assert sorted(r.created for r in results) == [False, True]
        with db.connect() as conn:
            count = conn.scalar(
                select(func.count())
                .select_from(MessagingThread)
                .where(col(MessagingThread.property_id) == prop.id)
            )
        assert count == 1


def test_concurrent_deliveries_of_one_client_msg_id_store_one_message(db):
    pair = Pair(db)
    for attempt in range(5):
        key = f"dup-{attempt}"
        results, errors = _race(
            3,
            functools.partial(
                messages.send_message,
                user_id=pair.operator.id,
                thread_id=pair.thread_id,
                body="once",
                client_msg_id=key,
                db=db,
            ),
        )
        assert errors == []
        assert len({r.id for r in results}) == 1
    with db.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(MessagingMessage)) == 5
    seqs = [
        m.seq
        for m in messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    ]
    assert seqs == [1, 2, 3, 4, 5]


def test_concurrent_senders_get_distinct_gapless_numbers(db):
    pair = Pair(db)
    senders = [pair.operator, pair.owner] * 4
    lock = threading.Lock()
    order = iter(range(len(senders)))

    def send():
        with lock:
            i = next(order)
        return messages.send_message(
            user_id=senders[i].id, thread_id=pair.thread_id, body=f"m{i}", db=db
        )

    results, errors = _race(len(senders), send)
    assert errors == []
    assert sorted(r.seq for r in results) == list(range(1, len(senders) + 1))
    thread = inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    assert thread.message_count == len(senders)
