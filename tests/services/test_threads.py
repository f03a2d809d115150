import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, update

from arbibase_chat.models import MessagingThread, Participant
from arbibase_chat.services import inbox, messages, properties, threads
from arbibase_chat.services.errors import Conflict, Forbidden, Invalid, NotFound
from tests import factories
from tests.factories import Pair


def test_get_or_create_returns_the_active_thread(db):
    pair = Pair(db)
    again = threads.get_or_create_thread(
        user_id=pair.operator.id, property_id=pair.property.id, owner_id=pair.owner.id, db=db
    )
    assert again.id == pair.thread_id and again.created is False
    thread = inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    assert thread.operator_id == pair.operator.id and thread.owner_id == pair.owner.id
    assert thread.subject == "Lease offer" and thread.status == "active"
    assert thread.my_role == "owner" and thread.counterparty_id == pair.operator.id
    assert thread.property_title == pair.property.title
    assert thread.last_message_at.tzinfo is not None


def test_get_or_create_rules(db):
    pair = Pair(db)
    other_owner = factories.user(db, "owner")
    with pytest.raises(Invalid) as err:
        threads.get_or_create_thread(
            user_id=pair.operator.id, property_id=pair.property.id, owner_id=other_owner.id, db=db
        )
    assert err.value.field == "owner_id"
    with pytest.raises(Invalid):
        threads.get_or_create_thread(
            user_id=pair.owner.id, property_id=pair.property.id, owner_id=pair.owner.id, db=db
        )
    with pytest.raises(NotFound):
        threads.get_or_create_thread(
            user_id=pair.operator.id, property_id=uuid.uuid4(), owner_id=pair.owner.id, db=db
        )
    with pytest.raises(Invalid) as err:
        threads.get_or_create_thread(
            user_id=pair.operator.id, property_id="nope", owner_id=pair.owner.id, db=db
        )
    assert err.value.field == "property_id"
    with pytest.raises(Invalid):
        threads.get_or_create_thread(
            user_id=pair.operator.id,
            property_id=pair.property.id,
            owner_id=pair.owner.id,
            subject="x" * 201,
            db=db,
        )


def test_only_operators_start_negotiations(db):
    pair = Pair(db)
    landlord = factories.user(db, "owner")
    with pytest.raises(Forbidden):
        threads.get_or_create_thread(
            user_id=landlord.id, property_id=pair.property.id, owner_id=pair.owner.id, db=db
        )


def test_a_closed_thread_makes_room_for_a_new_one_and_reopen_conflicts(db):
    pair = Pair(db)
    threads.update_thread(user_id=pair.owner.id, thread_id=pair.thread_id, status="closed", db=db)
    fresh = threads.get_or_create_thread(
        user_id=pair.operator.id, property_id=pair.property.id, owner_id=pair.owner.id, db=db
    )
    assert fresh.created and fresh.id != pair.thread_id
    with pytest.raises(Conflict):
        threads.update_thread(
            user_id=pair.operator.id, thread_id=pair.thread_id, status="active", db=db
        )
    # My archive is mine alone: the fresh thread stays active for the pair, so still a conflict.
    threads.update_thread(user_id=pair.operator.id, thread_id=fresh.id, status="archived", db=db)
    with pytest.raises(Conflict):
        threads.update_thread(
            user_id=pair.operator.id, thread_id=pair.thread_id, status="active", db=db
        )
    threads.update_thread(user_id=pair.operator.id, thread_id=fresh.id, status="closed", db=db)
    reopened = threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, status="active", db=db
    )
    assert reopened.status == "active"


def test_status_subject_and_tags(db):
    pair = Pair(db)
    t = threads.update_thread(
        user_id=pair.owner.id,
        thread_id=pair.thread_id,
        status="archived",
        subject="  New   subject ",
        add_tags=["Offer Sent", " Offer  Sent ", "Hot"],
        db=db,
    )
    assert t.status == "archived" and t.subject == "New subject"
    assert t.tags == ["Hot", "Offer Sent"]
    t = threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, remove_tags=["Hot"], db=db
    )
    assert t.tags == ["Offer Sent"]
    t = threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, remove_tags=["Gone"], db=db
    )
    assert t.tags == ["Offer Sent"]
    with pytest.raises(Invalid) as err:
        threads.update_thread(
            user_id=pair.owner.id, thread_id=pair.thread_id, status="deleted", db=db
        )
    assert err.value.field == "status"
    with pytest.raises(Invalid):
        threads.update_thread(
            user_id=pair.owner.id, thread_id=pair.thread_id, add_tags=[" "], db=db
        )
    with pytest.raises(Invalid):
        threads.update_thread(
            user_id=pair.owner.id,
            thread_id=pair.thread_id,
            add_tags=[f"t{i}" for i in range(threads.MAX_TAGS_PER_THREAD)],
            db=db,
        )


def _inbox(db, user, **filters):
    return inbox.list_threads(user_id=user.id, db=db, **filters).items


def test_inbox_newest_first_with_unread_and_preview(db):
    operator = factories.user(db, "operator")
    owners = [factories.user(db, "owner") for _ in range(3)]
    ids = []
    for owner in owners:
        prop = factories.listing(db, owner, title=f"Home of {owner.display_name}")
        ids.append(
            threads.get_or_create_thread(
                user_id=operator.id, property_id=prop.id, owner_id=owner.id, db=db
            ).id
        )
    messages.send_message(user_id=owners[0].id, thread_id=ids[0], body="first", db=db)
    messages.send_message(user_id=owners[0].id, thread_id=ids[0], body="second " * 100, db=db)
    messages.send_message(user_id=operator.id, thread_id=ids[1], body="hello", db=db)
    rows = _inbox(db, operator)
    assert [t.id for t in rows] == [ids[1], ids[0], ids[2]]
    assert [t.unread_count for t in rows] == [0, 2, 0]
    assert rows[1].last_message.body.startswith("second") and len(rows[1].last_message.body) == 160
    assert rows[1].counterparty_name == owners[0].display_name
    assert rows[2].last_message is None and rows[2].message_count == 0
    assert _inbox(db, owners[0])[0].unread_count == 0
    assert _inbox(db, owners[1])[0].unread_count == 1


def test_inbox_filters(db):
    pair = Pair(db)
    # The operator also owns a property someone else negotiates on.
    pair.operator  # noqa: B018
    second_operator = factories.user(db, "operator")
    landlord = factories.user(db, "owner")
    prop2 = factories.listing(db, landlord, title="Second")
    other = threads.get_or_create_thread(
        user_id=pair.operator.id, property_id=prop2.id, owner_id=landlord.id, db=db
    ).id
    threads.update_thread(user_id=pair.operator.id, thread_id=other, add_tags=["Offer Sent"], db=db)
    threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, status="archived", db=db
    )
    me = pair.operator
    assert {t.id for t in _inbox(db, me)} == {pair.thread_id, other}
    assert [t.id for t in _inbox(db, me, status="archived")] == [pair.thread_id]
    assert [t.id for t in _inbox(db, me, tag="Offer Sent")] == [other]
    assert [t.id for t in _inbox(db, me, property_id=prop2.id)] == [other]
    assert _inbox(db, me, role="owner") == []
    assert len(_inbox(db, me, role="operator")) == 2
    assert _inbox(db, second_operator) == []
    for bad in ({"role": "admin"}, {"status": "gone"}, {"property_id": "x"}, {"cursor": "%%%"}):
        with pytest.raises(Invalid):
            _inbox(db, me, **bad)
    with pytest.raises(Invalid):
        inbox.list_threads(user_id=me.id, limit=0, db=db)


def test_inbox_keyset_pagination_with_equal_timestamps(db):
    operator = factories.user(db, "operator")
    owner = factories.user(db, "owner")
    ids = []
    for i in range(7):
        prop = factories.listing(db, owner, title=f"P{i}")
        ids.append(
            threads.get_or_create_thread(
                user_id=operator.id, property_id=prop.id, owner_id=owner.id, db=db
            ).id
        )
    same = datetime(2026, 1, 1, tzinfo=UTC)
    with db.begin() as conn:  # force ties: every thread active at the same instant
        conn.execute(update(MessagingThread).values(last_message_at=same))
        conn.execute(update(Participant).values(last_message_at=same))
    seen: list[uuid.UUID] = []
    cursor: str | None = None
    while True:
        page = inbox.list_threads(user_id=operator.id, limit=3, cursor=cursor, db=db)
        seen.extend(t.id for t in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 7 and set(seen) == set(ids)


def test_inbox_costs_two_queries_whatever_the_page_size(db):
    operator = factories.user(db, "operator")
    owner = factories.user(db, "owner")
    for i in range(12):
        prop = factories.listing(db, owner, title=f"P{i}")
        tid = threads.get_or_create_thread(
            user_id=operator.id, property_id=prop.id, owner_id=owner.id, db=db
        ).id
        threads.update_thread(user_id=operator.id, thread_id=tid, add_tags=[f"tag{i}"], db=db)
        messages.send_message(user_id=owner.id, thread_id=tid, body=f"m{i}", db=db)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        # (On Postgres the transaction first takes the user's role and claims: not a query.)
        if statement.lstrip().upper().startswith("SELECT") and "set_config" not in statement:
            statements.append(statement)

    event.listen(db, "before_cursor_execute", count)
    try:
        page = inbox.list_threads(user_id=operator.id, limit=50, db=db)
    finally:
        event.remove(db, "before_cursor_execute", count)
    assert len(page.items) == 12 and all(t.tags for t in page.items)
    assert len(statements) == 2


def test_properties_browse_and_only_owners_list(db):
    owner = factories.user(db, "owner")
    operator = factories.user(db, "operator")
    prop = factories.listing(db, owner)
    assert prop.owner_id == owner.id and prop.monthly_rent_cents == 350_000
    from arbibase_chat.services.errors import Forbidden

    with pytest.raises(Forbidden):
        factories.listing(db, operator)
    with pytest.raises(Invalid):
        properties.create_property(
            user_id=owner.id, data={"title": " ", "address": "a", "city": "b"}, db=db
        )
    with pytest.raises(Invalid):
        properties.create_property(
            user_id=owner.id,
            data={"title": "t", "address": "a", "city": "b", "bedrooms": -1},
            db=db,
        )
    assert [p.id for p in properties.list_properties(user_id=operator.id, db=db)] == [prop.id]
    assert properties.list_properties(user_id=operator.id, city="Nowhere", db=db) == []
    assert (
        properties.get_property(user_id=operator.id, property_id=prop.id, db=db).title == prop.title
    )
    with pytest.raises(NotFound):
        properties.get_property(user_id=operator.id, property_id=uuid.uuid4(), db=db)


def test_thread_timestamps_are_utc_aware(db):
    pair = Pair(db)
    t = inbox.get_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
    assert t.created_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - t.created_at) < timedelta(minutes=1)


def test_inbox_search_matches_subject_property_person_and_text(db):
    pair = Pair(db)
    other = Pair(db)
    messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body="Deposit is 100% refundable", db=db
    )
    me = pair.operator

    def found(text):
        return [t.id for t in inbox.list_threads(user_id=me.id, search=text, db=db).items]

    assert found("lease OFFER") == [pair.thread_id]  # subject
    assert found("beach") == [pair.thread_id]  # property title
    assert found(pair.owner.display_name.upper()) == [pair.thread_id]  # counter-party
    assert found("REFUNDABLE") == [pair.thread_id]  # message text
    assert found("100%") == [pair.thread_id]  # LIKE wildcards are literal
    assert found("1_0") == []  # `_` is literal in names, a word separator in message text
    assert found("refund") == [pair.thread_id]  # message text: word prefixes (the index)...
    assert found("fundable") == []  # ...not any substring
    assert found("nothing like this") == []
    # Another pair's words never surface in my search.
    messages.send_message(
        user_id=other.operator.id, thread_id=other.thread_id, body="secret-word", db=db
    )
    assert found("secret-word") == []
    with pytest.raises(Invalid):
        found("x" * 101)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": "Lease \ud800"}, "subject"),
        ({"add_tags": ["ok", "x\udfff"]}, "add_tags"),
        ({"remove_tags": ["\ud800"]}, "remove_tags"),
    ],
)
def test_lone_surrogates_are_refused_naming_the_field(db, change, field):
    pair = Pair(db)
    with pytest.raises(Invalid) as err:
        threads.update_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=db, **change)
    assert err.value.field == field
    t = inbox.get_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
    assert (t.subject, t.tags) == ("Lease offer", [])


@pytest.mark.parametrize(
    ("add", "remove"),
    [(["Offer Sent"], ["Offer Sent"]), (["Offer Sent"], ["  Offer \n Sent "]), (["a", "b"], ["b"])],
)
def test_a_tag_cannot_be_added_and_removed_at_once(db, add, remove):
    """Compared as the service stores tags: the request is ambiguous, so it is refused."""
    pair = Pair(db)
    threads.update_thread(user_id=pair.operator.id, thread_id=pair.thread_id, add_tags=["b"], db=db)
    with pytest.raises(Invalid, match="added and removed at once") as err:
        threads.update_thread(
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            add_tags=add,
            remove_tags=remove,
            db=db,
        )
    assert err.value.field == "add_tags"
    t = inbox.get_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
    assert t.tags == ["b"]
