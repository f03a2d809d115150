"""Message search (services/search.py, issue #14 target 6), on SQLite (FTS5) and PostgreSQL
(GIN over tsvector, under RLS)."""

from __future__ import annotations

import pytest

from arbibase_chat.services import message_edits, messages, search, threads
from arbibase_chat.services.errors import Invalid
from tests.factories import Pair


def _send(pair: Pair, body: str, *, by_owner: bool = False):
    sender = pair.owner if by_owner else pair.operator
    return messages.send_message(user_id=sender.id, thread_id=pair.thread_id, body=body, db=pair.db)


def _found(db, user, query, **kwargs):
    return search.search_messages(user_id=user.id, query=query, db=db, **kwargs)


def test_finds_a_word_in_my_threads_with_where_to_jump(db):
    pair = Pair(db)
    _send(pair, "Hello there")
    sent = _send(pair, "The deposit is refundable after checkout", by_owner=True)
    hits = _found(db, pair.operator, "REFUNDABLE")
    assert [h.message_id for h in hits] == [sent.id]
    hit = hits[0]
    assert (hit.thread_id, hit.seq, hit.sender_id) == (pair.thread_id, sent.seq, pair.owner.id)
    assert hit.sender_name == pair.owner.display_name
    assert hit.thread_title == "Lease offer" and hit.property_title == pair.property.title
    assert hit.status == "active"
    assert "".join(p.text for p in hit.snippet) == sent.body
    assert [p.text for p in hit.snippet if p.match] == ["refundable"]
    # The other party finds it too; the last word is a prefix while typing.
    assert [h.message_id for h in _found(db, pair.owner, "deposit refund")] == [sent.id]


def test_every_word_is_required_and_only_the_last_is_a_prefix(db):
    pair = Pair(db)
    both = _send(pair, "parking and wifi included")
    _send(pair, "parking is on the street")
    assert [h.message_id for h in _found(db, pair.operator, "wifi parking")] == [both.id]
    assert len(_found(db, pair.operator, "park")) == 2
    assert _found(db, pair.operator, "park wifi") == []  # "park" is not a prefix here


def test_ranked_by_relevance_then_newest(db):
    pair = Pair(db)
    once = _send(pair, "pool " + "filler words here " * 12)
    twice = _send(pair, "pool pool")
    older_same = _send(pair, "pool table")
    newer_same = _send(pair, "pool table")
    hits = [h.message_id for h in _found(db, pair.operator, "pool")]
    assert hits[0] == twice.id
    assert hits[-1] == once.id
    assert hits.index(newer_same.id) < hits.index(older_same.id)
    assert [h.message_id for h in _found(db, pair.operator, "pool", limit=2)] == hits[:2]


def test_a_stranger_and_another_pair_find_nothing_of_mine(db):
    pair, other = Pair(db), Pair(db)
    _send(pair, "confidential rent figure")
    _send(other, "their own confidential note")
    mine = _found(db, pair.operator, "confidential")
    assert {h.thread_id for h in mine} == {pair.thread_id}
    assert {h.thread_id for h in _found(db, other.owner, "confidential")} == {other.thread_id}
    assert _found(db, other.operator, "rent") == []


def test_an_edit_changes_what_is_found_and_a_deleted_message_is_gone(db):
    pair = Pair(db)
    sent = _send(pair, "the keys are in the lockbox")
    kept = _send(pair, "lockbox code follows")
    message_edits.edit_message(
        user_id=pair.operator.id,
        thread_id=pair.thread_id,
        message_id=sent.id,
        body="the keys are with the neighbour",
        db=db,
    )
    assert [h.message_id for h in _found(db, pair.operator, "lockbox")] == [kept.id]
    assert [h.message_id for h in _found(db, pair.operator, "neighbour")] == [sent.id]
    message_edits.delete_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, message_id=sent.id, db=db
    )
    assert _found(db, pair.operator, "neighbour") == []
    assert _found(db, pair.operator, "keys") == []


def test_archived_threads_are_searched_and_say_so(db):
    pair = Pair(db)
    sent = _send(pair, "garage door opener")
    threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, status="archived", db=db
    )
    (hit,) = _found(db, pair.operator, "garage")
    assert hit.message_id == sent.id and hit.status == "archived"
    (theirs,) = _found(db, pair.owner, "garage")
    assert theirs.status == "active"


HOSTILE = [
    '"',
    '"pool',
    "*",
    "pool*",
    "NEAR(pool wifi)",
    "pool:*",
    "pool & !wifi",
    "!pool",
    "pool | wifi",
    "pool\\",
    "\\'pool",
    "'; drop table messaging_messages; --",
    "pool OR wifi",
    "-pool",
    "pool NOT wifi",
    "(pool",
    "pool)",
    "^pool",
    "pool <-> wifi",
    "%_%",
    "ПУЛ",
    "piscine éte",
    "🏊 pool",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_query_syntax_is_never_interpreted(db, query):
    pair = Pair(db)
    _send(pair, "pool and wifi")
    _send(pair, "Piscine été, пул")
    hits = _found(db, pair.operator, query)  # never a database error
    for hit in hits:
        assert "".join(p.text for p in hit.snippet) in ("pool and wifi", "Piscine été, пул")


def test_operators_are_plain_words(db):
    pair = Pair(db)
    pool = _send(pair, "pool and wifi")
    accents = _send(pair, "Piscine été, пул")
    assert [h.message_id for h in _found(db, pair.operator, "pool OR garage")] == []
    assert [h.message_id for h in _found(db, pair.operator, '"pool"')] == [pool.id]
    assert [h.message_id for h in _found(db, pair.operator, "NEAR(pool wifi)")] == []
    assert [h.message_id for h in _found(db, pair.operator, "pool & !wifi")] == [pool.id]
    assert [h.message_id for h in _found(db, pair.operator, "ПУЛ")] == [accents.id]
    assert [h.message_id for h in _found(db, pair.operator, "piscine")] == [accents.id]
    assert _found(db, pair.operator, "***") == []


@pytest.mark.parametrize("query", ["", "   ", "x" * 101, None, 5, ["pool"], "a\x00b"])
def test_bad_queries_are_invalid(db, query):
    pair = Pair(db)
    with pytest.raises(Invalid):
        _found(db, pair.operator, query)


def test_before_and_limit_are_checked(db):
    pair = Pair(db)
    sent = _send(pair, "terrace view")
    with pytest.raises(Invalid):
        _found(db, pair.operator, "terrace", limit=0)
    with pytest.raises(Invalid):
        _found(db, pair.operator, "terrace", before="yesterday")
    assert _found(db, pair.operator, "terrace", before=sent.created_at) == []
    later = sent.created_at.isoformat().replace("+00:00", "Z")
    assert _found(db, pair.operator, "terrace", before=later) == []


def test_snippet_marks_words_as_plain_text():
    pieces = search.snippet("a <b>pool</b> & POOL-side", ["pool"])
    assert [(p.text, p.match) for p in pieces] == [
        ("a <b>", False),
        ("pool", True),
        ("</b> & ", False),
        ("POOL", True),
        ("-side", False),
    ]
    long = "word " * 100 + "target " + "tail " * 100
    cut = search.snippet(long, ["target"])
    assert cut[0].text == "…" and cut[-1].text == "…"
    assert [p.text for p in cut if p.match] == ["target"]
    assert len("".join(p.text for p in cut)) <= search.SNIPPET_CHARS + 2


@pytest.mark.parametrize(
    "path",
    [
        pytest.param({"SMALL_USER": -1, "PROBE": 1000}, id="gin-probe"),
        pytest.param({"SMALL_USER": -1, "PROBE": 1000, "CANDIDATES": 3}, id="recent-rows"),
        pytest.param(
            {"SMALL_USER": -1, "PROBE": 1, "CANDIDATES": 3, "RECENT_ROWS": 1}, id="newest-walk"
        ),
        pytest.param(
            {"SMALL_USER": -1, "PROBE": 1, "CANDIDATES": 3, "RECENT_ROWS": 1, "WALK_ROWS": 0},
            id="probe-then-walk",
        ),
    ],
)
def test_the_paths_for_big_users_find_the_same(db, monkeypatch, path):
    """PostgreSQL picks a path by the user's size and the word's (services/search.py); each
    finds only my live messages. SQLite has one path: the same test holds there."""
    for name, value in path.items():
        monkeypatch.setattr(search, name, value)
    pair, other = Pair(db), Pair(db)
    sent = [_send(pair, f"balcony {i}") for i in range(5)]
    _send(other, "balcony of someone else")
    message_edits.delete_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, message_id=sent[0].id, db=db
    )
    hits = [h.message_id for h in _found(db, pair.operator, "balcony")]
    expected = [m.id for m in reversed(sent[1:])]  # equal ranks: newest first
    assert hits == expected[: search.CANDIDATES]
    assert [h.message_id for h in _found(db, pair.operator, "balc", limit=1)] == expected[:1]
    assert _found(db, pair.operator, "nowhere") == []


def test_the_postgres_index_function_answers_only_the_callers_threads(db):
    """alembic 0013's `messaging_rls.message_search` runs as its owner (RLS keeps `@@` off the
    index): it must itself limit the ids to the caller's threads and to live messages."""
    if db.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    from sqlalchemy import text

    from arbibase_chat.services._tx import reading

    pair, stranger = Pair(db), Pair(db)
    sent = _send(pair, "mezzanine plans")
    gone = _send(pair, "mezzanine old")
    message_edits.delete_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, message_id=gone.id, db=db
    )
    sql = text("select message_id from messaging_rls.message_search(to_tsquery('simple', :q), 10)")
    for user, expected in ((pair.owner, {sent.id}), (stranger.operator, set())):
        with reading(db, as_user=user.id) as session:
            assert set(session.scalars(sql, {"q": "'mezzanine':*"})) == expected


@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # prepared statements: psycopg's
def test_a_search_run_often_is_still_planned_for_its_words(db):
    """psycopg prepares a statement at its 5th run on a connection; Postgres may then switch
    to the generic plan, made without the words (at 1M messages it walked far more rows:
    115 ms instead of 7 for the newest 3,000 messages). Search transactions ask for custom
    plans only."""
    from sqlalchemy import create_engine, text

    pair = Pair(db)
    _send(pair, "The deposit is refundable after checkout")
    # Every run on one connection, whose default is the generic plan as soon as there is one
    # (what Postgres chose by itself at 1M messages; with a few rows it may not).
    one = create_engine(
        db.url,
        pool_size=1,
        max_overflow=0,
        connect_args={"options": "-c plan_cache_mode=force_generic_plan"},
    )
    try:
        for _ in range(8):
            assert len(_found(one, pair.operator, "refundable")) == 1
        with one.connect() as conn:
            plans = conn.execute(
                text(
                    "select generic_plans, custom_plans from pg_prepared_statements"
                    " where statement like '%search_vector%'"
                )
            ).all()
    finally:
        one.dispose()
    assert plans, "no search statement was prepared: psycopg's threshold changed?"
    assert all(generic == 0 for generic, _custom in plans), plans
