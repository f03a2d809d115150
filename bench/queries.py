"""Query benchmark: a realistic inbox at scale, timed through the real services.

    .venv/bin/python -m bench.queries [--backend sqlite|postgres|both] [--quick]
        [--threads 10000] [--messages 1000000] [--big-thread 100000] [--runs 200]

For each backend: a fresh database (a temp SQLite file / a new Postgres database), `alembic
upgrade head`, a bulk seed (Core executemany; COPY on Postgres; seed-only speed settings), then
ANALYZE. The timed phase calls the services with `db=get_engine(url)`, i.e. the app's normal
engine settings. Everything is removed at the end (also on Ctrl-C / SIGTERM).

The seeded data keeps the services' invariants: per-thread seq 1..n, thread.last_seq = n,
participants.last_message_at / last_seq = the thread's, read cursors below last_seq (so unread
counts are non-zero), `seen_by` consistent with the cursors. One "hub" user is in every thread
(operator in half, owner in the other half); one thread holds `--big-thread` messages.

See bench/README.md for what each line means and the latest figures.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import inspect
import json
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import sqlalchemy
from psycopg import sql as pgsql
from sqlalchemy import create_engine, event, insert
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat import migrations
from arbibase_chat.config import get_settings
from arbibase_chat.models import MessagingMessage, MessagingThread, Participant, Property, User
from arbibase_chat.services import inbox, messages, portfolio, reads
from arbibase_chat.services._tx import Outbox, act_as, claims
from bench.common import (
    FAKE_HASH,
    PG_ADMIN_URL,
    create_pg_database,
    drop_pg_database,
    pct,
    raw_insert_samples,
)
from bench.common import machine_facts as common_facts

UTC = dt.UTC
PAGE = 50
BATCH = 50_000
CATCHUP_CALLS = 17  # 2 warm-up + 15 timed calls of the catch-up mark-read line
_TEXT = (
    "the lease rent deposit unit owner operator property furnished guests cleaning fee "
    "month nightly occupancy permit city HOA insurance photos walkthrough tomorrow Friday "
    "can we schedule a call about the terms I would like to confirm the start date and the "
    "parking situation also wifi kitchen bedrooms bathroom sqft pool garage pets allowed "
    "thanks sounds good let me check with my partner and get back to you by end of day "
    "offer counter signed contract inspection keys lockbox utilities included excluded"
)
WORDS = tuple(_TEXT.split())


# --- data ----------------------------------------------------------------------------------


@dataclass(slots=True)
class ThreadSpec:
    id: uuid.UUID
    property_id: uuid.UUID
    operator_id: uuid.UUID
    owner_id: uuid.UUID
    hub_role: str
    counterparty: uuid.UUID
    n: int
    last_at: dt.datetime
    gap: dt.timedelta
    hub_read: int
    cp_read: int

    def at(self, seq: int) -> dt.datetime:
        return self.last_at - (self.n - seq) * self.gap

    @property
    def created_at(self) -> dt.datetime:
        return self.at(1) - dt.timedelta(minutes=1)


@dataclass
class Dataset:
    seed: int
    hub: uuid.UUID
    users: list[dict[str, Any]]
    properties: list[dict[str, Any]]
    threads: list[ThreadSpec]
    big: ThreadSpec
    bodies: list[str]
    big_ids: dict[int, uuid.UUID] = field(default_factory=dict)

    @property
    def message_total(self) -> int:
        return sum(t.n for t in self.threads)

    def unread_total(self) -> int:
        return sum(t.n - t.hub_read for t in self.threads)


def catchup_chunk(big: int) -> int:
    """Messages one catch-up mark-read passes over: 1,000 at full size, 100 in --quick."""
    return max(10, big // 100)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _bodies(rng: random.Random, count: int = 4096) -> list[str]:
    out = []
    for _ in range(count):
        # 20-400 characters, skewed short like chat (mean ~150).
        length = int(20 + 380 * rng.random() ** 2)
        words: list[str] = []
        size = 0
        while size < length:
            word = rng.choice(WORDS)
            words.append(word)
            size += len(word) + 1
        text = " ".join(words)[:length].strip()
        out.append(text[0].upper() + text[1:] + ".")
    return out


def build_dataset(n_threads: int, n_messages: int, big: int, seed: int) -> Dataset:
    if n_threads < 4 or n_threads % 2:
        raise SystemExit("--threads must be an even number >= 4")
    if big >= n_messages - (n_threads - 1):
        raise SystemExit("--big-thread leaves fewer than one message per other thread")
    rng = random.Random(seed)
    now = dt.datetime.now(UTC).replace(microsecond=0)
    joined = now - dt.timedelta(days=400)
    users: list[dict[str, Any]] = []

    def user(role: str, name: str) -> uuid.UUID:
        uid = _uuid(rng)
        users.append(
            {
                "id": uid,
                "email": f"{name}@bench.example",
                "display_name": name.replace("-", " ").title(),
                "role": role,
                "tier": rng.choice(("beta", "pro", "premium")),
                "verified": True,  # owners must be verified to reply
                "password_hash": FAKE_HASH,
                "created_at": joined,
            }
        )
        return uid

    hub = user("operator", "hub-user")
    n_cp = max(2, n_threads // 10)
    owners = [user("owner", f"owner-{i}") for i in range(n_cp)]
    operators = [user("operator", f"operator-{i}") for i in range(n_cp)]
    properties: list[dict[str, Any]] = []

    def prop(owner: uuid.UUID) -> uuid.UUID:
        pid = _uuid(rng)
        n = len(properties)
        properties.append(
            {
                "id": pid,
                "owner_id": owner,
                "title": f"{rng.choice(('Cozy', 'Modern', 'Sunny', 'Quiet', 'Large'))} "
                f"{rng.choice(('loft', 'duplex', 'condo', 'bungalow', 'townhouse'))} #{n}",
                "address": f"{100 + n} {rng.choice(('Main', 'Oak', 'Pine', 'Lake'))} St",
                "city": rng.choice(("Austin", "Denver", "Tampa", "Phoenix", "Nashville")),
                "state": rng.choice(("TX", "CO", "FL", "AZ", "TN")),
                "monthly_rent_cents": rng.randrange(120_000, 600_000, 500),
                "bedrooms": rng.randint(1, 5),
                "bathrooms": rng.choice((1.0, 1.5, 2.0, 2.5, 3.0)),
                "square_feet": rng.randrange(500, 3500, 10),
                "created_at": joined,
            }
        )
        return pid

    half = n_threads // 2
    hub_props = [prop(hub) for _ in range(max(1, half // 10))]

    # Messages per thread: one big thread, the rest exponential around the mean, >= 1 each.
    rest = n_messages - big
    weights = [rng.expovariate(1.0) + 0.02 for _ in range(n_threads - 1)]
    scale = rest / sum(weights)
    counts = [max(1, int(w * scale)) for w in weights]
    diff = rest - sum(counts)
    while diff:
        i = rng.randrange(len(counts))
        if diff > 0:
            counts[i] += 1
            diff -= 1
        elif counts[i] > 1:
            counts[i] -= 1
            diff += 1
    big_index = rng.randrange(n_threads)
    counts.insert(big_index, big)

    specs: list[ThreadSpec] = []
    for i in range(n_threads):
        j = i // 2
        if i % 2 == 0:  # hub is the operator, writing to an owner about one of their listings
            owner, operator, role = owners[j % n_cp], hub, "operator"
            property_id, counterparty = prop(owner), owner
        else:  # hub is the owner: operators ask about the hub's listings
            owner, operator, role = hub, operators[j % n_cp], "owner"
            property_id, counterparty = hub_props[(j // 10) % len(hub_props)], operator
        n = counts[i]
        if i == big_index:  # the busiest thread is also the most recent one
            last_at = now - dt.timedelta(seconds=5)
            gap = dt.timedelta(seconds=20)
            # A backlog the "catch up" mark-read line walks through in chunks.
            hub_read = n - 25 - CATCHUP_CALLS * catchup_chunk(n)
        else:
            last_at = now - dt.timedelta(seconds=60 + rng.random() * 90 * 86400)
            gap = dt.timedelta(seconds=rng.randint(30, 4 * 3600))
            hub_read = n - rng.randint(1, min(n, 12)) if rng.random() < 0.65 else n
        cp_read = max(0, n - rng.randint(0, 5))
        specs.append(
            ThreadSpec(
                id=_uuid(rng),
                property_id=property_id,
                operator_id=operator,
                owner_id=owner,
                hub_role=role,
                counterparty=counterparty,
                n=n,
                last_at=last_at,
                gap=gap,
                hub_read=hub_read,
                cp_read=cp_read,
            )
        )
    return Dataset(
        seed=seed,
        hub=hub,
        users=users,
        properties=properties,
        threads=specs,
        big=specs[big_index],
        bodies=_bodies(rng),
    )


def thread_rows(ds: Dataset) -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "property_id": t.property_id,
            "operator_id": t.operator_id,
            "owner_id": t.owner_id,
            "subject": None if k % 3 else f"Lease terms #{k}",
            "status": "active",
            "last_seq": t.n,
            "last_message_at": t.last_at,
            "created_at": t.created_at,
        }
        for k, t in enumerate(ds.threads)
    ]


def participant_rows(ds: Dataset) -> list[dict[str, Any]]:
    rows = []
    for t in ds.threads:
        cp_role = "owner" if t.hub_role == "operator" else "operator"
        for uid, role, cursor in (
            (ds.hub, t.hub_role, t.hub_read),
            (t.counterparty, cp_role, t.cp_read),
        ):
            rows.append(
                {
                    "thread_id": t.id,
                    "user_id": uid,
                    "role": role,
                    "last_read_seq": cursor,
                    "last_read_at": t.at(cursor) + dt.timedelta(seconds=3) if cursor else None,
                    "last_message_at": t.last_at,
                    "last_seq": t.n,
                }
            )
    return rows


def message_rows(ds: Dataset) -> Iterator[tuple[Any, ...]]:
    """(id, thread_id, seq, sender_id, body, seen_by, created_at), thread by thread."""
    rng = random.Random(ds.seed + 1)
    bodies = ds.bodies
    hub = ds.hub
    hub_s = str(hub)
    for t in ds.threads:
        cp = t.counterparty
        cp_s = str(cp)
        is_big = t is ds.big
        for seq in range(1, t.n + 1):
            # The operator opens the conversation; then either side, at random.
            sender = t.operator_id if seq == 1 else (hub if rng.random() < 0.5 else cp)
            if sender == hub:
                seen = [cp_s] if seq <= t.cp_read else []
            else:
                seen = [hub_s] if seq <= t.hub_read else []
            mid = _uuid(rng)
            if is_big:
                ds.big_ids[seq] = mid
            yield (mid, t.id, seq, sender, bodies[rng.randrange(len(bodies))], seen, t.at(seq))


# --- databases -----------------------------------------------------------------------------


def _seed_engine(url: str, backend: str) -> Engine:
    """A separate engine with bulk-load settings; never used for the timed phase."""
    if backend == "sqlite":
        engine = create_engine(url)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-524288")  # 512 MiB
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.execute("PRAGMA foreign_keys=OFF")  # consistent by construction
            cur.close()

        return engine
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))

    @event.listens_for(engine, "connect")
    def _session(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
        dbapi_connection.commit()

    return engine


def seed(ds: Dataset, url: str, backend: str, log: Callable[[str], None]) -> dict[str, float]:
    times: dict[str, float] = {}
    engine = _seed_engine(url, backend)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(User.__table__), ds.users)  # type: ignore[attr-defined]
        conn.execute(insert(Property.__table__), ds.properties)  # type: ignore[attr-defined]
        conn.execute(insert(MessagingThread.__table__), thread_rows(ds))  # type: ignore[attr-defined]
        conn.execute(insert(Participant.__table__), participant_rows(ds))  # type: ignore[attr-defined]
    times["users, properties, threads, participants"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if backend == "sqlite":
        table = MessagingMessage.__table__  # type: ignore[attr-defined]
        stmt = insert(table)
        batch: list[dict[str, Any]] = []
        done = 0

        def flush() -> None:
            with engine.begin() as conn:
                conn.execute(stmt, batch)
            batch.clear()

        for mid, tid, seq, sender, body, seen, at in message_rows(ds):
            batch.append(
                {
                    "id": mid,
                    "thread_id": tid,
                    "seq": seq,
                    "sender_id": sender,
                    "body": body,
                    "seen_by": seen,
                    "kind": "text",
                    "created_at": at,
                }
            )
            if len(batch) >= BATCH:
                done += len(batch)
                flush()
                if done % 200_000 == 0:
                    log(f"  ... {done:,} messages ({time.perf_counter() - t0:.1f} s)")
        if batch:
            flush()
    else:
        # COPY on a raw psycopg connection: ~10x executemany. FK triggers are skipped for this
        # one bulk session only (session_replication_role); the data is consistent by construction.
        with psycopg.connect(url) as pgconn:
            pgconn.execute("SET synchronous_commit = off")
            pgconn.execute("SET session_replication_role = replica")
            with (
                pgconn.cursor() as cur,
                cur.copy(
                    "COPY messaging_messages (id, thread_id, seq, sender_id, body, seen_by, kind,"
                    " created_at) FROM STDIN"
                ) as copy,
            ):
                for k, (mid, tid, seq, sender, body, seen, at) in enumerate(message_rows(ds), 1):
                    copy.write_row((mid, tid, seq, sender, body, json.dumps(seen), "text", at))
                    if k % 200_000 == 0:
                        log(f"  ... {k:,} messages ({time.perf_counter() - t0:.1f} s)")
    times["messages"] = time.perf_counter() - t0
    engine.dispose()
    return times


def analyze(url: str, backend: str) -> float:
    t0 = time.perf_counter()
    if backend == "sqlite":
        path = url.removeprefix("sqlite:///")
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("ANALYZE")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
    else:
        # VACUUM as well: the server here runs with autovacuum=off, and a bulk-loaded table
        # without a visibility map would make every index-only scan visit the heap.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - t0


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    name: str
    samples: list[float] = field(default_factory=list)  # ms
    target: float | None = None  # p95 target in ms
    note: str = ""
    error: str | None = None
    rate: float | None = None  # rows/s, for the raw insert line

    @property
    def status(self) -> str:
        if self.error:
            return "ERROR"
        if self.target is None:
            return "info"
        return "PASS" if pct(self.samples, 0.95) <= self.target else "MISS"


def measure(
    backend: str,
    name: str,
    fn: Callable[[int], Any],
    *,
    runs: int,
    warmup: int,
    target: float | None = None,
    note: str = "",
) -> Result:
    result = Result(backend, name, target=target, note=note)
    try:
        for i in range(warmup):
            fn(i)
        for i in range(runs):
            t0 = time.perf_counter_ns()
            fn(warmup + i)
            result.samples.append((time.perf_counter_ns() - t0) / 1e6)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    return result


@contextlib.contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def listener(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def pick(statements: list[tuple[str, Any]], *needles: str) -> tuple[str, Any]:
    for stmt, params in statements:
        if all(n in stmt for n in needles):
            return stmt, params
    raise LookupError(f"no captured statement contains {needles}")


def sqlite_plan(engine: Engine, stmt: str, params: Any) -> str:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + stmt, params).all()
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return "\n".join(lines)


# What services/_tx.py runs first in a user's transaction (RLS on): plans then include the
# policies, as the services' statements get them.
ACT_AS = (
    "select set_config('role', 'authenticated', true), set_config('request.jwt.claims', %s, true)"
)


def pg_plan(
    engine: Engine,
    stmt: str,
    params: Any,
    *,
    analyze: bool = True,
    as_user: uuid.UUID | None = None,
) -> str:
    opts = "ANALYZE, BUFFERS" if analyze else "COSTS ON"
    with engine.connect() as conn:
        if as_user is not None and get_settings().db_rls:
            conn.exec_driver_sql(ACT_AS, (claims(as_user),))
        rows = conn.exec_driver_sql(f"EXPLAIN ({opts}) " + stmt, params).all()
        conn.rollback()
    return "\n".join(r[0] for r in rows)


def pg_generic_plan(
    url: str, stmt: str, params: dict[str, Any], *, as_user: uuid.UUID | None = None
) -> str:
    """The plan a prepared statement gets once the server switches to a generic plan.

    psycopg prepares a statement server-side after 5 executions (prepare_threshold) and
    Postgres may then plan it once for any parameter values: the hub (10k rows) gets the plan
    of an average user. plan_cache_mode=force_generic_plan shows that plan.
    """
    names: list[str] = []

    def repl(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    body = re.sub(r"%\((\w+)\)s", repl, stmt).replace("%%", "%")
    with psycopg.connect(url) as conn:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        if as_user is not None and get_settings().db_rls:
            conn.execute(ACT_AS, (claims(as_user),))
        conn.execute(pgsql.SQL("PREPARE bench_generic AS {}").format(pgsql.SQL(body)))
        args = pgsql.SQL(", ").join(pgsql.Literal(params[n]) for n in names)
        rows = conn.execute(
            pgsql.SQL("EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_generic ({})").format(args)
        ).fetchall()
        conn.rollback()
    return "\n".join(r[0] for r in rows)


def check_plan(backend: str, plan: str, index: str) -> str:
    uses = re.search(rf"\b{re.escape(index)}\b", plan) is not None
    if backend == "sqlite":
        sorts = "TEMP B-TREE FOR ORDER BY" in plan
    else:
        sorts = re.search(r"(^|->)\s*(Incremental )?Sort\b", plan, re.M) is not None
    verdict = "OK" if uses and not sorts else "CHECK"
    return f"plan check: uses {index}: {'yes' if uses else 'NO'}; sort step: {'YES' if sorts else 'none'} -> {verdict}"


# --- one backend ---------------------------------------------------------------------------


@dataclass
class Sizes:
    threads: int
    messages: int
    big: int
    runs: int
    warmup: int
    raw_inserts: int


def run_backend(
    backend: str,
    sizes: Sizes,
    ds: Dataset,
    tmp: str,
    out: Callable[[str], None],
    keep: bool = False,
) -> tuple[list[Result], list[str]]:
    results: list[Result] = []
    verdicts: list[str] = []
    if backend == "sqlite":
        where = tempfile.mkdtemp(prefix="arbibase_bench_") if keep else tmp
        url = f"sqlite:///{os.path.join(where, 'bench.db')}"
    else:
        url = create_pg_database()
    out(f"\n=== {backend}: {url}")
    try:
        t0 = time.perf_counter()
        migrations.upgrade(url)
        dbmod.dispose_engine(url)  # the seed uses its own connections
        out(f"migrations: {time.perf_counter() - t0:.1f} s")
        ds.big_ids.clear()
        t_seed = time.perf_counter()
        times = seed(ds, url, backend, out)
        for what, secs in times.items():
            out(f"seed {what}: {secs:.1f} s")
        pre_plans: dict[str, str] = {}
        if backend == "sqlite":  # what a database that never ran ANALYZE would do
            engine = dbmod.get_engine(url)
            pre_plans = collect_plans(backend, url, engine, ds, sizes, explain_only=True)
            dbmod.dispose_engine(url)
        secs = analyze(url, backend)
        out(f"{'ANALYZE' if backend == 'sqlite' else 'VACUUM (ANALYZE)'}: {secs:.1f} s")
        total = time.perf_counter() - t_seed
        rate = ds.message_total / times["messages"]
        out(
            f"seeded {len(ds.threads):,} threads, {2 * len(ds.threads):,} participants, "
            f"{ds.message_total:,} messages (big thread {ds.big.n:,}) in {total:.1f} s "
            f"(messages {rate:,.0f} rows/s)"
        )
        out(f"database size: {db_size(url, backend)}")

        engine = dbmod.get_engine(url)  # the app's engine: the timed phase uses nothing else
        check_consistency(engine, ds)
        cpu0 = cpu_sample()
        results, verdicts = timed(backend, url, engine, ds, sizes, out, pre_plans)
        text, _busy = others_report(cpu0, cpu_sample())
        out(text)
        verdicts.append(f"{backend:<10} {text}")
    finally:
        if backend == "sqlite":
            dbmod.dispose_engine(url)
            if keep:
                out(f"kept for EXPLAIN (delete it when done): {url}")
        elif keep:
            dbmod.dispose_engine(url)
            out(f"kept for EXPLAIN (drop it when done): {url}")
        else:
            drop_pg_database(url)
    return results, verdicts


def db_size(url: str, backend: str) -> str:
    if backend == "sqlite":
        path = url.removeprefix("sqlite:///")
        size = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
        return f"{size / 2**20:,.0f} MiB"
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
    return str(row[0]) if row else "?"


def check_consistency(engine: Engine, ds: Dataset) -> None:
    page = inbox.list_threads(user_id=ds.hub, limit=PAGE, db=engine)
    assert page.items[0].id == ds.big.id, "the big thread should top the inbox"
    assert page.items[0].message_count == ds.big.n
    assert page.items[0].unread_count == ds.big.n - ds.big.hub_read
    assert any(t.unread_count for t in page.items), "unread counts should be non-zero"
    assert {t.my_role for t in page.items} == {"operator", "owner"}
    got = reads.unread_total(user_id=ds.hub, db=engine)
    assert got == ds.unread_total(), (got, ds.unread_total())
    newest = messages.list_messages(user_id=ds.hub, thread_id=ds.big.id, limit=PAGE, db=engine)
    assert [m.seq for m in newest] == list(range(ds.big.n - PAGE + 1, ds.big.n + 1))


def _deep_cursor(ds: Dataset) -> str:
    order = sorted(ds.threads, key=lambda t: (t.last_at, t.id.int), reverse=True)
    last = order[len(order) - PAGE - 1]  # the next page is the last 50 threads
    return inbox.encode_cursor(last.last_at, last.id)


def _depths(big: int) -> list[int]:
    return [0, big // 2, big - PAGE]


def _history_call(engine: Engine, ds: Dataset, depth: int) -> Callable[[int], Any]:
    # depth d = skip the d newest messages: the anchor is the oldest message of the page above.
    before = ds.big_ids[ds.big.n - depth + 1] if depth else None

    def call(_i: int) -> Any:
        rows = messages.list_messages(
            user_id=ds.hub, thread_id=ds.big.id, before=before, limit=PAGE, db=engine
        )
        assert len(rows) == PAGE
        return rows

    return call


def collect_plans(
    backend: str,
    url: str,
    engine: Engine,
    ds: Dataset,
    sizes: Sizes,
    *,
    explain_only: bool = False,
) -> dict[str, str]:
    """EXPLAIN the exact SQL the services send (captured from the engine)."""
    plans: dict[str, str] = {}
    hub = ds.hub
    p1 = inbox.list_threads(user_id=hub, limit=PAGE, db=engine)
    jobs: list[tuple[str, Callable[[], Any], tuple[str, ...], str | None]] = [
        (
            "inbox page 1",
            lambda: inbox.list_threads(user_id=hub, limit=PAGE, db=engine),
            ("FROM messaging_participants", "LIMIT"),
            "ix_participants_inbox",
        ),
        (
            "inbox page 2 (cursor)",
            lambda: inbox.list_threads(user_id=hub, limit=PAGE, cursor=p1.next_cursor, db=engine),
            ("FROM messaging_participants", "LIMIT"),
            "ix_participants_inbox",
        ),
        (
            "inbox last page (cursor)",
            lambda: inbox.list_threads(user_id=hub, limit=PAGE, cursor=_deep_cursor(ds), db=engine),
            ("FROM messaging_participants", "LIMIT"),
            "ix_participants_inbox",
        ),
        (
            "inbox role=owner",
            lambda: inbox.list_threads(user_id=hub, role="owner", limit=PAGE, db=engine),
            ("FROM messaging_participants", "LIMIT"),
            "ix_participants_inbox_role",
        ),
        ("unread_total", lambda: reads.unread_total(user_id=hub, db=engine), ("sum(",), None),
        (
            "unread_by_property",
            lambda: _safe(lambda: reads.unread_by_property(user_id=hub, db=engine)),
            ("GROUP BY",),
            None,
        ),
        (
            f"history depth {sizes.big // 2:,}",
            lambda: _history_call(engine, ds, sizes.big // 2)(0),
            ("FROM messaging_messages", "ORDER BY messaging_messages.seq"),
            "uq_messaging_messages_thread_seq",
        ),
    ]
    for name, call, needles, index in jobs:
        with captured(engine) as stmts:
            call()
        try:
            stmt, params = pick(stmts, *needles)
        except LookupError as exc:
            plans[name] = f"(not captured: {exc})"
            continue
        if backend == "sqlite":
            plan = sqlite_plan(engine, stmt, params)
        else:
            plan = pg_plan(engine, stmt, params, as_user=hub)
        if index:
            plan += "\n" + check_plan(backend, plan, index)
        if (
            backend == "postgresql"
            and not explain_only
            and name in ("inbox page 1", "unread_total")
        ):
            generic = pg_generic_plan(url, stmt, params, as_user=hub)
            plans[name + " [generic plan]"] = generic + (
                "\n" + check_plan(backend, generic, index) if index else ""
            )
        plans[name] = plan
    if explain_only:
        return plans
    # The mark-read UPDATE (plain EXPLAIN: it must not run).
    target = next(t for t in ds.threads if t.hub_read < t.n and t is not ds.big)
    with (
        captured(engine) as stmts,
        contextlib.suppress(_Rollback),
        dbmod.write_session(engine) as session,
    ):
        act_as(session, hub)
        thread = session.get(MessagingThread, target.id)
        assert thread is not None
        reads.advance_cursor(session, Outbox(), thread=thread, user_id=hub, to_seq=target.n)
        raise _Rollback
    stmt, params = pick(stmts, "UPDATE messaging_messages")
    if backend == "sqlite":
        plan = sqlite_plan(engine, stmt, params)
    else:
        plan = pg_plan(engine, stmt, params, analyze=False)
    plans["mark-read UPDATE messaging_messages"] = (
        plan + "\n" + check_plan(backend, plan, "uq_messaging_messages_thread_seq")
    )
    return plans


class _Rollback(Exception):
    """Raised to roll a timed transaction back (nothing the bench writes may stay)."""


def _safe(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception:  # the plan is still worth showing when the Python side fails
        return None


def timed(
    backend: str,
    url: str,
    engine: Engine,
    ds: Dataset,
    sizes: Sizes,
    out: Callable[[str], None],
    pre_plans: dict[str, str],
) -> tuple[list[Result], list[str]]:
    hub = ds.hub
    runs, warmup = sizes.runs, sizes.warmup
    inbox_target = 10.0 if backend == "sqlite" else 15.0
    results: list[Result] = []

    def m(
        name: str,
        fn: Callable[[int], Any],
        target: float | None = None,
        note: str = "",
        n: int | None = None,
        warm: int | None = None,
    ) -> None:
        gc.collect()
        r = measure(
            backend,
            name,
            fn,
            runs=n or runs,
            warmup=warmup if warm is None else warm,
            target=target,
            note=note,
        )
        results.append(r)
        extra = f"  {r.error}" if r.error else ""
        out(
            f"  {name:<44} p50 {pct(r.samples, 0.5):7.2f}  p95 {pct(r.samples, 0.95):7.2f}  "
            f"p99 {pct(r.samples, 0.99):7.2f} ms  {r.status}{extra}"
        )

    out(
        f"timing ({warmup} warm-up + {runs} runs each unless noted; app engine: "
        f"{engine.pool.__class__.__name__}, pre_ping={getattr(engine.pool, '_pre_ping', '?')})"
    )
    p1 = inbox.list_threads(user_id=hub, limit=PAGE, db=engine)
    cursor2 = p1.next_cursor
    deep = _deep_cursor(ds)
    m(
        "inbox page 1 (50 rows + unread counts)",
        lambda i: inbox.list_threads(user_id=hub, limit=PAGE, db=engine),
        inbox_target,
    )
    m(
        "inbox page 2 (cursor)",
        lambda i: inbox.list_threads(user_id=hub, limit=PAGE, cursor=cursor2, db=engine),
        inbox_target,
    )
    m(
        "inbox last page (cursor)",
        lambda i: inbox.list_threads(user_id=hub, limit=PAGE, cursor=deep, db=engine),
        inbox_target,
        note="extra",
    )
    m(
        "inbox role=owner page 1",
        lambda i: inbox.list_threads(user_id=hub, role="owner", limit=PAGE, db=engine),
        inbox_target,
    )
    m(
        "inbox role=operator page 1",
        lambda i: inbox.list_threads(user_id=hub, role="operator", limit=PAGE, db=engine),
        inbox_target,
    )
    if "search" in inspect.signature(inbox.list_threads).parameters:
        few = max(3, runs // 20)
        m(
            f"inbox search, common word ({few} runs)",
            lambda i: inbox.list_threads(user_id=hub, search="lockbox", limit=PAGE, db=engine),
            note="no target",
            n=few,
            warm=1,
        )
        m(
            f"inbox search, no match ({few} runs)",
            lambda i: inbox.list_threads(user_id=hub, search="zebra", limit=PAGE, db=engine),
            note="no target",
            n=few,
            warm=1,
        )
    m("unread_total", lambda i: reads.unread_total(user_id=hub, db=engine), 20.0)
    m(
        "unread_by_property",
        lambda i: reads.unread_by_property(user_id=hub, db=engine),
        note="no target",
    )
    m(
        "portfolio (per property: counts, stage, latest offer)",
        lambda i: portfolio.portfolio(user_id=hub, db=engine),
        note="no target",
    )
    for depth in _depths(ds.big.n):
        label = "newest page" if depth == 0 else f"depth {depth:,}"
        m(f"history page 50, {label}", _history_call(engine, ds, depth), 5.0)

    plans = collect_plans(backend, url, engine, ds, sizes)

    # Writes: mark-read on threads whose cursor really moves (one thread per call).
    supply = [t for t in ds.threads if t.hub_read < t.n and t is not ds.big]
    random.Random(ds.seed + 2).shuffle(supply)
    need = warmup + runs
    if len(supply) < need:
        raise SystemExit(f"only {len(supply)} threads with unread messages; need {need}")
    moving = supply[:need]
    moved = sum(t.n - t.hub_read for t in moving[warmup:]) / runs

    def mark(i: int) -> None:
        state = reads.mark_read(user_id=hub, thread_id=moving[i].id, db=engine)
        assert state.last_read_seq == moving[i].n and state.unread_count == 0

    m("mark_read (cursor moves)", mark, 2.0, note=f"avg {moved:.1f} messages marked seen")
    m(
        "mark_read (no-op: already read)",
        lambda i: reads.mark_read(user_id=hub, thread_id=moving[i % need].id, db=engine),
        2.0,
    )
    chunk = catchup_chunk(ds.big.n)

    def catch_up(i: int) -> None:
        to_seq = ds.big.hub_read + (i + 1) * chunk
        state = reads.mark_read(
            user_id=hub, thread_id=ds.big.id, up_to_message_id=ds.big_ids[to_seq], db=engine
        )
        assert state.last_read_seq == to_seq

    m(
        f"mark_read catch-up, {chunk:,} msgs per call",
        catch_up,
        note="no target",
        n=CATCHUP_CALLS - 2,
        warm=2,
    )
    sendable = moving[:50]
    bodies = ds.bodies
    with _no_send_limit():  # the per-user token bucket would refuse 200 sends in a row
        m(
            "send_message (existing thread)",
            lambda i: messages.send_message(
                user_id=hub,
                thread_id=sendable[i % len(sendable)].id,
                body=bodies[i % len(bodies)],
                db=engine,
            ),
            note="reference",
        )
    results.append(raw_insert(backend, engine, sizes.raw_inserts, out))

    out("")
    verdicts: list[str] = []
    for name, plan in plans.items():
        out(
            f"--- EXPLAIN {'QUERY PLAN ' if backend == 'sqlite' else '(ANALYZE, BUFFERS) '}"
            f"[{backend}] {name}"
        )
        out(plan)
        for line in plan.splitlines():
            if line.startswith("plan check"):
                verdicts.append(f"{backend:<10} {name:<40} {line.removeprefix('plan check: ')}")
        if name in pre_plans:
            before = pre_plans[name]
            if _shape(before) == _shape(plan):
                out("(same plan before ANALYZE)")
            elif sorted(_shape(before).splitlines()) == sorted(_shape(plan).splitlines()):
                out("(before ANALYZE: the same steps, in another join order)")
            else:
                out("before ANALYZE (no sqlite_stat1) the plan was:")
                out(before)
    return results, verdicts


@contextlib.contextmanager
def _no_send_limit() -> Iterator[None]:
    """Time the database path of send_message, not the rate limiter (if the app has one)."""
    try:
        from arbibase_chat.services import ratelimit
    except ImportError:
        yield
        return
    with ratelimit.use(ratelimit.Unlimited()):
        yield


def _shape(plan: str) -> str:
    return "\n".join(line for line in plan.splitlines() if not line.startswith("plan check"))


def raw_insert(backend: str, engine: Engine, n: int, out: Callable[[str], None]) -> Result:
    """Baseline: N single-row inserts, one write transaction each, same engine + settings."""
    result = Result(backend, "raw 1-row insert txn (baseline)", note="rows/s")
    result.rate, result.samples = raw_insert_samples(engine, n)
    out(
        f"  {result.name:<44} p50 {pct(result.samples, 0.5):7.2f}  p95 {pct(result.samples, 0.95):7.2f}  "
        f"p99 {pct(result.samples, 0.99):7.2f} ms  {result.rate:,.0f} rows/s"
    )
    return result


# --- report --------------------------------------------------------------------------------


def machine_facts(backends: list[str]) -> list[str]:
    facts = [
        *common_facts(),
        f"python    {platform.python_version()}  SQLAlchemy {sqlalchemy.__version__}  psycopg {psycopg.__version__} ({psycopg.pq.__impl__})",
        f"sqlite    {sqlite3.sqlite_version}",
    ]
    if "postgresql" in backends:
        try:
            with psycopg.connect(PG_ADMIN_URL, connect_timeout=5) as conn:
                version = conn.execute("SHOW server_version").fetchone()
                rows = conn.execute(
                    "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers',"
                    " 'work_mem', 'synchronous_commit', 'fsync', 'autovacuum', 'jit',"
                    " 'random_page_cost', 'effective_cache_size', 'plan_cache_mode') ORDER BY name"
                ).fetchall()
            settings = " ".join(f"{n}={s}{u or ''}" for n, s, u in rows)
            facts.append(f"postgres  {version[0] if version else '?'}  {settings}")
            rls = (
                "on: requests run as `authenticated` with the user's claims"
                if get_settings().db_rls
                else "off (DB_RLS=0): requests run on the app's own role"
            )
            facts.append(f"rls       {rls}")
        except psycopg.Error as exc:
            facts.append(f"postgres  unavailable: {exc}")
    return facts


@dataclass
class CpuSample:
    wall: float
    busy: float  # user + system CPU seconds of the whole machine
    steal: float
    mine: float  # this process
    postgres: float  # processes named "postgres" (the server answering the benchmark)


def cpu_sample() -> CpuSample:
    tick = os.sysconf("SC_CLK_TCK")
    busy = steal = 0.0
    with contextlib.suppress(OSError), open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
        # user nice system idle iowait irq softirq steal. irq/softirq are left out: no process
        # is charged for them, and loopback traffic to Postgres would show up as "others".
        busy = (v[0] + v[1] + v[2]) / tick
        steal = v[7] / tick
    postgres = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if comm == "postgres":
            rest = stat[stat.rindex(")") + 2 :].split()
            postgres += (int(rest[11]) + int(rest[12])) / tick
    t = os.times()
    return CpuSample(time.perf_counter(), busy, steal, t.user + t.system, postgres)


def others_report(start: CpuSample, end: CpuSample) -> tuple[str, bool]:
    """CPU used by everything except this benchmark and Postgres while the timings ran."""
    wall = max(end.wall - start.wall, 1e-9)
    others = (end.busy - start.busy) - (end.mine - start.mine) - (end.postgres - start.postgres)
    share = max(others, 0.0) / wall
    steal = (end.steal - start.steal) / wall
    busy = share > 0.2 or steal > 0.2
    text = f"other processes used {share:.0%} of one CPU during the timings (steal {steal:.0%})" + (
        " -- WARNING: the machine was busy, p95/p99 are pessimistic" if busy else ""
    )
    return text, busy


def table(results: list[Result]) -> list[str]:
    head = f"{'backend':<10} {'measurement':<40} {'n':>5} {'p50':>8} {'p95':>8} {'p99':>8}  {'target':<14} result"
    lines = [head, "-" * len(head)]
    for r in results:
        if r.error:
            lines.append(
                f"{r.backend:<10} {r.name:<40} {'-':>5} {'-':>8} {'-':>8} {'-':>8}  "
                f"{'':<14} ERROR  {r.error}"
            )
            continue
        if r.rate is not None:
            target = f"{r.rate:,.0f} rows/s"
        elif r.target is not None:
            target = f"p95 <= {r.target:g} ms"
        else:
            target = r.note or "-"
        lines.append(
            f"{r.backend:<10} {r.name:<40} {len(r.samples):>5} {pct(r.samples, 0.5):>8.2f} "
            f"{pct(r.samples, 0.95):>8.2f} {pct(r.samples, 0.99):>8.2f}  {target:<14} {r.status}"
            + (f"  ({r.note})" if r.note and r.target is not None else "")
        )
    return lines


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.queries", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--threads", type=int, default=None, help="threads of the hub user (10000)")
    parser.add_argument("--messages", type=int, default=None, help="messages in total (1000000)")
    parser.add_argument(
        "--big-thread", type=int, default=None, help="messages in the big thread (100000)"
    )
    parser.add_argument("--runs", type=int, default=None, help="timed runs per line (200)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs first (20)")
    parser.add_argument("--raw-inserts", type=int, default=None, help="baseline inserts (2000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1,000 threads / 50,000 messages / 10,000-message thread, 100 runs",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the database afterwards (its URL is printed) to study its plans",
    )
    args = parser.parse_args(argv)
    q = args.quick
    sizes = Sizes(
        threads=args.threads or (1_000 if q else 10_000),
        messages=args.messages or (50_000 if q else 1_000_000),
        big=args.big_thread or (10_000 if q else 100_000),
        runs=args.runs or (100 if q else 200),
        warmup=args.warmup or (10 if q else 20),
        raw_inserts=args.raw_inserts or (300 if q else 2_000),
    )
    backends = (
        ["sqlite", "postgresql"]
        if args.backend == "both"
        else ["postgresql" if args.backend == "postgres" else "sqlite"]
    )

    def out(line: str) -> None:
        print(line, flush=True)

    # SIGTERM should clean up like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    tmp = tempfile.mkdtemp(prefix="arbibase-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{os.path.join(tmp, 'default.db')}")
    os.environ.setdefault("ATTACHMENTS_DIR", os.path.join(tmp, "attachments"))
    started = time.perf_counter()
    results: list[Result] = []
    verdicts: list[str] = []
    try:
        facts = machine_facts(backends)
        for line in facts:
            out(line)
        out(
            f"sizes     threads={sizes.threads:,} messages={sizes.messages:,} big thread={sizes.big:,} "
            f"runs={sizes.runs} warm-up={sizes.warmup}{'  (--quick)' if q else ''}"
        )
        t0 = time.perf_counter()
        ds = build_dataset(sizes.threads, sizes.messages, sizes.big, args.seed)
        avg_body = sum(len(b) for b in ds.bodies) / len(ds.bodies)
        out(
            f"dataset   {len(ds.users):,} users, {len(ds.properties):,} properties, "
            f"{len(ds.threads):,} threads, {ds.message_total:,} messages "
            f"(bodies 20-400 chars, mean {avg_body:.0f}), hub unread total {ds.unread_total():,} "
            f"in {sum(1 for t in ds.threads if t.hub_read < t.n):,} threads "
            f"({time.perf_counter() - t0:.1f} s)"
        )
        for backend in backends:
            got, checks = run_backend(backend, sizes, ds, tmp, out, keep=args.keep)
            results += got
            verdicts += checks
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out("")
    out("=== summary (ms; targets are on p95)")
    for line in facts:
        out(line)
    for line in table(results):
        out(line)
    out("")
    out(
        "plan checks (index used / no sort of the whole inbox; details in the EXPLAIN output above)"
    )
    for line in verdicts:
        out(line)
    misses = [r for r in results if r.status in ("MISS", "ERROR")]
    out(
        f"total run time {time.perf_counter() - started:.0f} s; "
        f"{sum(r.status == 'PASS' for r in results)} PASS, {len(misses)} MISS/ERROR"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
