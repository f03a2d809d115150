"""Scale-out mode, live: Postgres + Redis and two backend workers behind different ports; and
one server with gunicorn's two workers surviving `kill -9` of each.

Each browser is pinned to its own worker (worker A serves the operator, worker B the owner),
so everything one sees of the other crossed between workers: messages through Postgres NOTIFY,
typing through the Redis bus. A row written with plain SQL (as the seed's Next.js pages or any
Supabase client would) shows up live, and Postgres is restarted mid-conversation without
losing, repeating or reordering anything.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect
from reflex_base.config import get_config

from arbibase_chat import db as dbmod
from arbibase_chat import migrations
from arbibase_chat.seed import seed_demo
from tests.e2e.helpers import bubble, open_thread, send, signed_in_page
from tests.e2e.server import LiveServer, server_env
from tests.pgcluster import PgCluster

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

REDIS_URL = "redis://127.0.0.1:6379/0"
# A dead worker's tabs wait for the Redis locks it held to expire (rxconfig.py), then
# reconnect, hydrate and send: the wait for a bubble after a kill allows for it.
AFTER_KILL_MS = get_config().redis_lock_expiration + 30_000
THREAD = "Bayview 3BR Townhouse"


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    pg = PgCluster()
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture
def workers(
    cluster: PgCluster, tmp_path: Path, artifacts_dir: Path
) -> Iterator[tuple[LiveServer, LiveServer, str]]:
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute("create database arbibase")
    url = cluster.url("arbibase")
    migrations.upgrade(url)
    seed_demo(dbmod.get_engine(url))
    dbmod.dispose_engine(url)
    shared = {"REDIS_URL": REDIS_URL, "REALTIME_CHANNEL": f"arbibase-e2e:{uuid.uuid4().hex}"}
    servers = []
    for name in ("a", "b"):
        # Separate frontend builds: each worker is reached on its own port.
        env = server_env(url, tmp_path / name, tmp_path / f"web-{name}", shared)
        env["JWT_SECRET"] = "e2e-workers-shared-secret-" + shared["REALTIME_CHANNEL"][-12:]
        servers.append(LiveServer(env=env, log_path=artifacts_dir / f"e2e-worker-{name}.log"))
    try:
        # One after the other: a build rewrites reflex.lock/, two at once trip over it.
        for server in servers:
            server.start()
            server.wait_ready()
        yield servers[0], servers[1], url
    finally:
        for server in servers:
            server.stop()


def _plain_sql_message(url: str, body: str) -> None:
    """Olivia writes in the Bayview thread without the app: plain SQL in one transaction."""
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            with t as (
              select t.id, t.owner_id from messaging_threads t
              join properties p on p.id = t.property_id
              where p.title = %(title)s
            ), bumped as (
              update messaging_threads m set last_seq = m.last_seq + 1, last_message_at = now()
              from t where m.id = t.id returning m.id, m.last_seq, t.owner_id
            )
            insert into messaging_messages
              (id, thread_id, sender_id, body, seq, seen_by, kind, created_at)
            select gen_random_uuid(), b.id, b.owner_id, %(body)s, b.last_seq, '[]', 'text', now()
            from bumped b
            """,
            {"title": THREAD, "body": body},
        )


def _seqs(page: Page) -> list[int]:
    return [
        int(s)
        for s in page.locator("#message-list .message").evaluate_all(
            "els => els.map(e => e.dataset.seq)"
        )
    ]


def test_two_workers_stay_live_across_sql_inserts_and_a_postgres_restart(
    workers: tuple[LiveServer, LiveServer, str], cluster: PgCluster, browser: Browser
) -> None:
    worker_a, worker_b, url = workers
    alice = signed_in_page(browser, worker_a.url, "alice@demo.arbibase.test")
    olivia = signed_in_page(browser, worker_b.url, "olivia@demo.arbibase.test")
    open_thread(alice, THREAD)
    open_thread(olivia, THREAD)
    tag = uuid.uuid4().hex[:6]

    # Worker A → worker B and back.
    send(alice, f"offer via worker A {tag}")
    expect(bubble(olivia, f"offer via worker A {tag}")).to_have_count(1)
    send(olivia, f"answer via worker B {tag}")
    expect(bubble(alice, f"answer via worker B {tag}")).to_have_count(1)

    # Typing on B shows on A (Redis bus), and goes away when the message is sent.
    olivia.locator("#composer").press_sequentially("count", delay=30)
    expect(alice.locator("#typing-indicator")).to_be_visible()

    # A row written by another client, with plain SQL, appears live on both workers.
    _plain_sql_message(url, f"written with SQL {tag}")
    expect(bubble(alice, f"written with SQL {tag}")).to_have_count(1)
    expect(bubble(olivia, f"written with SQL {tag}")).to_have_count(1)

    # Postgres restarts mid-conversation: every connection (the listeners too) is cut.
    cluster.restart()
    _plain_sql_message(url, f"right after the restart {tag}")
    send(alice, f"after the restart via A {tag}")
    expect(bubble(alice, f"after the restart via A {tag}")).to_have_attribute(
        "data-status", "sent", timeout=30_000
    )
    for page in (alice, olivia):
        for text in (
            f"offer via worker A {tag}",
            f"answer via worker B {tag}",
            f"written with SQL {tag}",
            f"right after the restart {tag}",
            f"after the restart via A {tag}",
        ):
            expect(bubble(page, text)).to_have_count(1, timeout=30_000)
        seqs = _seqs(page)
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)), seqs
    # And still live afterwards, both ways.
    send(olivia, f"all good {tag}")
    expect(bubble(alice, f"all good {tag}")).to_have_count(1)
    alice.context.close()
    olivia.context.close()


def _gunicorn_workers(server: LiveServer) -> list[psutil.Process]:
    """The server's worker processes: the children of gunicorn's arbiter."""
    assert server.proc is not None
    arbiters = [
        p
        for p in psutil.Process(server.proc.pid).children(recursive=True)
        if "gunicorn" in " ".join(p.cmdline()) and p.children()
    ]
    assert len(arbiters) == 1, arbiters
    return [p for p in arbiters[0].children() if p.status() != psutil.STATUS_ZOMBIE]


def _respawned(server: LiveServer, gone: int, timeout: float = 60.0) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(psutil.Error):
            procs = _gunicorn_workers(server)
            if len(procs) == 2 and gone not in {p.pid for p in procs}:
                return procs
        time.sleep(0.2)
    raise AssertionError(f"worker {gone} was not replaced within {timeout:.0f} s")


@pytest.fixture
def two_worker_server(tmp_path: Path, artifacts_dir: Path) -> Iterator[LiveServer]:
    """One server with gunicorn's two workers (WEB_CONCURRENCY=2), Redis and SQLite."""
    url = f"sqlite:///{tmp_path / 'two.db'}"
    migrations.upgrade(url)
    seed_demo(dbmod.get_engine(url))
    dbmod.dispose_engine(url)
    extra = {
        "REDIS_URL": REDIS_URL,
        "REALTIME_CHANNEL": f"arbibase-e2e:{uuid.uuid4().hex}",
        "WEB_CONCURRENCY": "2",
    }
    server = LiveServer(
        env=server_env(url, tmp_path / "srv", tmp_path / "web", extra),
        log_path=artifacts_dir / "e2e-two-workers.log",
    )
    try:
        server.start()
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.mark.redis
def test_a_killed_worker_is_replaced_and_its_tabs_carry_on(
    two_worker_server: LiveServer, browser: Browser
) -> None:
    """kill -9 of each original worker in turn: gunicorn's arbiter starts a new one, every tab
    that was on the dead worker reconnects (the port never stops answering) and catches up,
    and nothing is lost or shown twice."""
    server = two_worker_server
    originals = _gunicorn_workers(server)
    assert len(originals) == 2
    alice = signed_in_page(browser, server.url, "alice@demo.arbibase.test")
    olivia = signed_in_page(browser, server.url, "olivia@demo.arbibase.test")
    open_thread(alice, THREAD)
    open_thread(olivia, THREAD)
    tag = uuid.uuid4().hex[:6]
    sent: list[str] = []
    for round_, victim in enumerate(originals):
        os.kill(victim.pid, signal.SIGKILL)
        _respawned(server, victim.pid)
        # Both directions, whichever worker each tab is on now.
        for who, page in (("alice", alice), ("olivia", olivia)):
            text = f"after kill {round_} from {who} {tag}"
            send(page, text)
            sent.append(text)
            expect(bubble(page, text)).to_have_attribute(
                "data-status", "sent", timeout=AFTER_KILL_MS
            )
    # Every original worker is gone: each tab has reconnected at least once.
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in originals)
    for page in (alice, olivia):
        expect(page.locator("#offline-banner")).to_be_hidden(timeout=30_000)
        for text in sent:
            expect(bubble(page, text)).to_have_count(1, timeout=30_000)
        seqs = _seqs(page)
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)), seqs
    alice.context.close()
    olivia.context.close()
