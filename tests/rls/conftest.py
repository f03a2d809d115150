"""Row Level Security in the app (alembic 0004, services/_tx.py), on the real PostgreSQL.

The world, built through the services (so by its users, under RLS):

    pair A:  op_a (operator) - own_a (verified owner) on prop_a: thread t_a
             m_a1 op_a "hello", m_a2 own_a "hi", m_a3 op_a "are you there?";
             tag "mine" by op_a; file f_a by op_a
    pair B:  op_b (operator) - own_b (verified owner) on prop_b: thread t_b
             m_b1 op_b "secret offer", m_b2 own_b "counter"; tag "theirs" by op_b; file f_b
    cross:   op_b - own_a on prop_a: thread t_x (own_a's other negotiation), m_x1 op_b
             "private to op_b and own_a"

op_a has read everything in t_a, own_a up to m_a2 (not m_a3); own_a has not read m_x1.
The tests act as op_a unless they say otherwise; op_a must never reach t_b or t_x.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from arbibase_chat import db as dbmod
from arbibase_chat import migrations
from arbibase_chat.services import attachments, messages, ratelimit, threads
from arbibase_chat.services._tx import transaction
from tests import factories, files
from tests.conftest import _truncate

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _no_send_limit() -> Iterator[None]:
    with ratelimit.use(ratelimit.Unlimited()):
        yield


@pytest.fixture
def pg(postgres_url: str, migrated: dict[str, str]) -> Engine:
    """The run's migrated PostgreSQL database, emptied."""
    if "postgres" not in migrated:
        migrations.upgrade(postgres_url)
        migrated["postgres"] = postgres_url
    engine = dbmod.get_engine(postgres_url)
    _truncate(engine)
    return engine


@dataclass
class World:
    db: Engine
    ids: dict[str, uuid.UUID] = field(default_factory=dict)

    def __getattr__(self, name: str) -> uuid.UUID:
        try:
            return self.__dict__["ids"][name]
        except KeyError:
            raise AttributeError(name) from None

    def params(self) -> dict[str, Any]:
        return {name: str(value) for name, value in self.ids.items()} | {"new": str(uuid.uuid4())}


def _upload(db: Engine, user: uuid.UUID, thread: uuid.UUID, name: str) -> uuid.UUID:
    return attachments.store_attachment(
        user_id=user, thread_id=thread, filename=name, source=io.BytesIO(files.pdf()), db=db
    ).id


@pytest.fixture
def world(pg: Engine) -> World:
    return build_world(pg)


def build_world(pg: Engine) -> World:
    w = World(db=pg)
    ids = w.ids
    a = factories.Pair(pg)
    b = factories.Pair(pg)
    ids.update(
        op_a=a.operator.id,
        own_a=a.owner.id,
        prop_a=a.property.id,
        t_a=a.thread_id,
        op_b=b.operator.id,
        own_b=b.owner.id,
        prop_b=b.property.id,
        t_b=b.thread_id,
    )
    ids["t_x"] = threads.get_or_create_thread(
        user_id=b.operator.id, property_id=a.property.id, owner_id=a.owner.id, db=pg
    ).id

    def send(user: str, thread: str, body: str) -> uuid.UUID:
        return messages.send_message(user_id=ids[user], thread_id=ids[thread], body=body, db=pg).id

    ids["m_a1"] = send("op_a", "t_a", "hello")
    ids["m_a2"] = send("own_a", "t_a", "hi")
    ids["m_b1"] = send("op_b", "t_b", "secret offer")
    ids["m_b2"] = send("own_b", "t_b", "counter")
    ids["m_x1"] = send("op_b", "t_x", "private to op_b and own_a")
    ids["m_a3"] = send("op_a", "t_a", "are you there?")  # own_a has not read it
    threads.update_thread(user_id=ids["op_a"], thread_id=ids["t_a"], add_tags=["mine"], db=pg)
    threads.update_thread(user_id=ids["op_b"], thread_id=ids["t_b"], add_tags=["theirs"], db=pg)
    ids["f_a"] = _upload(pg, ids["op_a"], ids["t_a"], "lease.pdf")
    ids["f_b"] = _upload(pg, ids["op_b"], ids["t_b"], "deed.pdf")
    return w


class _Rollback(Exception):
    """Raised inside a transaction to undo it: the shared world stays as built."""


def attempt(db: Engine, user: uuid.UUID | None, sql: str, params: dict[str, Any]) -> int | str:
    """Run raw `sql` inside the app's own transaction for `user` (None: the app's elevated
    connection, as a control), always rolled back.

    Returns the rows it changed or returned, or the SQLSTATE of its error.
    """
    rows = -1
    result: Any
    try:
        if user is None:
            with dbmod.write_session(db) as session:
                result = session.execute(text(sql), params)
                rows = len(result.all()) if result.returns_rows else result.rowcount
                raise _Rollback
        with transaction(db, as_user=user) as (session, _outbox):
            result = session.execute(text(sql), params)
            rows = len(result.all()) if result.returns_rows else result.rowcount
            raise _Rollback
    except _Rollback:
        return rows
    except DBAPIError as exc:
        state = getattr(exc.orig, "sqlstate", None)
        assert state is not None, exc
        return str(state)
