"""Helpers of the Supabase tests (fixtures: conftest.py): build the Supabase-shaped database,
act as a user, try a statement.

This folder deliberately has no __init__.py: as a package, pytest's default import mode would
import it as the top-level package `supabase` and shadow supabase-py for the whole run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from arbibase_chat.config import PROJECT_ROOT
from tests.conftest import create_pg_database, drop_pg_database, unavailable

HARNESS = Path(__file__).with_name("harness.sql")
MIGRATIONS_DIR = PROJECT_ROOT / "supabase" / "migrations"
BUCKET = "message_attachments"
USERS = ("op1", "op2", "own1", "own2", "stranger")


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("*.sql"))


def build_supabase_database(url: str) -> None:
    """The harness, then the migrations in filename order, each in its own transaction."""
    with psycopg.connect(url, autocommit=True) as conn:
        for path in [HARNESS, *migration_files()]:
            try:
                with conn.transaction():
                    conn.execute(path.read_text())
            except psycopg.Error as exc:
                raise AssertionError(f"{path.name} does not apply: {exc}") from exc


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    try:
        url = create_pg_database(prefix)
    except psycopg.Error as exc:
        unavailable("PostgreSQL", exc)
    try:
        yield url
    finally:
        drop_pg_database(url)


def claims(user: uuid.UUID | None) -> str:
    if user is None:
        return json.dumps({"role": "anon"})
    return json.dumps({"sub": str(user), "role": "authenticated", "aud": "authenticated"})


def become(conn: psycopg.Connection, user: uuid.UUID | None) -> None:
    """Act as `user` (None: anon) until the end of the current transaction, as PostgREST does."""
    conn.execute("set local role anon" if user is None else "set local role authenticated")
    conn.execute("select set_config('request.jwt.claims', %s, true)", [claims(user)])


def back_to_admin(conn: psycopg.Connection) -> None:
    conn.execute("reset role")
    conn.execute("select set_config('request.jwt.claims', '', true)")


@dataclass
class World:
    url: str
    ids: dict[str, uuid.UUID] = field(default_factory=dict)

    def __getattr__(self, name: str) -> uuid.UUID:
        try:
            return self.__dict__["ids"][name]
        except KeyError:
            raise AttributeError(name) from None

    def user(self, name: str) -> uuid.UUID | None:
        return None if name == "anon" else self.ids[name]

    def params(self) -> dict[str, Any]:
        """What the attack SQL may refer to: every id, and the storage paths."""
        out: dict[str, Any] = dict(self.ids)
        out["path_t1_a1"] = f"{self.t1}/{self.a1}"
        out["path_t1_a2"] = f"{self.t1}/{self.a2}"
        out["path_t3_a3"] = f"{self.t3}/{self.a3}"
        out["path_t1_new"] = f"{self.t1}/{uuid.uuid4()}"
        out["path_t3_new"] = f"{self.t3}/{uuid.uuid4()}"
        out["a_new"] = uuid.uuid4()
        return out


def _one(conn: psycopg.Connection, sql: str, params: Any = None) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None, sql
    return row[0]


def _as(conn: psycopg.Connection, user: uuid.UUID) -> Any:
    """A committed transaction acting as `user`."""

    @contextmanager
    def block() -> Iterator[psycopg.Connection]:
        with conn.transaction():
            become(conn, user)
            yield conn

    return block()


def _send(
    conn: psycopg.Connection, thread: uuid.UUID, sender: uuid.UUID, body: str, **kw: Any
) -> uuid.UUID:
    kind = kw.get("kind", "text")
    with _as(conn, sender):
        return _one(
            conn,
            "insert into public.messaging_messages (thread_id, sender_id, body, kind)"
            " values (%s, %s, %s, %s) returning id",
            [thread, sender, body, kind],
        )


def _open(
    conn: psycopg.Connection, prop: uuid.UUID, operator: uuid.UUID, owner: uuid.UUID
) -> uuid.UUID:
    with _as(conn, operator):
        return _one(
            conn,
            "insert into public.messaging_threads (property_id, operator_id, owner_id, subject)"
            " values (%s, %s, %s, 'About the listing') returning id",
            [prop, operator, owner],
        )


def _set_status(conn: psycopg.Connection, thread: uuid.UUID, user: uuid.UUID, status: str) -> None:
    with _as(conn, user):
        conn.execute(
            "update public.messaging_threads set status = %s where id = %s", [status, thread]
        )


def _attach(
    conn: psycopg.Connection, thread: uuid.UUID, user: uuid.UUID, filename: str
) -> uuid.UUID:
    aid = uuid.uuid4()
    with _as(conn, user):
        conn.execute(
            "insert into public.messaging_attachments"
            " (id, thread_id, uploader_id, filename, content_type, size_bytes, storage_key)"
            " values (%s, %s, %s, %s, 'application/pdf', 1234, %s)",
            [aid, thread, user, filename, f"{thread}/{aid}"],
        )
        conn.execute(
            "insert into storage.objects (bucket_id, name, owner, owner_id) values (%s, %s, %s, %s)",
            [BUCKET, f"{thread}/{aid}", user, str(user)],
        )
    return aid


def build_world(url: str) -> World:
    world = World(url=url)
    ids = world.ids
    with psycopg.connect(url, autocommit=True) as conn:
        for name in USERS:
            ids[name] = uuid.uuid4()
            # The account's role and verification are app_metadata (service key only).
            role = "owner" if name.startswith("own") else "operator"
            app_meta: dict[str, Any] = {"provider": "email", "role": role}
            if name == "own1":
                app_meta["verified"] = True
            if name in ("op1", "op2"):
                app_meta["tier"] = "pro"  # file sharing (20261204001000); no tier is Beta
            # own2 claims more in user_metadata, which users edit themselves: never consulted.
            user_meta = {"verified": True, "role": "operator"} if name == "own2" else {}
            conn.execute(
                "insert into auth.users (id, aud, role, email, raw_app_meta_data,"
                " raw_user_meta_data, created_at)"
                " values (%s, 'authenticated', 'authenticated', %s, %s, %s, now())",
                [ids[name], f"{name}@example.com", json.dumps(app_meta), json.dumps(user_meta)],
            )
        conn.execute(
            "insert into storage.buckets (id, name, public) values ('other_bucket', 'other_bucket', false)"
        )
        for prop, owner in (("prop1", "own1"), ("prop2", "own2"), ("prop3", "own1")):
            with _as(conn, ids[owner]):
                ids[prop] = _one(
                    conn,
                    "insert into public.properties (owner_id, title, city) values (%s, %s, 'Austin')"
                    " returning id",
                    [ids[owner], f"Listing {prop}"],
                )
        ids["t_arch"] = _open(conn, ids["prop1"], ids["op1"], ids["own1"])
        _set_status(conn, ids["t_arch"], ids["op1"], "archived")
        ids["t1"] = _open(conn, ids["prop1"], ids["op1"], ids["own1"])
        ids["t2"] = _open(conn, ids["prop2"], ids["op1"], ids["own2"])
        ids["t3"] = _open(conn, ids["prop1"], ids["op2"], ids["own1"])
        ids["t_closed"] = _open(conn, ids["prop3"], ids["op1"], ids["own1"])

        ids["m1"] = _send(conn, ids["t1"], ids["op1"], "hello")
        ids["m2"] = _send(conn, ids["t1"], ids["own1"], "hi")
        ids["m3"] = _send(conn, ids["t1"], ids["op1"], "$2,400 a month", kind="offer")
        ids["m4"] = _send(conn, ids["t3"], ids["op2"], "is it available?")
        ids["m5"] = _send(conn, ids["t2"], ids["op1"], "hello owner two")
        ids["m6"] = _send(conn, ids["t_closed"], ids["op1"], "last words")
        ids["m7"] = _send(conn, ids["t3"], ids["own1"], "yes, it is")
        _set_status(conn, ids["t_closed"], ids["op1"], "closed")

        ids["a1"] = _attach(conn, ids["t1"], ids["op1"], "lease.pdf")
        ids["a2"] = _attach(conn, ids["t1"], ids["own1"], "deed.pdf")
        ids["a3"] = _attach(conn, ids["t3"], ids["op2"], "offer.pdf")
        with _as(conn, ids["op1"]):
            conn.execute(
                "update public.messaging_attachments set message_id = %s where id = %s",
                [ids["m1"], ids["a1"]],
            )
        for thread, user, tag in (("t1", "op1", "offer-sent"), ("t3", "op2", "hot")):
            with _as(conn, ids[user]):
                conn.execute(
                    "insert into public.messaging_thread_tags (thread_id, tag, created_by)"
                    " values (%s, %s, %s)",
                    [ids[thread], tag, ids[user]],
                )
        _offers(conn, ids)
        # Another feature's file (written with the service key: no policy covers that bucket).
        conn.execute(
            "insert into storage.objects (bucket_id, name, owner, owner_id)"
            " values ('other_bucket', %s, %s, %s)",
            [f"{ids['stranger']}/notes.txt", ids["stranger"], str(ids["stranger"])],
        )
    return world


def _make_offer(
    conn: psycopg.Connection, thread: uuid.UUID, maker: uuid.UUID, version: int
) -> uuid.UUID:
    with _as(conn, maker):
        return _one(
            conn,
            "insert into public.messaging_offers (thread_id, version, made_by, terms, expires_at)"
            " values (%s, %s, %s, %s, now() + interval '7 days') returning id",
            [thread, version, maker, json.dumps({"rent": 2400 + version, "term_months": 12})],
        )


def _numbers(conn: psycopg.Connection, offer: uuid.UUID, operator: uuid.UUID, shared: bool) -> None:
    with _as(conn, operator):
        conn.execute(
            "insert into public.messaging_offer_numbers (offer_id, operator_id, inputs, roi, shared)"
            " values (%s, %s, '{\"rent\": 2400}', '{\"cash_on_cash\": 0.31}', %s)",
            [offer, operator, shared],
        )


def _offers(conn: psycopg.Connection, ids: dict[str, uuid.UUID]) -> None:
    """o1: op1's open v1 in t1, carried by m3, private numbers; o2: op1's open v1 in t2 (own2
    unverified); o3: op2's v1 in t3, declined by own1, numbers shared; t3's stage "lost", set
    by own1."""
    ids["o1"] = _make_offer(conn, ids["t1"], ids["op1"], 1)
    with _as(conn, ids["op1"]):
        conn.execute(
            "update public.messaging_offers set message_id = %s where id = %s",
            [ids["m3"], ids["o1"]],
        )
    _numbers(conn, ids["o1"], ids["op1"], shared=False)
    ids["o2"] = _make_offer(conn, ids["t2"], ids["op1"], 1)
    ids["o3"] = _make_offer(conn, ids["t3"], ids["op2"], 1)
    _numbers(conn, ids["o3"], ids["op2"], shared=True)
    with _as(conn, ids["own1"]):
        conn.execute(
            "update public.messaging_offers set status = 'declined', reason = 'too low'"
            " where id = %s",
            [ids["o3"]],
        )
        conn.execute(
            "update public.messaging_threads"
            " set stage = 'lost', stage_reason = 'rented elsewhere', stage_changed_by = %s"
            " where id = %s",
            [ids["own1"], ids["t3"]],
        )


# `attempt(conn, ADMIN, ...)`: as the migration role (superuser), which RLS does not bind.
ADMIN = uuid.UUID(int=0)


def attempt(
    conn: psycopg.Connection, user: uuid.UUID | None, sql: str, params: Any = None
) -> int | str:
    """Run `sql` as `user` (None: anon) in a savepoint that is always rolled back.

    Returns the number of rows it changed (or returned), or the SQLSTATE of its error.
    """
    rows = -1
    try:
        with conn.transaction() as savepoint:
            if user != ADMIN:
                become(conn, user)
            rows = conn.execute(sql, params).rowcount
            raise psycopg.Rollback(savepoint)
    except psycopg.Error as exc:
        assert exc.sqlstate is not None, exc
        return exc.sqlstate
    return rows


@contextmanager
def acting_as(conn: psycopg.Connection, user: uuid.UUID | None) -> Iterator[psycopg.Connection]:
    """Act as `user` inside the test's transaction; the superuser again afterwards."""
    become(conn, user)
    yield conn
    back_to_admin(conn)


def scalar(conn: psycopg.Connection, sql: str, params: Any = None) -> Any:
    return _one(conn, sql, params)
