"""The raw limit every bench compares against: single-row insert transactions."""

from __future__ import annotations

import datetime as dt
import gc
import time

from sqlalchemy import Column, Integer, MetaData, Table, Text, insert
from sqlalchemy.engine import Engine

from arbibase_chat.db import UTCDateTime

BODY = "x" * 150


def raw_insert_samples(
    engine: Engine, n: int, *, table: str = "bench_raw_insert"
) -> tuple[float, list[float]]:
    """N single-row inserts, one write transaction each, through the app's engine settings
    (BEGIN IMMEDIATE on SQLite). Returns (rows/s, per-transaction ms)."""
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
                conn.execute(stmt, {"body": BODY, "created_at": dt.datetime.now(dt.UTC)})
        gc.collect()
        started = time.perf_counter()
        for _ in range(n):
            t0 = time.perf_counter_ns()
            with writer.begin() as conn:
                conn.execute(stmt, {"body": BODY, "created_at": dt.datetime.now(dt.UTC)})
            samples.append((time.perf_counter_ns() - t0) / 1e6)
        rate = n / (time.perf_counter() - started)
    finally:
        meta.drop_all(engine)
    return rate, samples
