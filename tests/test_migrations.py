"""Alembic owns the schema: it round-trips and matches the models on both backends."""

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import arbibase_chat.models  # noqa: F401  (tables on the metadata)
from arbibase_chat import db as dbmod
from arbibase_chat import migrations
from arbibase_chat.services import messages
from tests.conftest import create_pg_database, drop_pg_database, unavailable
from tests.factories import Pair


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
    return set(inspect(dbmod.get_engine(url)).get_table_names()) - {"alembic_version"}


def _diff(url):
    with dbmod.get_engine(url).connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)


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
    # The rows are written through today's models (at head), then the schema goes back to
    # 0004 with them: later revisions add columns the models write.
    migrations.upgrade(fresh_url)
    engine = dbmod.get_engine(fresh_url)
    pg = engine.dialect.name == "postgresql"
    pair = Pair(engine)
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
    sent = [
        messages.send_message(
            user_id=pair.operator.id, thread_id=pair.thread_id, body="x", db=engine
        )
        for _ in stored
    ]
    no_metadata = messages.send_message(
        user_id=pair.owner.id, thread_id=pair.thread_id, body="plain", db=engine
    )
    migrations.downgrade(fresh_url, "0004")
    key = str if pg else lambda m: m.hex
    value = "CAST(:raw AS jsonb)" if pg else ":raw"
    with engine.begin() as conn:
        for message, raw in zip(sent, stored, strict=True):
            conn.execute(
                text(f"UPDATE messaging_messages SET metadata = {value} WHERE id = :id"),
                {"raw": raw, "id": key(message.id)},
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
    for message, (raw, expected) in zip(sent, stored.items(), strict=True):
        mid = message.id.hex
        if expected == "same":
            assert after[mid] == before[mid], raw[:40]
        else:
            assert json.loads(after[mid] or "") == expected, raw[:40]
    assert after[no_metadata.id.hex] == before[no_metadata.id.hex]
    # Now every row can be shown.
    page = messages.list_messages(
        user_id=pair.owner.id, thread_id=pair.thread_id, limit=200, db=engine
    )
    assert len(page) == len(stored) + 1
    # Clean data: running it again changes nothing.
    migrations.downgrade(fresh_url, "0004")
    migrations.upgrade(fresh_url)
    assert snapshot() == after
