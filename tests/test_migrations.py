"""Alembic owns the schema: it round-trips and matches the models on both backends."""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import arbibase_chat.models  # noqa: F401  (tables on the metadata)
from arbibase_chat import db as dbmod
from arbibase_chat import migrations
from arbibase_chat.services import fulltext, inbox, messages
from tests.conftest import create_pg_database, drop_pg_database, unavailable


@dataclass
class World0004:
    owner_id: uuid.UUID
    thread_id: uuid.UUID
    message_ids: list[uuid.UUID]


def _world_at_0004(engine, *, messages: int) -> World0004:
    """An operator, a verified owner, their thread and `messages` messages, in 0004's columns."""
    pg = engine.dialect.name == "postgresql"
    key = str if pg else lambda u: u.hex
    now = datetime.now(UTC)
    op_id, owner_id, prop_id, thread_id = (uuid.uuid4() for _ in range(4))
    ids = [uuid.uuid4() for _ in range(messages)]
    with engine.begin() as conn:
        for uid, role in ((op_id, "operator"), (owner_id, "owner")):
            conn.execute(
                text(
                    "INSERT INTO users (id, email, display_name, role, tier, verified,"
                    " password_hash, created_at)"
                    " VALUES (:id, :email, 'x', :role, 'beta', true, 'x', :now)"
                ),
                {"id": key(uid), "email": f"{uid.hex}@example.com", "role": role, "now": now},
            )
        conn.execute(
            text(
                "INSERT INTO properties (id, owner_id, title, address, city, created_at)"
                " VALUES (:id, :owner, 'Home', '1 Main St', 'Austin', :now)"
            ),
            {"id": key(prop_id), "owner": key(owner_id), "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO messaging_threads (id, property_id, operator_id, owner_id, status,"
                " last_seq, last_message_at, created_at)"
                " VALUES (:id, :prop, :op, :owner, 'active', :n, :now, :now)"
            ),
            {
                "id": key(thread_id),
                "prop": key(prop_id),
                "op": key(op_id),
                "owner": key(owner_id),
                "n": messages,
                "now": now,
            },
        )
        for uid, role in ((op_id, "operator"), (owner_id, "owner")):
            conn.execute(
                text(
                    "INSERT INTO messaging_participants (thread_id, user_id, role,"
                    " last_read_seq, last_message_at) VALUES (:t, :u, :role, 0, :now)"
                ),
                {"t": key(thread_id), "u": key(uid), "role": role, "now": now},
            )
        for seq, mid in enumerate(ids, start=1):
            conn.execute(
                text(
                    "INSERT INTO messaging_messages (id, thread_id, seq, sender_id, body,"
                    " seen_by, kind, created_at) VALUES (:id, :t, :seq, :s, 'x', :seen, 'text',"
                    " :now)"
                ),
                {
                    "id": key(mid),
                    "t": key(thread_id),
                    "seq": seq,
                    "s": key(op_id),
                    "seen": "[]",
                    "now": now,
                },
            )
    return World0004(owner_id=owner_id, thread_id=thread_id, message_ids=ids)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrate.db'}"
        yield url
        dbmod.dispose_engine(url)
        return
    try:
        url = create_pg_database("arbibase_migrate")
    except Exception as exc:
        unavailable("PostgreSQL", exc)
    try:
        yield url
    finally:
        drop_pg_database(url)


def _tables(url):
    names = set(inspect(dbmod.get_engine(url)).get_table_names()) - {"alembic_version"}
    return names - fulltext.SEARCH_OBJECTS


def _not_search_index(_obj, name, _type, _reflected, _compare_to):
    """The full-text index (alembic 0013) is per backend and outside the ORM metadata."""
    return name not in fulltext.SEARCH_OBJECTS


def _diff(url):
    with dbmod.get_engine(url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _not_search_index})
        return compare_metadata(context, SQLModel.metadata)


def test_upgrade_downgrade_upgrade_round_trip(fresh_url):
    migrations.upgrade(fresh_url)
    expected = {t.name for t in SQLModel.metadata.sorted_tables}
    assert _tables(fresh_url) == expected
    assert _diff(fresh_url) == []
    migrations.downgrade(fresh_url, "base")
    assert _tables(fresh_url) == set()
    migrations.upgrade(fresh_url)
    assert _tables(fresh_url) == expected
    assert _diff(fresh_url) == []


def test_one_active_thread_index_is_partial(fresh_url):
    migrations.upgrade(fresh_url)
    engine = dbmod.get_engine(fresh_url)
    indexes = {i["name"]: i for i in inspect(engine).get_indexes("messaging_threads")}
    active = indexes["uq_messaging_threads_one_active"]
    assert active["unique"]
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            sql = conn.scalar(
                text(
                    "select indexdef from pg_indexes where indexname = 'uq_messaging_threads_one_active'"
                )
            )
        else:
            sql = conn.scalar(
                text("select sql from sqlite_master where name = 'uq_messaging_threads_one_active'")
            )
    assert "WHERE" in sql.upper() and "active" in sql


def test_0005_repairs_metadata_that_breaks_reads_and_leaves_the_rest(fresh_url):
    """Rows written before the metadata rules: bad ones become {}, every other row (good
    objects, no metadata, NUL text and big numbers that can still be shown) is untouched."""
    migrations.upgrade(fresh_url, "0004")
    engine = dbmod.get_engine(fresh_url)
    pg = engine.dialect.name == "postgresql"
    deep = '{"a": ' * 40 + "{}" + "}" * 40
    stored: dict[str, object] = {  # stored text -> what 0005 leaves
        '{"offer": {"rent": 2450.5, "terms": ["pets", null, true]}}': "same",
        '{"big": 1' + "0" * 30 + ', "nul": "a\\u0000b"}': "same" if not pg else None,
        '{"a": ' * 31 + "{}" + "}" * 31: "same",  # 32 levels
        deep: {},
        '{"a": ' * 3000 + "{}" + "}" * 3000: {},
        '{"n": 1' + "0" * 5000 + "}": {},
        "[1, 2]": {},
        "null": "same",
        '{"note": "\\ud800"}': {} if not pg else None,
        '{"rent": NaN}': {} if not pg else None,
        "not json": {} if not pg else None,
    }
    stored = {raw: after for raw, after in stored.items() if after is not None}
    # Rows as they were at 0004, written in SQL (today's models have columns 0004 lacks).
    world = _world_at_0004(engine, messages=len(stored) + 1)
    sent, no_metadata = world.message_ids[:-1], world.message_ids[-1]
    key = str if pg else lambda m: m.hex
    value = "CAST(:raw AS jsonb)" if pg else ":raw"
    with engine.begin() as conn:
        for message_id, raw in zip(sent, stored, strict=True):
            conn.execute(
                text(f"UPDATE messaging_messages SET metadata = {value} WHERE id = :id"),
                {"raw": raw, "id": key(message_id)},
            )

    def snapshot() -> dict[str, str | None]:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, CAST(metadata AS TEXT) FROM messaging_messages")
            ).all()
        return {str(r[0]).replace("-", ""): r[1] for r in rows}

    before = snapshot()
    migrations.upgrade(fresh_url)
    after = snapshot()
    for message_id, (raw, expected) in zip(sent, stored.items(), strict=True):
        mid = message_id.hex
        if expected == "same":
            assert after[mid] == before[mid], raw[:40]
        else:
            assert json.loads(after[mid] or "") == expected, raw[:40]
    assert after[no_metadata.hex] == before[no_metadata.hex]
    # Now every row can be shown.
    page = messages.list_messages(
        user_id=world.owner_id, thread_id=world.thread_id, limit=200, db=engine
    )
    assert len(page) == len(stored) + 1
    # Clean data: running it again changes nothing.
    migrations.downgrade(fresh_url, "0004")
    migrations.upgrade(fresh_url)
    assert snapshot() == after


def test_0011_archives_per_participant_and_dedupes_tags(fresh_url):
    """Threads archived for both become archived for each participant and active again (the
    older of two of one pair closed: one active per pair); tags keep their first spelling."""
    migrations.upgrade(fresh_url, "0004")
    engine = dbmod.get_engine(fresh_url)
    pg = engine.dialect.name == "postgresql"
    key = str if pg else lambda u: u.hex
    world = _world_at_0004(engine, messages=0)
    older = uuid.uuid4()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO messaging_threads (id, property_id, operator_id, owner_id, status,"
                " last_seq, last_message_at, created_at) SELECT :new, property_id, operator_id,"
                " owner_id, 'closed', 0, :then, :then FROM messaging_threads WHERE id = :t"
            ),
            {"new": key(older), "t": key(world.thread_id), "then": now.replace(year=2025)},
        )
        conn.execute(
            text(
                "INSERT INTO messaging_participants (thread_id, user_id, role, last_read_seq,"
                " last_message_at) SELECT :new, user_id, role, 0, last_message_at"
                " FROM messaging_participants WHERE thread_id = :t"
            ),
            {"new": key(older), "t": key(world.thread_id)},
        )
    migrations.upgrade(fresh_url, "0010")
    with engine.begin() as conn:
        conn.execute(text("UPDATE messaging_threads SET status = 'archived'"))
        for tag, when in (("lease review", now.replace(year=2025)), ("Lease Review", now)):
            conn.execute(
                text(
                    "INSERT INTO messaging_thread_tags (thread_id, tag, created_at)"
                    " VALUES (:t, :tag, :when)"
                ),
                {"t": key(world.thread_id), "tag": tag, "when": when},
            )
    migrations.upgrade(fresh_url, "0011")
    with engine.connect() as conn:
        statuses: dict[object, str] = dict(
            conn.execute(text("SELECT id, status FROM messaging_threads")).all()
        )
        archived = conn.execute(
            text("SELECT count(*) FROM messaging_participants WHERE archived_at IS NULL")
        ).scalar_one()
        tags = conn.execute(text("SELECT tag FROM messaging_thread_tags")).scalars().all()
    by_id = {str(k).replace("-", ""): v for k, v in statuses.items()}
    assert by_id == {world.thread_id.hex: "active", older.hex: "closed"}
    assert archived == 0
    assert tags == ["lease review"]
    # As the owner sees it: archived (by me), the shared thread active.
    migrations.upgrade(fresh_url)
    row = inbox.get_thread(user_id=world.owner_id, thread_id=world.thread_id, db=engine)
    assert row.status == "archived" and row.archived_at is not None
    # Down again: archived for both, as before.
    migrations.downgrade(fresh_url, "0010")
    with engine.connect() as conn:
        back = conn.execute(
            text("SELECT status FROM messaging_threads WHERE id = :t"), {"t": key(world.thread_id)}
        ).scalar_one()
    assert back == "archived"
