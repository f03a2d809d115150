"""Offers and the deal stage under the app's RLS (alembic 0007), in raw SQL inside the app's
own user transaction: every Python check bypassed, the policies and the state-machine trigger
still hold.

The world of conftest.py, plus (written through the policies by the users themselves):

    o_a1  op_a's open v1 in t_a (expires in 7 days); op_a's numbers, not shared
    o_b1  op_b's v1 in t_b, declined by own_b; op_b's numbers, shared
    o_x1  op_b's v1 in t_x, declined by own_a
    t_x   stage "lost", set by own_a

Each row: who acts, the SQL (ids as :name), and the outcome: rows returned or changed (0: RLS
hid them; each 0-row case is also run on the elevated connection, which must see rows) or the
SQLSTATE of the refusal (42501: policy, privilege or trigger; 23505: the one-open index;
23514: a CHECK constraint).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from arbibase_chat import migrations
from arbibase_chat.services._tx import transaction
from tests.conftest import create_pg_database, drop_pg_database, unavailable
from tests.rls.conftest import World, attempt
from tests.rls.test_attacks import DENIED, NONE, upd

pytestmark = pytest.mark.postgres

UNIQUE = "23505"
CHECK = "23514"


def offer(thread: str, maker: str, version: int = 7, **extra: str) -> str:
    cols = {
        "id": "cast(:new as uuid)",
        "thread_id": f":{thread}",
        "version": str(version),
        "made_by": f":{maker}",
        "terms": """cast('{"rent": 1}' as jsonb)""",
        "status": "'sent'",
        "expires_at": "now() + interval '1 day'",
        "created_at": "now()",
        **extra,
    }
    return f"insert into messaging_offers ({', '.join(cols)}) values ({', '.join(cols.values())})"


def message(thread: str, sender: str, kind: str, metadata: str, seq: int = 99) -> str:
    return (
        "insert into messaging_messages (id, thread_id, seq, sender_id, body, seen_by, kind,"
        " metadata, created_at)"
        f" values (cast(:new as uuid), :{thread}, {seq}, :{sender}, 'update', cast('[]' as jsonb),"
        f" '{kind}', {metadata}, now())"
    )


def system(thread: str, sender: str, metadata: str) -> str:
    return message(thread, sender, "system", metadata)


def numbers(offer_key: str, operator: str) -> str:
    return (
        "insert into messaging_offer_numbers (offer_id, operator_id, inputs, roi, shared)"
        f" values (:{offer_key}, :{operator}, cast('{{}}' as jsonb), cast('{{}}' as jsonb), true)"
    )


def offer_id(key: str) -> str:
    return f"jsonb_build_object('offer_id', cast(:{key} as text))"


def _as(db: Engine, user: uuid.UUID, sql: str, params: dict[str, Any]) -> Any:
    """Run and commit `sql` as `user` in the app's own user transaction."""
    with transaction(db, as_user=user) as (session, _outbox):
        result: Any = session.execute(text(sql), params)
        return result.rowcount


def make_offer(
    db: Engine,
    thread: uuid.UUID,
    maker: uuid.UUID,
    version: int,
    parent: uuid.UUID | None = None,
) -> uuid.UUID:
    oid = uuid.uuid4()
    _as(
        db,
        maker,
        "insert into messaging_offers (id, thread_id, version, parent_id, made_by, terms, status,"
        " expires_at, created_at) values (:id, :thread, :version, :parent, :maker,"
        " cast(:terms as jsonb), 'sent', :expires, :now)",
        {
            "id": oid,
            "parent": parent,
            "thread": thread,
            "version": version,
            "maker": maker,
            "terms": json.dumps({"rent": 2400 + version}),
            "expires": datetime.now(UTC) + timedelta(days=7),
            "now": datetime.now(UTC),
        },
    )
    return oid


def add_numbers(db: Engine, offer: uuid.UUID, operator: uuid.UUID, shared: bool) -> None:
    _as(
        db,
        operator,
        "insert into messaging_offer_numbers (offer_id, operator_id, inputs, roi, shared)"
        """ values (:o, :op, cast('{"rent": 2400}' as jsonb), cast('{"roi": 0.3}' as jsonb),"""
        " :shared)",
        {"o": offer, "op": operator, "shared": shared},
    )


def decide(db: Engine, user: uuid.UUID, offer: uuid.UUID, status: str) -> None:
    changed = _as(
        db,
        user,
        "update messaging_offers set status = :status, decided_by = :me, decided_at = now()"
        " where id = :id",
        {"status": status, "me": user, "id": offer},
    )
    assert changed == 1


@pytest.fixture
def deals(world: World) -> World:
    db, ids = world.db, world.ids
    ids["o_a1"] = make_offer(db, world.t_a, world.op_a, 1)
    add_numbers(db, ids["o_a1"], world.op_a, shared=False)
    ids["o_b1"] = make_offer(db, world.t_b, world.op_b, 1)
    add_numbers(db, ids["o_b1"], world.op_b, shared=True)
    decide(db, world.own_b, ids["o_b1"], "declined")
    ids["o_x1"] = make_offer(db, world.t_x, world.op_b, 1)
    decide(db, world.own_a, ids["o_x1"], "declined")
    _as(
        db,
        world.own_a,
        "update messaging_threads set stage = 'lost', stage_reason = 'rented elsewhere',"
        " stage_changed_by = :me where id = :t",
        {"me": world.own_a, "t": world.t_x},
    )
    return world


ATTACKS = [
    # --- reading --------------------------------------------------------------------------------
    pytest.param(
        "op_a", "select * from messaging_offers where thread_id <> :t_a", NONE, id="read-others"
    ),
    pytest.param(
        "own_b",
        "select * from messaging_offers where thread_id = :t_a",
        NONE,
        id="read-stranger-to-the-thread",
    ),
    pytest.param(
        "own_a",
        "select * from messaging_offer_numbers where offer_id = :o_a1",
        NONE,
        id="numbers-owner-reads-unshared",
    ),
    pytest.param(
        "op_a",
        "select * from messaging_offer_numbers where offer_id = :o_b1",
        NONE,
        id="numbers-stranger-reads-shared",
    ),
    # --- making offers --------------------------------------------------------------------------
    pytest.param("op_a", offer("t_b", "op_a"), DENIED, id="insert-stranger"),
    pytest.param("op_a", offer("t_a", "own_a"), DENIED, id="insert-in-the-other-partys-name"),
    pytest.param(
        "op_a", offer("t_a", "op_a", status="'accepted'"), DENIED, id="insert-already-accepted"
    ),
    pytest.param(
        "op_a",
        offer("t_a", "op_a", decided_by=":own_a"),
        DENIED,
        id="insert-decided-by-the-other-party",
    ),
    pytest.param("op_a", offer("t_a", "op_a"), UNIQUE, id="insert-second-open-offer"),
    pytest.param("op_a", offer("t_a", "op_a", version=0), CHECK, id="insert-version-0"),
    # --- deciding -------------------------------------------------------------------------------
    *(
        pytest.param(
            "op_a",
            upd("messaging_offers", f"status = '{status}', decided_by = :op_a", "id = :o_a1"),
            DENIED,
            id=f"{status}-by-its-maker",
        )
        for status in ("accepted", "declined", "countered")
    ),
    pytest.param(
        "own_a",
        upd("messaging_offers", "status = 'withdrawn', decided_by = :own_a", "id = :o_a1"),
        DENIED,
        id="withdrawn-by-the-other-party",
    ),
    pytest.param(
        "own_a",
        upd("messaging_offers", "status = 'accepted', decided_by = :own_a", "id = :o_x1"),
        DENIED,
        id="decided-changes-again",
    ),
    pytest.param(
        "op_b",
        upd("messaging_offers", "status = 'withdrawn', decided_by = :op_b", "id = :o_x1"),
        DENIED,
        id="decided-withdrawn-by-its-maker",
    ),
    pytest.param(
        "own_a",
        upd("messaging_offers", "status = 'expired', decided_by = :own_a", "id = :o_a1"),
        DENIED,
        id="expired-before-due",
    ),
    pytest.param(
        "own_a",
        upd("messaging_offers", "status = 'declined', decided_by = :op_a", "id = :o_a1"),
        DENIED,
        id="decision-in-the-other-partys-name",
    ),
    pytest.param(
        "own_a",
        upd("messaging_offers", "reason = 'x'", "id = :o_a1"),
        DENIED,
        id="open-changed-without-a-decision",
    ),
    pytest.param(
        "op_a",
        upd("messaging_offers", """terms = cast('{"rent": 1}' as jsonb)""", "id = :o_a1"),
        DENIED,
        id="update-terms",
    ),
    pytest.param(
        "op_a", upd("messaging_offers", "version = 9", "id = :o_a1"), DENIED, id="update-version"
    ),
    pytest.param(
        "op_a",
        upd("messaging_offers", "made_by = :own_a", "id = :o_a1"),
        DENIED,
        id="update-made-by",
    ),
    pytest.param(
        "own_a",
        upd("messaging_offers", "expires_at = now()", "id = :o_a1"),
        DENIED,
        id="update-expires-at",
    ),
    pytest.param(
        "op_a",
        upd("messaging_offers", "message_id = :m_b1", "id = :o_a1"),
        DENIED,
        id="link-to-a-message-of-another-thread",
    ),
    pytest.param(
        "op_a",
        upd("messaging_offers", "message_id = :m_a2", "id = :o_a1"),
        DENIED,
        id="link-to-the-other-partys-message",
    ),
    pytest.param(
        "op_a",
        upd("messaging_offers", "status = 'withdrawn', decided_by = :op_a", "id = :o_b1"),
        NONE,
        id="update-other-pairs-offer",
    ),
    pytest.param("op_a", "delete from messaging_offers where id = :o_a1", DENIED, id="delete"),
    # --- numbers --------------------------------------------------------------------------------
    pytest.param("own_a", numbers("o_a1", "own_a"), DENIED, id="numbers-insert-by-the-owner"),
    pytest.param("op_a", numbers("o_b1", "op_a"), DENIED, id="numbers-insert-for-others-offer"),
    pytest.param(
        "own_a",
        upd("messaging_offer_numbers", "shared = true", "offer_id = :o_a1"),
        DENIED,
        id="numbers-share-them-myself",
    ),
    # --- system messages ------------------------------------------------------------------------
    pytest.param(
        "op_b", system("t_x", "op_b", offer_id("o_x1")), DENIED, id="system-others-decision"
    ),
    pytest.param(
        "op_a", system("t_a", "op_a", offer_id("o_a1")), DENIED, id="system-undecided-offer"
    ),
    pytest.param(
        "own_a",
        system("t_a", "own_a", offer_id("o_x1")),
        DENIED,
        id="system-my-decision-in-another-thread",
    ),
    pytest.param(
        "op_b",
        system("t_x", "op_b", """cast('{"stage": "lost"}' as jsonb)"""),
        DENIED,
        id="system-others-stage",
    ),
    pytest.param("own_a", system("t_a", "own_a", "null"), DENIED, id="system-about-nothing"),
    # --- the deal stage -------------------------------------------------------------------------
    pytest.param(
        "op_a",
        upd("messaging_threads", "stage = 'lost', stage_changed_by = :own_a", "id = :t_a"),
        DENIED,
        id="stage-in-the-other-partys-name",
    ),
    pytest.param(
        "op_b",
        upd("messaging_threads", "stage = 'signed'", "id = :t_x"),
        DENIED,
        id="stage-changed-leaving-the-other-partys-name",
    ),
    pytest.param(
        "op_b",
        upd("messaging_threads", "stage_changed_by = :op_b", "id = :t_x"),
        DENIED,
        id="stage-taken-over-from-the-other-party",
    ),
    pytest.param(
        "op_a",
        upd("messaging_threads", "stage = 'won', stage_changed_by = :op_a", "id = :t_a"),
        CHECK,
        id="stage-unknown",
    ),
    pytest.param(
        "op_a",
        upd("messaging_threads", "stage = 'lost', stage_changed_by = :op_a", "id = :t_b"),
        NONE,
        id="stage-of-other-pairs-thread",
    ),
]


@pytest.mark.parametrize(("actor", "sql", "expected"), ATTACKS)
def test_offer_attack_is_refused(deals: World, actor: str, sql: str, expected: int | str):
    outcome = attempt(deals.db, deals.ids[actor], sql, deals.params())
    assert outcome == expected, f"{actor}: {sql}"


@pytest.mark.parametrize(("actor", "sql", "expected"), [a for a in ATTACKS if a.values[2] == NONE])
def test_zero_row_offer_attacks_aim_at_real_rows(deals: World, actor: str, sql: str, expected):
    rows = attempt(deals.db, None, sql, deals.params())
    assert isinstance(rows, int) and rows > 0, rows


# --- an unverified owner reads offers but does not act on them -------------------------------


def test_an_unverified_owner_cannot_act_on_an_offer(deals: World):
    w = deals
    with w.db.begin() as conn:
        conn.execute(text("update users set verified = false where id = :id"), {"id": w.own_a})
    p = w.params()
    decline = upd("messaging_offers", "status = 'declined', decided_by = :own_a", "id = :o_a1")
    assert attempt(w.db, w.own_a, decline, p) == DENIED
    withdraw_and_counter = offer("t_a", "own_a", version=2)
    assert attempt(w.db, w.own_a, withdraw_and_counter, p) == DENIED
    stage = upd("messaging_threads", "stage = 'lost', stage_changed_by = :own_a", "id = :t_a")
    assert attempt(w.db, w.own_a, stage, p) == DENIED
    assert attempt(w.db, w.own_a, "select * from messaging_offers where thread_id = :t_a", p) == 1
    # Verified again, the same decision goes through: RLS refused the caller, not the statement.
    with w.db.begin() as conn:
        conn.execute(text("update users set verified = true where id = :id"), {"id": w.own_a})
    assert attempt(w.db, w.own_a, decline, p) == 1


# --- what the parties may do ----------------------------------------------------------------


def test_offer_counter_accept_and_the_system_messages_of_ones_own_decisions(deals: World):
    w = deals
    db = w.db
    # own_a (verified) counters op_a's v1: marks it countered, then makes v2.
    decide(db, w.own_a, w.o_a1, "countered")
    v2 = make_offer(db, w.t_a, w.own_a, 2, parent=w.o_a1)
    # own_a posts the offer message that carries v2 and links it; then the system message.
    carrier = uuid.uuid4()
    with transaction(db, as_user=w.own_a) as (session, _):
        seq = session.execute(
            text(
                "update messaging_threads set last_seq = last_seq + 1 where id = :t returning last_seq"
            ),
            {"t": w.t_a},
        ).scalar_one()
        session.execute(
            text(
                "insert into messaging_messages (id, thread_id, seq, sender_id, body, seen_by,"
                " kind, metadata, created_at) values (:id, :t, :seq, :me, '$2,300', '[]',"
                " 'offer', cast(:meta as jsonb), now())"
            ),
            {
                "id": carrier,
                "t": w.t_a,
                "seq": seq,
                "me": w.own_a,
                "meta": json.dumps({"offer_id": str(v2)}),
            },
        )
        linked: Any = session.execute(
            text("update messaging_offers set message_id = :m where id = :id"),
            {"m": carrier, "id": v2},
        )
        assert linked.rowcount == 1
        session.execute(
            text(
                "insert into messaging_messages (id, thread_id, seq, sender_id, body, seen_by,"
                " kind, metadata, created_at) values (:id, :t, :seq, :me, 'countered', '[]',"
                " 'system', cast(:meta as jsonb), now())"
            ),
            {
                "id": uuid.uuid4(),
                "t": w.t_a,
                "seq": seq + 1,
                "me": w.own_a,
                "meta": json.dumps({"offer_id": str(w.o_a1)}),
            },
        )
        session.execute(
            text("update messaging_threads set last_seq = :s where id = :t"),
            {"s": seq + 1, "t": w.t_a},
        )
    # op_a accepts v2 and says so, then sets the stage in their own name and says that too.
    decide(db, w.op_a, v2, "accepted")
    with transaction(db, as_user=w.op_a) as (session, _):
        seq = session.execute(
            text(
                "update messaging_threads set last_seq = last_seq + 2, stage = 'agreed',"
                " stage_changed_by = :me where id = :t returning last_seq"
            ),
            {"t": w.t_a, "me": w.op_a},
        ).scalar_one()
        for n, meta in ((seq - 1, {"offer_id": str(v2)}), (seq, {"stage": "agreed"})):
            session.execute(
                text(
                    "insert into messaging_messages (id, thread_id, seq, sender_id, body,"
                    " seen_by, kind, metadata, created_at) values (:id, :t, :seq, :me, 'x',"
                    " '[]', 'system', cast(:meta as jsonb), now())"
                ),
                {"id": uuid.uuid4(), "t": w.t_a, "seq": n, "me": w.op_a, "meta": json.dumps(meta)},
            )
    with w.db.begin() as conn:
        rows = conn.execute(
            text(
                "select version, status, decided_by from messaging_offers where thread_id = :t"
                " order by version"
            ),
            {"t": w.t_a},
        ).all()
        kinds = conn.execute(
            text(
                "select kind, count(*) from messaging_messages where thread_id = :t group by kind"
            ),
            {"t": w.t_a},
        ).all()
    assert [tuple(r) for r in rows] == [(1, "countered", w.own_a), (2, "accepted", w.op_a)]
    assert {kind: n for kind, n in kinds}["system"] == 3


def test_maker_withdraws_and_either_party_expires_once_due(deals: World):
    w = deals
    decide(w.db, w.op_a, w.o_a1, "withdrawn")
    v2 = make_offer(w.db, w.t_a, w.op_a, 2)
    with w.db.begin() as conn:  # elevated: the offer is due
        conn.execute(
            text(
                "update messaging_offers set expires_at = now() - interval '1 minute' where id = :id"
            ),
            {"id": v2},
        )
    decide(w.db, w.own_a, v2, "expired")


def test_numbers_the_operator_reads_and_the_owner_only_when_shared(deals: World):
    w = deals
    p = w.params()
    mine = "select * from messaging_offer_numbers"
    assert attempt(w.db, w.op_a, mine, p) == 1  # o_a1's, unshared
    assert attempt(w.db, w.own_a, mine, p) == 0  # o_a1's unshared; o_b1's is another pair's
    assert attempt(w.db, w.own_b, mine, p) == 1  # o_b1's, shared by op_b


def test_the_owner_writes_no_operator_numbers_for_their_counter(deals: World):
    w = deals
    decide(w.db, w.own_a, w.o_a1, "countered")
    v2 = make_offer(w.db, w.t_a, w.own_a, 2, parent=w.o_a1)
    p = w.params() | {"v2": str(v2)}
    sql = (
        "insert into messaging_offer_numbers (offer_id, operator_id, inputs, roi, shared)"
        " values (:v2, :own_a, cast('{}' as jsonb), cast('{}' as jsonb), false)"
    )
    assert attempt(w.db, w.own_a, sql, p) == DENIED


def test_new_tables_get_no_default_privileges_of_a_supabase_database():
    """In a Supabase database, default privileges grant ALL on every new table to anon and
    authenticated; 0007 takes that back before granting what the app needs."""
    try:
        url = create_pg_database("arbibase_defaults")
    except psycopg.Error as exc:
        unavailable("PostgreSQL", exc)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "do $$ begin"
                " if not exists (select 1 from pg_roles where rolname = 'anon') then"
                "   create role anon nologin noinherit; end if;"
                " if not exists (select 1 from pg_roles where rolname = 'authenticated') then"
                "   create role authenticated nologin noinherit; end if;"
                " if not exists (select 1 from pg_roles where rolname = 'service_role') then"
                "   create role service_role nologin noinherit bypassrls; end if;"
                " end $$"
            )
            conn.execute(
                "alter default privileges in schema public"
                " grant all on tables to anon, authenticated, service_role"
            )
        migrations.upgrade(url)
        with psycopg.connect(url) as conn:

            def may(role: str, table: str, privilege: str) -> bool:
                row = conn.execute(
                    "select has_table_privilege(%s, %s, %s)", [role, table, privilege]
                ).fetchone()
                assert row is not None
                return bool(row[0])

            everything = ("select", "insert", "update", "delete", "truncate", "references")
            for table in ("public.messaging_offers", "public.messaging_offer_numbers"):
                assert not any(may("anon", table, p) for p in everything), table
                for privilege in ("delete", "truncate", "references", "trigger"):
                    assert not may("authenticated", table, privilege), (table, privilege)
            assert not may("authenticated", "public.messaging_offer_numbers", "update")
            terms = conn.execute(
                "select has_column_privilege('authenticated', 'public.messaging_offers',"
                " 'terms', 'update')"
            ).fetchone()
            assert terms == (False,)
    finally:
        drop_pg_database(url)
