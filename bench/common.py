"""What every bench script shares: percentiles, the facts about the machine, throw-away
PostgreSQL databases, and the raw limit each compares against (single-row insert
transactions through the app's engine settings).

Only the standard library is imported here at module level: `bench.realtime` (whose worker
processes import it) and the scripts that set environment variables before importing the app
(`bench.http`, `bench.login`) must not load the app, SQLAlchemy or psycopg by importing this.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import platform
import socket
import time
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

PG_ADMIN_URL = os.environ.get(
    "ARBIBASE_BENCH_PG_URL",
    os.environ.get("ARBIBASE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
# A well-formed argon2id hash no password matches: seeded users are never signed in with it.
FAKE_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2htYXJr$bm90LWEtcmVhbC1oYXNoLWJlbmNoLW9ubHk"
INSERT_BODY = "x" * 150


# --- statistics ---------------------------------------------------------------------------------


def env_setting(item: str) -> tuple[str, str]:
    """argparse type of `--server-env KEY=VALUE` (a setting to A/B on the bench's servers)."""
    key, sep, value = item.partition("=")
    if not key or not sep:
        raise ValueError(f"not KEY=VALUE: {item!r}")
    return key, value


def pct(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) of `samples`, interpolated linearly between the two closest ranks
    (numpy's default); NaN when there are none."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# --- the machine --------------------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "?"


def memory_total() -> str:
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    return "?"


def loadavg() -> str:
    """The 1/5/15-minute load averages, as /proc/loadavg gives them."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def machine_facts() -> list[str]:
    """The first lines of every report: when, and on what."""
    return [
        f"date      {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"machine   nproc={len(os.sched_getaffinity(0))}  cpu={cpu_model()}  "
        f"mem={memory_total()}  {platform.system()} {platform.release()}",
    ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- PostgreSQL databases -----------------------------------------------------------------------


def create_pg_database(prefix: str = "arbibase_bench", admin_url: str = PG_ADMIN_URL) -> str:
    """A new, empty database on the server of `admin_url`; its URL (drop it with
    `drop_pg_database`)."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


def drop_pg_database(url: str, admin_url: str = PG_ADMIN_URL) -> None:
    """Close the app's engine on `url`, then drop the database (even with sessions left)."""
    import psycopg
    from psycopg import sql

    from arbibase_chat import db as dbmod

    dbmod.dispose_engine(url)
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# --- the raw limit ------------------------------------------------------------------------------


def raw_insert_samples(
    engine: Engine, n: int, *, table: str = "bench_raw_insert"
) -> tuple[float, list[float]]:
    """N single-row inserts, one write transaction each, through the app's engine settings
    (BEGIN IMMEDIATE on SQLite). Returns (rows/s, per-transaction ms)."""
    from sqlalchemy import Column, Integer, MetaData, Table, Text, insert

    from arbibase_chat.db import UTCDateTime

    meta = MetaData()
    scratch = Table(
        table,
        meta,
        Column("id", Integer, primary_key=True),
        Column("body", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
    )
    meta.create_all(engine)
    writer = engine.execution_options(arbibase_write=True)
    stmt = insert(scratch)
    samples: list[float] = []
    try:
        for _ in range(20):  # warm-up
            with writer.begin() as conn:
                conn.execute(stmt, {"body": INSERT_BODY, "created_at": dt.datetime.now(dt.UTC)})
        gc.collect()
        started = time.perf_counter()
        for _ in range(n):
            t0 = time.perf_counter_ns()
            with writer.begin() as conn:
                conn.execute(stmt, {"body": INSERT_BODY, "created_at": dt.datetime.now(dt.UTC)})
            samples.append((time.perf_counter_ns() - t0) / 1e6)
        rate = n / (time.perf_counter() - started)
    finally:
        meta.drop_all(engine)
    return rate, samples
