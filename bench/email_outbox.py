"""E-mail outbox benchmark: how fast dispatchers claim and record due e-mails on PostgreSQL.

    .venv/bin/python -m bench.email_outbox [--rows 2000] [--batch 50]

A fresh Postgres database (alembic head) with `--rows` threads of one Premium operator and
one owner, one unread message each, and one due outbox row each. Then, for 1 and 2
concurrent dispatchers (processes, as the app's workers are, each with the app's engine), until
nothing is due:

- claim+mark: `email_outbox.claim_due(limit=batch)` then `mark_sent` per row (the database
  work of a pass without reading what the e-mail shows);
- claim+prepare+mark: the same with `prepare` per row (the still-wanted checks, the recap,
  the reply token): a pass's whole database work, without composing or sending.

Reported: rows/s (wall clock over all rows), and a check that every row was sent exactly
once (no row lost, none marked twice). The outbox is reset between runs. The database is
dropped at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bench.common import create_pg_database, drop_pg_database, loadavg, machine_facts


def _seed(url: str, rows: int) -> None:
    from sqlalchemy import insert

    from arbibase_chat import db as dbmod
    from arbibase_chat.models import (
        EmailOutbox,
        MessagingMessage,
        MessagingThread,
        Participant,
        Property,
        User,
    )
    from bench.common import FAKE_HASH

    engine = dbmod.get_engine(url)
    now = dbmod.utcnow()
    operator, owner = uuid.uuid4(), uuid.uuid4()
    props = [uuid.uuid4() for _ in range(rows)]
    threads = [uuid.uuid4() for _ in range(rows)]
    with engine.begin() as conn:
        conn.execute(
            insert(User),
            [
                {
                    "id": operator,
                    "email": "op@bench.test",
                    "display_name": "Operator",
                    "role": "operator",
                    "tier": "premium",
                    "verified": True,
                    "password_hash": FAKE_HASH,
                    "created_at": now,
                    "is_staff": False,
                },
                {
                    "id": owner,
                    "email": "owner@bench.test",
                    "display_name": "Owner",
                    "role": "owner",
                    "tier": "beta",
                    "verified": True,
                    "password_hash": FAKE_HASH,
                    "created_at": now,
                    "is_staff": False,
                },
            ],
        )
        conn.execute(
            insert(Property),
            [
                {
                    "id": p,
                    "owner_id": owner,
                    "title": f"Unit {i}",
                    "address": f"{i} Bench St",
                    "city": "Tampa",
                    "created_at": now,
                }
                for i, p in enumerate(props)
            ],
        )
        conn.execute(
            insert(MessagingThread),
            [
                {
                    "id": t,
                    "property_id": p,
                    "operator_id": operator,
                    "owner_id": owner,
                    "subject": "Lease",
                    "status": "active",
                    "last_seq": 1,
                    "last_message_at": now,
                    "created_at": now,
                    "stage": "inquiry",
                }
                for t, p in zip(threads, props, strict=True)
            ],
        )
        conn.execute(
            insert(Participant),
            [
                {
                    "thread_id": t,
                    "user_id": u,
                    "role": role,
                    "last_read_seq": 1 if role == "operator" else 0,
                    "last_message_at": now,
                }
                for t in threads
                for u, role in ((operator, "operator"), (owner, "owner"))
            ],
        )
        conn.execute(
            insert(MessagingMessage),
            [
                {
                    "id": uuid.uuid4(),
                    "thread_id": t,
                    "seq": 1,
                    "sender_id": operator,
                    "body": "Could we start on the 1st?",
                    "seen_by": [],
                    "kind": "text",
                    "created_at": now,
                }
                for t in threads
            ],
        )
        conn.execute(
            insert(EmailOutbox),
            [
                {
                    "id": uuid.uuid4(),
                    "thread_id": t,
                    "user_id": owner,
                    "first_seq": 1,
                    "due_at": now - timedelta(seconds=1),
                    "state": "pending",
                    "attempts": 0,
                    "created_at": now,
                }
                for t in threads
            ],
        )
        conn.exec_driver_sql("ANALYZE")


def _reset(url: str) -> None:
    from arbibase_chat import db as dbmod

    with dbmod.get_engine(url).begin() as conn:
        conn.exec_driver_sql(
            "UPDATE messaging_email_outbox SET state = 'pending', claimed_at = NULL, "
            "attempts = 0, sent_at = NULL, through_seq = NULL, email_message_id = NULL, "
            "note = NULL"
        )
        conn.exec_driver_sql("DELETE FROM messaging_email_tokens")


def _worker(url: str, batch: int, prepare: bool, results: Any, start_at: float) -> None:
    """One dispatcher process: passes until nothing is due; puts (rows sent, errors)."""
    from arbibase_chat import db as dbmod
    from arbibase_chat.services import email_outbox

    engine = dbmod.get_engine(url)
    with engine.connect():
        pass  # connect before the clock starts
    done = 0
    errors: list[str] = []
    time.sleep(max(0.0, start_at - time.time()))
    began = time.time()
    try:
        while True:
            claimed = email_outbox.claim_due(limit=batch, db=engine)
            if not claimed:
                break
            for claim in claimed:
                through = 1
                if prepare:
                    outgoing = email_outbox.prepare(claim=claim, db=engine)
                    if outgoing is None:
                        errors.append(f"{claim.id}: not wanted")
                        continue
                    through = outgoing.through_seq
                if email_outbox.mark_sent(
                    claim=claim, message_id=f"<{claim.id}@bench>", through_seq=through, db=engine
                ):
                    done += 1
                else:
                    errors.append(f"{claim.id}: claim lost")
    except Exception as exc:  # reported, not hidden
        errors.append(repr(exc))
    results.put((done, errors, began, time.time()))


def _run(url: str, *, workers: int, batch: int, prepare: bool, rows: int) -> str:
    from arbibase_chat import db as dbmod

    _reset(url)
    # Processes, as in production (each worker process runs its own dispatcher): threads of
    # one process would share its GIL and measure Python, not the database.
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    start_at = time.time() + 3.0  # every process imported and connected by then
    pool = [
        ctx.Process(target=_worker, args=(url, batch, prepare, results, start_at))
        for _ in range(workers)
    ]
    for p in pool:
        p.start()
    outcomes = [results.get(timeout=600) for _ in pool]
    for p in pool:
        p.join()
    elapsed = max(o[3] for o in outcomes) - min(o[2] for o in outcomes)
    counts = [o[0] for o in outcomes]
    errors = [e for o in outcomes for e in o[1]]
    with dbmod.get_engine(url).connect() as conn:
        sent = conn.exec_driver_sql(
            "SELECT count(*), count(DISTINCT id), max(attempts) FROM messaging_email_outbox "
            "WHERE state = 'sent'"
        ).one()
    once = sent[0] == rows and sent[1] == rows and sent[2] == 1 and sum(counts) == rows
    what = "claim+prepare+mark" if prepare else "claim+mark"
    return (
        f"{what:<20} dispatchers={workers}  rows={rows}  {elapsed:6.2f} s  "
        f"{rows / elapsed:7.0f} rows/s  per dispatcher={counts}  "
        f"exactly once={'yes' if once and not errors else 'NO ' + str(errors[:3])}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args(argv)

    from arbibase_chat import migrations

    url = create_pg_database()
    try:
        migrations.upgrade(url)
        _seed(url, args.rows)
        for line in [*machine_facts(), f"load      {loadavg()}"]:
            print(line)
        print(f"postgres  batch={args.batch} (rows claimed per transaction)")
        runs: list[Callable[[], str]] = [
            lambda w=w, p=p: _run(url, workers=w, batch=args.batch, prepare=p, rows=args.rows)
            for p in (False, True)
            for w in (1, 2)
        ]
        for run in runs:
            print(run(), flush=True)
    finally:
        drop_pg_database(url)


if __name__ == "__main__":
    main()
