"""Alembic owns the schema: it round-trips and matches the models on both backends."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import arbibase_chat.models  # noqa: F401  (tables on the metadata)
from arbibase_chat import db as dbmod
from arbibase_chat import migrations
from tests.conftest import create_pg_database, drop_pg_database, unavailable


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
