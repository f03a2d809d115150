import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from arbibase_chat.models import MessagingMessage
from arbibase_chat.services import events, inbox, messages, threads
from arbibase_chat.services.errors import Forbidden, Invalid, NotFound
from tests.factories import Pair
from tests.services.statements import statement_verbs


@pytest.fixture
def published():
    seen: list[events.DomainEvent] = []
    unsubscribe = events.subscribe(seen.append)
    yield seen
    unsubscribe()


def test_send_trims_numbers_and_moves_the_thread(db, published):
    pair = Pair(db)
    before = inbox.get_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
    published.clear()
    m1 = messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body="  Hi there \n", db=db
    )
    m2 = messages.send_message(user_id=pair.owner.id, thread_id=pair.thread_id, body="Hello", db=db)
    assert m1.body == "Hi there" and (m1.seq, m2.seq) == (1, 2)
    assert m1.sender_id == pair.operator.id and m1.kind == "text" and m1.created_at.tzinfo
    after = inbox.get_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
    assert after.last_message_at == m2.created_at > before.last_message_at
    assert after.message_count == 2 and after.unread_count == 1
    created = [e for e in published if isinstance(e, events.MessageCreated)]
    assert [e.message_id for e in created] == [m1.id, m2.id]
    assert set(created[0].participant_ids) == {pair.operator.id, pair.owner.id}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("", "body"),
        ("   \n\t ", "body"),
        ("x" * 10_001, "body"),
        ("bad\x00byte", "body"),
        (123, "body"),
    ],
)
def test_send_rejects_bad_bodies(db, body, field, published):
    pair = Pair(db)
    published.clear()
    with pytest.raises(Invalid) as err:
        messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body=body, db=db)
    assert err.value.field == field
    assert published == []
    assert messages.list_messages(user_id=pair.operator.id, thread_id=pair.thread_id, db=db) == []


def test_send_accepts_exactly_the_limit_and_attachment_only(db):
    pair = Pair(db)
    m = messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body="y" * 10_000, db=db
    )
    assert m.body is not None and len(m.body) == 10_000
    m = messages.send_message(
        user_id=pair.operator.id,
        thread_id=pair.thread_id,
        body="",
        attachment_url="https://files.example.com/lease.pdf",
        db=db,
    )
    assert m.body is None and (m.attachment_url or "").endswith("lease.pdf")
    for url in (
        "javascript:alert(1)",
        "//evil.example.com/x",
        "ftp://x",
        "https://a b",
        "/\\evil.example.com/lease.pdf",
        "/\x0b/evil.example.com",
        "/%5Cevil.example.com",
        "/lease.pdf",
    ):
        with pytest.raises(Invalid) as err:
            messages.send_message(
                user_id=pair.operator.id,
                thread_id=pair.thread_id,
                body="x",
                attachment_url=url,
                db=db,
            )
        assert err.value.field == "attachment_url"


def test_idempotent_retry_returns_the_first_message(db, published):
    pair = Pair(db)
    first = messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body="offer", client_msg_id="c-1", db=db
    )
    published.clear()
    retry = messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body="offer", client_msg_id="c-1", db=db
    )
    assert retry == first and published == []
    assert len(messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)) == 1
    # The same key from the other participant is a different message.
    other = messages.send_message(
        user_id=pair.owner.id, thread_id=pair.thread_id, body="ok", client_msg_id="c-1", db=db
    )
    assert other.id != first.id
    with pytest.raises(Invalid):
        messages.send_message(
            user_id=pair.owner.id, thread_id=pair.thread_id, body="x", client_msg_id="a b", db=db
        )


def test_unverified_owner_must_verify_first(db):
    pair = Pair(db, owner_verified=False)
    with pytest.raises(Forbidden) as err:
        messages.send_message(user_id=pair.owner.id, thread_id=pair.thread_id, body="hi", db=db)
    assert "Verify ownership" in err.value.message
    # The operator can still write to them.
    messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body="hi", db=db)


def test_closed_refuses_archived_revives(db):
    pair = Pair(db)
    threads.update_thread(user_id=pair.owner.id, thread_id=pair.thread_id, status="archived", db=db)
    messages.send_message(user_id=pair.owner.id, thread_id=pair.thread_id, body="back", db=db)
    t = inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    assert t.status == "active"
    threads.update_thread(user_id=pair.owner.id, thread_id=pair.thread_id, status="closed", db=db)
    with pytest.raises(Invalid):
        messages.send_message(user_id=pair.owner.id, thread_id=pair.thread_id, body="x", db=db)


def test_history_pages_both_ways_with_equal_timestamps(db):
    pair = Pair(db)
    sent = [
        messages.send_message(
            user_id=pair.operator.id, thread_id=pair.thread_id, body=f"m{i}", db=db
        )
        for i in range(25)
    ]
    with db.begin() as conn:  # every message at the same instant: order must come from seq
        conn.execute(update(MessagingMessage).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    read = lambda **kw: [  # noqa: E731
        m.body
        for m in messages.list_messages(
            user_id=pair.owner.id, thread_id=pair.thread_id, limit=10, db=db, **kw
        )
    ]
    assert read() == [f"m{i}" for i in range(15, 25)]
    assert read(before=sent[15].id) == [f"m{i}" for i in range(5, 15)]
    assert read(before=sent[5].id) == [f"m{i}" for i in range(5)]
    assert read(before=sent[0].id) == []
    assert read(after=sent[3].id) == [f"m{i}" for i in range(4, 14)]
    assert read(after=sent[24].id) == []
    with pytest.raises(Invalid):
        read(before=sent[1].id, after=sent[2].id)
    with pytest.raises(NotFound):
        read(before=uuid.uuid4())
    with pytest.raises(Invalid):
        read(after="not-a-uuid")


def test_a_history_page_is_one_statement_and_a_stranger_still_gets_404(db):
    """The access check and the anchor ride in the page's own statement (bench/README,
    session 12: a round trip and an ORM load less); an empty answer asks the checks, so a
    stranger, another thread's anchor and an unknown one still get their 404s."""
    from sqlalchemy import event

    pair, other = Pair(db), Pair(db)
    sent = [
        messages.send_message(user_id=pair.owner.id, thread_id=pair.thread_id, body=f"m{i}", db=db)
        for i in range(3)
    ]
    elsewhere = messages.send_message(
        user_id=other.owner.id, thread_id=other.thread_id, body="x", db=db
    )
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith("BEGIN") and "set_config" not in statement:
            statements.append(statement.lstrip().split(None, 1)[0].upper())

    def page(user, **kw):
        statements.clear()
        return [
            m.body
            for m in messages.list_messages(
                user_id=user, thread_id=pair.thread_id, limit=2, db=db, **kw
            )
        ]

    event.listen(db, "before_cursor_execute", count)
    try:
        assert page(pair.operator.id) == ["m1", "m2"]
        assert statements == ["SELECT"]
        assert page(pair.operator.id, before=sent[1].id) == ["m0"]
        assert statements == ["SELECT"]
        assert page(pair.operator.id, before=sent[0].id) == []  # the start: checked, then empty
        for stranger in (other.operator.id, uuid.uuid4()):
            with pytest.raises(NotFound):
                page(stranger)
            with pytest.raises(NotFound):
                page(stranger, before=sent[2].id)
        for anchor in (elsewhere.id, uuid.uuid4()):
            with pytest.raises(NotFound):
                page(pair.operator.id, after=anchor)
    finally:
        event.remove(db, "before_cursor_execute", count)


def test_a_send_reads_what_its_checks_ask_with_the_locked_thread(db):
    """The retry probe, the sender's verified flag and the operator's tier ride on the
    thread's locked read (bench/README.md, issue #14 session 14): a first send is that read,
    the number, the row and the sender's cursor; a retry finds the first message."""
    pair = Pair(db)
    with statement_verbs(db) as statements:
        first = messages.send_message(
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            body="hi",
            client_msg_id="a" * 32,
            db=db,
        )
        sends = list(statements)
        statements.clear()
        again = messages.send_message(
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            body="hi",
            client_msg_id="a" * 32,
            db=db,
        )
    assert sends == ["SELECT", "UPDATE", "INSERT", "UPDATE"]
    assert again == first and statements[0] == "SELECT" and "INSERT" not in statements
    # An owner's send asks for their verified flag in the same read.
    with statement_verbs(db) as statements:
        messages.send_message(user_id=pair.owner.id, thread_id=pair.thread_id, body="re", db=db)
    assert statements[:3] == ["SELECT", "UPDATE", "INSERT"]
    assert statements.count("SELECT") == 2  # the locked read, then the cursor's (a reply)


def test_events_are_not_published_when_the_transaction_fails(db, published, monkeypatch):
    pair = Pair(db)
    published.clear()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(messages, "to_public", explode)
    with pytest.raises(RuntimeError):
        messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body="x", db=db)
    monkeypatch.undo()
    assert published == []
    assert messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=db) == []
    assert (
        inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db).message_count == 0
    )


def test_committing_handlers_see_the_events_before_the_commit_and_never_after_a_failure(
    db, published, monkeypatch
):
    pair = Pair(db)
    published.clear()
    seen: list[tuple[events.DomainEvent, int]] = []

    def committing(event: events.DomainEvent) -> None:
        # Another connection cannot see the message yet: the COMMIT has not been sent.
        count = inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
        seen.append((event, count.message_count))

    unsubscribe = events.subscribe_committing(committing)
    try:
        sent = messages.send_message(
            user_id=pair.operator.id, thread_id=pair.thread_id, body="x", db=db
        )
        assert [(type(e).__name__, n) for e, n in seen] == [("MessageCreated", 0)]
        assert seen[0][0] == published[0]  # the same event, then published once committed
        assert isinstance(seen[0][0], events.MessageCreated) and seen[0][0].message == sent
        seen.clear()

        def explode(*args, **kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr(messages, "to_public", explode)  # fails inside the transaction
        with pytest.raises(RuntimeError):
            messages.send_message(
                user_id=pair.operator.id, thread_id=pair.thread_id, body="y", db=db
            )
        assert seen == []
    finally:
        unsubscribe()


def test_a_reply_announces_the_read_only_when_it_passes_the_other_sides_messages(db, published):
    pair = Pair(db)
    published.clear()
    messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body="a", db=db)
    messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body="b", db=db)
    assert [type(e).__name__ for e in published] == ["MessageCreated", "MessageCreated"]
    # The sender's cursor stepped onto each of their own messages (reads._STEP_ONTO_OWN).
    mine = inbox.get_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
    assert (mine.last_read_seq, mine.unread_count) == (2, 0)
    published.clear()
    messages.send_message(user_id=pair.owner.id, thread_id=pair.thread_id, body="reply", db=db)
    read = [e for e in published if isinstance(e, events.ReadUpdated)]
    assert [(e.user_id, e.last_read_seq) for e in read] == [(pair.owner.id, 3)]
