"""Alembic environment: migrations run with the app's engine settings (SQLite pragmas included)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from arbibase_chat import models  # noqa: F401  (registers the tables on the metadata)
from arbibase_chat.config import get_settings
from arbibase_chat.db import get_engine

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    return config.attributes.get("url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = get_engine(_url()).execution_options(arbibase_write=True)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
