"""Search benchmark (issue #14, target 6): one word in 1M messages for a user in 10k threads.

    .venv/bin/python -m bench.search [--backend sqlite|postgres|both] [--quick]
        [--threads 10000] [--messages 1000000] [--runs 100]

The dataset is bench/queries.py's (its builder and bulk seed, imported): one "hub" user in
every thread, so every one of the 1M messages is theirs to search. RARE_WORD is then written
into RARE_COUNT messages (through SQL, so the index's triggers see an update). Timed through
`search.search_messages` with the app's engine (RLS on, on PostgreSQL, unless DB_RLS=0), each
line `--runs` times after a warm-up; the Postgres plan (EXPLAIN ANALYZE as the user) follows
each line. The raw limit of the same run (bench/common.py) closes the report.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat import migrations
from arbibase_chat.config import get_settings
from arbibase_chat.services import inbox, search
from arbibase_chat.services._tx import claims
from bench.common import create_pg_database, drop_pg_database, pct
from bench.queries import (
    ACT_AS,
    Dataset,
    Result,
    analyze,
    build_dataset,
    captured,
    cpu_sample,
    db_size,
    machine_facts,
    measure,
    others_report,
    raw_insert,
    seed,
    table,
)

TARGET_MS = 50.0
RARE_WORD = "zanzibar"
RARE_COUNT = 40
# (line, query): a word in about every third message, a rare one, none, a prefix, two words.
QUERIES = (
    ("common word", "lease"),
    ("rare word", RARE_WORD),
    ("no match", "xylophone"),
    ("prefix", "insp"),
    ("two words", "parking wifi"),
)


def plant_rare_word(url: str, backend: str, ds: Dataset) -> list[uuid.UUID]:
    """RARE_WORD appended to RARE_COUNT messages spread over the threads (an UPDATE: the
    index's own triggers / expression keep up, as for an edit)."""
    step = max(1, len(ds.threads) // RARE_COUNT)
    chosen = [t.id for t in ds.threads[::step]][:RARE_COUNT]
    raw = url.removeprefix("sqlite:///") if backend == "sqlite" else url
    sql = "UPDATE messaging_messages SET body = body || ' {w}' WHERE thread_id = {p} AND seq = 1"
    if backend == "sqlite":
        import sqlite3

        con = sqlite3.connect(raw)
        with con:
            for tid in chosen:
                con.execute(sql.format(w=RARE_WORD, p="?"), (tid.hex,))
        con.close()
    else:
        with psycopg.connect(raw) as conn:
            for tid in chosen:
                conn.execute(sql.format(w=RARE_WORD, p="%s"), (tid,))
    return chosen


def run_backend(
    backend: str, ds: Dataset, args: argparse.Namespace, tmp: str, out: Callable[[str], None]
) -> list[Result]:
    url = f"sqlite:///{os.path.join(tmp, 'search.db')}" if backend == "sqlite" else None
    url = url or create_pg_database("arbibase_search_bench")
    out(f"\n=== {backend}: {url}")
    results: list[Result] = []
    try:
        t0 = time.perf_counter()
        migrations.upgrade(url)
        dbmod.dispose_engine(url)
        ds.big_ids.clear()
        for what, secs in seed(ds, url, backend, out).items():
            out(f"seed {what}: {secs:.1f} s (index kept by the migration's triggers / GIN)")
        plant_rare_word(url, backend, ds)
        out(f"ANALYZE: {analyze(url, backend):.1f} s")
        out(f"built in {time.perf_counter() - t0:.0f} s; database size {db_size(url, backend)}")
        engine = dbmod.get_engine(url)
        cpu0 = cpu_sample()
        small = ds.threads[1].counterparty  # a user in a handful of threads
        lines = [(name, q, ds.hub) for name, q in QUERIES]
        lines.append(("common word, user in few threads", "lease", small))
        for name, query, user in lines:
            hits = search.search_messages(user_id=user, query=query, db=engine)
            result = measure(
                backend,
                f"search: {name}",
                lambda _i, q=query, u=user: search.search_messages(user_id=u, query=q, db=engine),
                runs=args.runs,
                warmup=5,
                target=TARGET_MS if user == ds.hub else None,
                note=f"{len(hits)} hits",
            )
            results.append(result)
            _report(out, result)
            if backend == "postgresql" and args.plans:
                out(_plan(engine, query, user))
        inbox_line = measure(
            backend,
            "inbox search (rare word in text)",
            lambda _i: inbox.list_threads(user_id=ds.hub, search=RARE_WORD, db=engine),
            runs=max(10, args.runs // 5),
            warmup=2,
            note="list_threads(search=)",
        )
        results.append(inbox_line)
        _report(out, inbox_line)
        out("  " + others_report(cpu0, cpu_sample())[0])
        results.append(raw_insert(backend, engine, args.raw_inserts, out))
    finally:
        if backend == "sqlite":
            dbmod.dispose_engine(url)
        else:
            drop_pg_database(url)
    return results


def _report(out: Callable[[str], None], r: Result) -> None:
    if r.error:
        out(f"  {r.name:<44} ERROR {r.error}")
        return
    out(
        f"  {r.name:<44} p50 {pct(r.samples, 0.5):7.2f}  p95 {pct(r.samples, 0.95):7.2f}  "
        f"p99 {pct(r.samples, 0.99):7.2f} ms  {r.note}"
    )


def _plan(engine: Engine, query: str, user: uuid.UUID) -> str:
    """EXPLAIN ANALYZE of the search's statements as they ran: as the user, after the same
    planner settings (`set_config(..., true)`) the service issued before each."""
    with captured(engine) as statements:
        search.search_messages(user_id=user, query=query, db=engine)
    lines: list[str] = []
    with engine.connect() as conn:
        if get_settings().db_rls:
            conn.exec_driver_sql(ACT_AS, (claims(user),))
        for stmt, params in statements:
            if stmt.startswith("select set_config("):
                conn.exec_driver_sql(stmt)
            elif any(k in stmt for k in ("search_vector", "sum(", "message_search")):
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + stmt, params).all()
                lines += ["    " + r[0] for r in rows] + ["    --"]
        conn.rollback()
    return "\n".join(lines)


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--raw-inserts", type=int, default=None)
    parser.add_argument("--no-plans", dest="plans", action="store_false")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="1,000 threads / 50,000 messages")
    args = parser.parse_args(argv)
    q = args.quick
    threads = args.threads or (1_000 if q else 10_000)
    total = args.messages or (50_000 if q else 1_000_000)
    args.runs = args.runs or (50 if q else 100)
    args.raw_inserts = args.raw_inserts or (300 if q else 2_000)
    backends = {"both": ["sqlite", "postgresql"], "postgres": ["postgresql"]}.get(
        args.backend, ["sqlite"]
    )

    def out(line: str) -> None:
        print(line, flush=True)

    # SIGTERM cleans up like Ctrl-C (the Postgres database is dropped in `run_backend`).
    signal.signal(signal.SIGTERM, _interrupt)
    tmp = tempfile.mkdtemp(prefix="arbibase-search-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{os.path.join(tmp, 'default.db')}")
    os.environ.setdefault("ATTACHMENTS_DIR", os.path.join(tmp, "attachments"))
    started = time.perf_counter()
    results: list[Result] = []
    try:
        facts = machine_facts(backends)
        for line in facts:
            out(line)
        out(f"sizes     threads={threads:,} messages={total:,} runs={args.runs}")
        ds = build_dataset(threads, total, max(10, total // 10), args.seed)
        out(
            f"dataset   the hub user is in all {len(ds.threads):,} threads "
            f"({ds.message_total:,} messages); '{RARE_WORD}' in {RARE_COUNT}"
        )
        for backend in backends:
            results += run_backend(backend, ds, args, tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out("\n=== summary (ms; target p95 <= 50 ms for the user in every thread)")
    rls = "on" if get_settings().db_rls else "off (DB_RLS=0)"
    out(f"rls on postgres: {rls}; ranked among the newest {search.CANDIDATES} matches")
    for line in table(results):
        out(line)
    out(f"total run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
