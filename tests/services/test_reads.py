import threading

import pytest
from sqlmodel import col, select

from arbibase_chat import db as dbmod
from arbibase_chat.models import MessagingThread as T
from arbibase_chat.models import Participant as P
from arbibase_chat.services import events, inbox, messages, reads, threads
from arbibase_chat.services.errors import NotFound
from tests import factories
from tests.factories import Pair
from tests.services.statements import statement_verbs


def _send(pair, who, n, prefix="m"):
    return [
        messages.send_message(
            user_id=who.id, thread_id=pair.thread_id, body=f"{prefix}{i}", db=pair.db
        )
        for i in range(n)
    ]


def test_mark_read_moves_forward_only_and_fills_seen_by(db):
    pair = Pair(db)
    sent = _send(pair, pair.operator, 5)
    seen: list[events.DomainEvent] = []
    unsubscribe = events.subscribe(seen.append)
    try:
        state = reads.mark_read(
            user_id=pair.owner.id, thread_id=pair.thread_id, up_to_message_id=sent[2].id, db=db
        )
        assert (state.last_read_seq, state.unread_count) == (3, 2)
        back = reads.mark_read(
            user_id=pair.owner.id, thread_id=pair.thread_id, up_to_message_id=sent[0].id, db=db
        )
        assert back.last_read_seq == 3
        assert (
            reads.mark_read(user_id=pair.owner.id, thread_id=pair.thread_id, db=db).unread_count
            == 0
        )
    finally:
        unsubscribe()
    assert [e.last_read_seq for e in seen if isinstance(e, events.ReadUpdated)] == [3, 5]
    history = messages.list_messages(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
    assert all(m.seen_by == [pair.owner.id] for m in history)
    t = inbox.get_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
    assert t.counterparty_last_read_seq == 5


def test_replying_marks_earlier_messages_read(db):
    pair = Pair(db)
    _send(pair, pair.operator, 3)
    assert (
        inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db).unread_count == 3
    )
    _send(pair, pair.owner, 1, prefix="reply")
    owner_view = inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    assert owner_view.unread_count == 0
    history = messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    assert [m.seen_by for m in history] == [[pair.owner.id]] * 3 + [[]]


def test_unread_total_and_per_property_summary(db):
    operator = factories.user(db, "operator")
    owner = factories.user(db, "owner")
    props = [factories.listing(db, owner, title=f"P{i}") for i in range(2)]
    tids = [
        threads.get_or_create_thread(
            user_id=operator.id, property_id=p.id, owner_id=owner.id, db=db
        ).id
        for p in props
    ]
    for tid, n in zip(tids, (2, 3), strict=True):
        for i in range(n):
            messages.send_message(user_id=owner.id, thread_id=tid, body=f"x{i}", db=db)
    assert reads.unread_total(user_id=operator.id, db=db) == 5
    assert reads.unread_total(user_id=owner.id, db=db) == 0
    summary = {s.property_title: s for s in reads.unread_by_property(user_id=operator.id, db=db)}
    assert (summary["P0"].unread_count, summary["P1"].unread_count) == (2, 3)
    assert (summary["P1"].thread_count, summary["P1"].message_count) == (1, 3)
    last = summary["P1"].last_message_at
    assert last is not None and last.tzinfo is not None
    reads.mark_read(user_id=operator.id, thread_id=tids[1], db=db)
    assert reads.unread_total(user_id=operator.id, db=db) == 2
    assert reads.unread_by_property(user_id=factories.user(db).id, db=db) == []


def test_both_participant_rows_carry_the_threads_last_seq(db):
    """The navbar total sums participant rows alone (alembic 0015): each row's copy of the
    thread's number must follow every send, by either side, and the reviving of an archive."""
    pair = Pair(db)

    def copies() -> tuple[int, set[int]]:
        with dbmod.read_session(db) as session:
            last = session.scalar(select(col(T.last_seq)).where(col(T.id) == pair.thread_id))
            rows = session.scalars(
                select(col(P.last_seq)).where(col(P.thread_id) == pair.thread_id)
            ).all()
        return int(last or 0), set(rows)

    assert copies() == (0, {0})
    _send(pair, pair.owner, 2)
    assert copies() == (2, {2})
    threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, status="archived", db=db
    )
    _send(pair, pair.operator, 1)
    assert copies() == (3, {3})
    assert reads.unread_total(user_id=pair.owner.id, db=db) == 1
    assert reads.unread_total(user_id=pair.operator.id, db=db) == 0


def test_concurrent_mark_reads_keep_seen_by_single_and_counts_exact(db):
    pair = Pair(db)
    sent = _send(pair, pair.operator, 30)
    barrier = threading.Barrier(4)
    errors = []

    def reader(upto):
        try:
            barrier.wait()
            reads.mark_read(
                user_id=pair.owner.id, thread_id=pair.thread_id, up_to_message_id=upto, db=db
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=reader, args=(sent[i].id,)) for i in (9, 19, 29, 14)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    history = messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    assert all(m.seen_by == [pair.owner.id] for m in history)
    assert (
        inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db).unread_count == 0
    )


def test_mark_read_unknown_message(db):
    pair = Pair(db)
    other = Pair(db)
    foreign = _send(other, other.operator, 1)[0]
    with pytest.raises(NotFound):
        reads.mark_read(
            user_id=pair.owner.id, thread_id=pair.thread_id, up_to_message_id=foreign.id, db=db
        )


def test_mark_read_is_one_statement_to_read_and_lock_and_at_most_two_to_move(db):
    """The cursor is read with its thread, locked, in one statement; the move and the receipts
    are one more on Postgres (a data-modifying CTE), two on SQLite (bench/README, target 7)."""
    pair = Pair(db)
    _send(pair, pair.operator, 3)
    with statement_verbs(db) as statements:
        moved = reads.mark_read(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
        moves = list(statements)
        statements.clear()
        again = reads.mark_read(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    assert (moved.last_read_seq, again.last_read_seq) == (3, 3)
    if db.dialect.name == "postgresql":
        assert moves == ["SELECT", "WITH"]
    else:
        assert moves == ["SELECT", "UPDATE", "UPDATE"]
    assert statements == ["SELECT"]  # nothing to move: read, and done
    # The receipts went where the move said: every message of the other side, once.
    seen = [
        m.seen_by
        for m in messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    ]
    assert seen == [[pair.owner.id]] * 3
