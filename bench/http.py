"""HTTP send benchmark: `POST /api/messages/{threadId}` against a real `reflex run --env prod`.

    .venv/bin/python -m bench.http [--backend sqlite|postgres|both] [--clients 1 10 50]
        [--seconds 8] [--workers 1] [--raw-inserts 2000] [--quick]

For each backend: a fresh database (a temp SQLite file / a new Postgres database), `alembic
upgrade head`, one verified owner with one property, and one operator per client, each with
their own thread (built through the services, with a cheap password hash: logins are not what
is measured). Access tokens are minted with the JWT_SECRET the server gets. Then the real
server (tests/e2e/server.py's LiveServer, its own process group, prod mode, one port) and,
for each concurrency level, that many clients in one asyncio process (keep-alive, one
connection each; a minimal HTTP/1.1 client, or httpx with --client httpx) sending messages back to back for --seconds (closed loop) after a warm-up.

Reported per level: sends/s (2xx only), p50/p95/p99 latency, errors, the server's CPU use.
The per-user send limit stays ON (it is in the path) but with limits the run never reaches.
With --workers N > 1 the server runs N gunicorn/uvicorn workers with Redis (REDIS_URL), as production
does, so the limiter is the Redis one.

Then, on the same database in the same run: the raw single-row insert rate (one write
transaction per row, the app's engine settings: the ceiling for one writer), and the
`send_message` service called in-process one at a time (what a send costs without HTTP).
Last, the cost of one rate-limit check: in-process bucket, the Redis Lua bucket (one round
trip) and, for comparison, a Redis INCR+EXPIRE fixed window (one pipelined round trip).
The message rows are counted at the end: every 2xx is one stored message.

Everything started is stopped and removed at the end (also on Ctrl-C / SIGTERM).
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and not __package__:
    # Run as a file, bench/ would come first on sys.path and this module would shadow the
    # standard library's `http`: run it as a module instead.
    os.execv(sys.executable, [sys.executable, "-m", "bench.http", *sys.argv[1:]])

import argparse
import asyncio
import contextlib
import gc
import json
import platform
import secrets
import shutil
import signal
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

# The server and this process must agree on the signing secret; set before settings load.
JWT_SECRET = "bench-" + secrets.token_urlsafe(32)
os.environ["JWT_SECRET"] = JWT_SECRET
os.environ.setdefault("SEND_RATE_BURST", "0")  # in-process service calls below: no limit

import httpx  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402
import sqlalchemy  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from argon2.profiles import CHEAPEST  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from arbibase_chat import db as dbmod  # noqa: E402
from arbibase_chat import migrations  # noqa: E402
from arbibase_chat.models import MessagingMessage  # noqa: E402
from arbibase_chat.services import (  # noqa: E402
    accounts,
    messages,
    properties,
    ratelimit,
    threads,
    tokens,
)
from bench.common import (  # noqa: E402
    PG_ADMIN_URL,
    create_pg_database,
    drop_pg_database,
    pct,
    raw_insert_samples,
)
from bench.common import machine_facts as common_facts  # noqa: E402
from tests.e2e.server import LiveServer, server_env  # noqa: E402

REDIS_URL = os.environ.get("ARBIBASE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
BODY = "Could we move the start date to the 1st? The rest of the terms look good to me."
WEB_DIR = Path(
    os.environ.get("ARBIBASE_BENCH_WEB_DIR", Path(tempfile.gettempdir()) / "arbibase-bench-web")
)

_cleanup: list[Callable[[], None]] = []


@dataclass
class Level:
    backend: str
    clients: int
    seconds: float = 0.0
    ok: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # ms
    server_cpu: float = 0.0  # % of one core, averaged over the run
    client_cpu: float = 0.0  # this process
    machine_cpu: float = 0.0  # all cores busy = 100%
    answered_ok: int = 0  # every 2xx, warm-up included

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())) or "0"
        return (
            f"{self.backend:<9} {self.clients:>3} clients  {self.rate:8.0f} sends/s  "
            f"p50 {pct(self.latencies, 0.5):6.2f}  p95 {pct(self.latencies, 0.95):6.2f}  "
            f"p99 {pct(self.latencies, 0.99):6.2f} ms  n={self.ok:<6} errors {errors}  "
            f"CPU server {self.server_cpu:3.0f}% client {self.client_cpu:3.0f}% "
            f"machine {self.machine_cpu:3.0f}%"
        )


# --- databases ------------------------------------------------------------------------------


@contextlib.contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench_http.db'}"
        yield url
        dbmod.dispose_engine(url)
        return
    url = create_pg_database("arbibase_bench_http")

    def drop() -> None:
        drop_pg_database(url)

    _cleanup.append(drop)
    try:
        yield url
    finally:
        _cleanup.remove(drop)
        drop()


@dataclass
class People:
    tokens: list[str]
    threads: list[uuid.UUID]
    operator_ids: list[uuid.UUID]


def build_people(engine: Engine, n: int) -> People:
    production = accounts._hasher
    accounts._hasher = PasswordHasher.from_parameters(CHEAPEST)
    try:
        tag = uuid.uuid4().hex[:6]
        owner = accounts.sign_up(
            email=f"owner-{tag}@bench.example",
            password="bench password 1",
            display_name="Bench Owner",
            role="owner",
            verified=True,
            db=engine,
        )
        prop = properties.create_property(
            user_id=owner.id,
            data={"title": "Bench Loft", "address": "1 Bench St", "city": "Austin"},
            db=engine,
        )
        people = People(tokens=[], threads=[], operator_ids=[])
        for i in range(n):
            op = accounts.sign_up(
                email=f"op{i}-{tag}@bench.example",
                password="bench password 1",
                display_name=f"Operator {i}",
                role="operator",
                db=engine,
            )
            tid = threads.get_or_create_thread(
                user_id=op.id, property_id=prop.id, owner_id=owner.id, db=engine
            ).id
            people.tokens.append(tokens.issue_access_token(user_id=op.id, ttl_seconds=3600))
            people.threads.append(tid)
            people.operator_ids.append(op.id)
        return people
    finally:
        accounts._hasher = production


def count_messages(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(MessagingMessage)) or 0)


# --- the server -----------------------------------------------------------------------------


def start_server(url: str, workdir: Path, workers: int, log: Path) -> LiveServer:
    extra = {
        # The limiter stays in the path, with limits no client reaches.
        "SEND_RATE_BURST": "1000000000",
        "SEND_RATE_PER_SECOND": "1000000000",
        "RATE_LIMIT_KEY_PREFIX": f"arbibase-bench:{uuid.uuid4().hex}:",
        "JWT_SECRET": JWT_SECRET,
    }
    if workers > 1:
        extra |= {"REDIS_URL": REDIS_URL, "WEB_CONCURRENCY": str(workers)}
    env = server_env(url, workdir, WEB_DIR, extra)
    server = LiveServer(env=env, log_path=log)
    with _keep_lockfile_format():
        server.start()
        _cleanup.append(server.stop)
        try:
            server.wait_ready(timeout=300)
        except BaseException:
            server.stop()
            raise
    return server


@contextlib.contextmanager
def _keep_lockfile_format() -> Iterator[None]:
    """Reflex copies its web dir's package.json over reflex.lock/package.json at start; in a
    web dir it created itself that file has the same content on one line. Put the committed
    file back (and into the web dir, so later starts copy the same bytes)."""
    path = PROJECT_ROOT / "reflex.lock" / "package.json"
    before = path.read_bytes() if path.exists() else None
    try:
        yield
    finally:
        if before is not None:
            for target in (path, WEB_DIR / "package.json"):
                with contextlib.suppress(OSError, ValueError):
                    after = target.read_bytes()
                    if after != before and json.loads(after) == json.loads(before):
                        target.write_bytes(before)


def server_processes(server: LiveServer) -> list[psutil.Process]:
    assert server.proc is not None
    root = psutil.Process(server.proc.pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


# --- load -----------------------------------------------------------------------------------


class Connection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams (the default client here).

    httpx costs about a millisecond of client CPU per request; on a 2-core machine shared
    with the server that would measure the client. This one writes a request and reads a
    Content-Length response, nothing else.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, token: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            await self.close()
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def run_level(
    base: str,
    people: People,
    clients: int,
    seconds: float,
    warmup: float,
    level: Level,
    use_httpx: bool = False,
) -> None:
    body = json.dumps({"text": BODY}).encode()
    host, port = base.split("://", 1)[1].rsplit(":", 1)
    connections = [Connection(host, int(port)) for _ in range(clients)]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    client = httpx.AsyncClient(base_url=base, limits=limits, timeout=60)
    stop_at = 0.0
    measuring = False

    async def send(i: int) -> int:
        path = f"/api/messages/{people.threads[i]}"
        if use_httpx:
            res = await client.post(
                path,
                content=body,
                headers={
                    "Authorization": f"Bearer {people.tokens[i]}",
                    "Content-Type": "application/json",
                },
            )
            return res.status_code
        return await connections[i].post(path, people.tokens[i], body)

    async def one(i: int) -> None:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            status = await send(i)
            elapsed = (time.perf_counter() - t0) * 1000
            if 200 <= status < 300:
                level.answered_ok += 1  # warm-up included: each is one stored message
            if not measuring:
                continue
            if 200 <= status < 300:
                level.ok += 1
                level.latencies.append(elapsed)
            else:
                level.errors[status] = level.errors.get(status, 0) + 1

    try:
        stop_at = time.perf_counter() + warmup
        await asyncio.gather(*(one(i) for i in range(clients)))
        measuring = True
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(one(i) for i in range(clients)))
        level.seconds = time.perf_counter() - started
    finally:
        await client.aclose()
        for conn in connections:
            await conn.close()


# --- baselines ------------------------------------------------------------------------------


def raw_inserts(engine: Engine, n: int) -> tuple[float, list[float]]:
    """N single-row inserts, one write transaction each, the app's engine settings."""
    return raw_insert_samples(engine, n, table="bench_http_raw_insert")


def service_sends(engine: Engine, people: People, n: int) -> tuple[float, list[float]]:
    """send_message in this process, one at a time (no HTTP, no limiter)."""
    samples: list[float] = []
    with ratelimit.use(ratelimit.Unlimited()):
        for _ in range(20):
            messages.send_message(
                user_id=people.operator_ids[0], thread_id=people.threads[0], body=BODY, db=engine
            )
        gc.collect()
        t_all = time.perf_counter()
        for i in range(n):
            k = i % len(people.threads)
            t0 = time.perf_counter_ns()
            messages.send_message(
                user_id=people.operator_ids[k], thread_id=people.threads[k], body=BODY, db=engine
            )
            samples.append((time.perf_counter_ns() - t0) / 1e6)
        rate = n / (time.perf_counter() - t_all)
    return rate, samples


def limiter_costs(n: int) -> list[str]:
    lines = []

    def timed(name: str, fn: Callable[[int], Any]) -> None:
        for i in range(100):
            fn(i)
        samples = []
        t_all = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter_ns()
            fn(i)
            samples.append((time.perf_counter_ns() - t0) / 1e3)
        rate = n / (time.perf_counter() - t_all)
        lines.append(
            f"  {name:<44} p50 {pct(samples, 0.5):7.1f}  p99 {pct(samples, 0.99):7.1f} us"
            f"  {rate:10,.0f} checks/s"
        )

    local = ratelimit.LocalBuckets(burst=20, per_second=5.0)
    timed("in-process token bucket", lambda i: local.hit(f"send:{i % 1000}"))
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        client.ping()
    except redis.RedisError as exc:
        lines.append(f"  Redis unavailable: {exc}")
        return lines
    prefix = f"arbibase-bench:{uuid.uuid4().hex}:"
    try:
        lua = ratelimit.RedisBuckets(client, burst=20, per_second=5.0, prefix=prefix)
        timed("Redis token bucket (Lua, 1 round trip)", lambda i: lua.hit(f"send:{i % 1000}"))

        def window(i: int) -> bool:
            key = f"{prefix}win:{i % 1000}:{int(time.time())}"
            pipe = client.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, 2)
            count, _ = pipe.execute()
            return int(count) <= 20

        timed("Redis INCR+EXPIRE window (MULTI, 1 round trip)", window)
    finally:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        client.close()
    return lines


# --- report ---------------------------------------------------------------------------------


def machine_facts(backends: list[str], workers: int) -> list[str]:
    facts = [
        *common_facts(),
        f"python    {platform.python_version()}  SQLAlchemy {sqlalchemy.__version__}  "
        f"psycopg {psycopg.__version__}  httpx {httpx.__version__}",
        f"sqlite    {sqlite3.sqlite_version}",
        f"server    reflex run --env prod, gunicorn + uvicorn, {workers} worker(s)"
        + (" + Redis" if workers > 1 else " (no Redis)")
        + "; client and server share the machine",
    ]
    if "postgres" in backends:
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(PG_ADMIN_URL, connect_timeout=5) as conn,
        ):
            row = conn.execute("SHOW server_version").fetchone()
            sync = conn.execute("SHOW synchronous_commit").fetchone()
            facts.append(
                f"postgres  {row[0] if row else '?'}  synchronous_commit={sync[0] if sync else '?'}"
            )
    return facts


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.http", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--client", choices=["raw", "httpx"], default="raw", help="load client (default: raw)"
    )
    parser.add_argument("--raw-inserts", type=int, default=2000)
    parser.add_argument("--service-sends", type=int, default=1000)
    parser.add_argument("--limiter-checks", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="short run (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup, args.raw_inserts, args.service_sends = 2.0, 0.5, 200, 100
        args.limiter_checks = 500
    signal.signal(signal.SIGTERM, _interrupt)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    out = print
    for fact in machine_facts(backends, args.workers):
        out(fact)
    tmp = Path(tempfile.mkdtemp(prefix="arbibase-bench-http-"))
    levels: list[Level] = []
    baselines: list[str] = []
    lockfile = _keep_lockfile_format()
    lockfile.__enter__()
    _cleanup.insert(0, lambda: lockfile.__exit__(None, None, None))
    try:
        for backend in backends:
            with database(backend, tmp) as url:
                migrations.upgrade(url)
                engine = dbmod.get_engine(url)
                people = build_people(engine, max(args.clients))
                before = count_messages(engine)
                out(f"\n[{backend}] starting the server ({args.workers} worker(s))...")
                server = start_server(
                    url, tmp / f"server-{backend}", args.workers, tmp / f"{backend}.log"
                )
                procs = server_processes(server)
                out(
                    f"[{backend}] ready after {server.ready_after:.1f}s on {server.url} "
                    f"({len(procs)} server processes)"
                )
                try:
                    for clients in args.clients:
                        level = Level(backend=backend, clients=clients)
                        cpu0, own0 = cpu_seconds(procs), time.process_time()
                        psutil.cpu_percent(None)
                        t0 = time.perf_counter()
                        asyncio.run(
                            run_level(
                                server.url,
                                people,
                                clients,
                                args.seconds,
                                args.warmup,
                                level,
                                use_httpx=args.client == "httpx",
                            )
                        )
                        wall = time.perf_counter() - t0
                        level.server_cpu = 100 * (cpu_seconds(procs) - cpu0) / wall
                        level.client_cpu = 100 * (time.process_time() - own0) / wall
                        level.machine_cpu = psutil.cpu_percent(None)
                        levels.append(level)
                        out(level.line())
                finally:
                    server.stop()
                    _cleanup.remove(server.stop)
                stored = count_messages(engine) - before
                answered = sum(lv.answered_ok for lv in levels if lv.backend == backend)
                verdict = "ok" if stored == answered else "MISMATCH"
                out(f"[{backend}] messages stored {stored}, 2xx answers {answered}: {verdict}")
                rate, samples = raw_inserts(engine, args.raw_inserts)
                baselines.append(
                    f"{backend:<9} raw 1-row insert txn (baseline)   {rate:8,.0f} rows/s   "
                    f"p50 {pct(samples, 0.5):6.2f}  p99 {pct(samples, 0.99):6.2f} ms"
                )
                rate, samples = service_sends(engine, people, args.service_sends)
                baselines.append(
                    f"{backend:<9} send_message in-process, serial {rate:8,.0f} sends/s  "
                    f"p50 {pct(samples, 0.5):6.2f}  p99 {pct(samples, 0.99):6.2f} ms"
                )
                out(baselines[-2])
                out(baselines[-1])
        out("\nrate-limit check cost (sequential, this process)")
        for line in limiter_costs(args.limiter_checks):
            out(line)
        out("\nsummary")
        for level in levels:
            out(level.line())
        for line in baselines:
            out(line)
    except KeyboardInterrupt:
        out("interrupted")
        return 130
    finally:
        for undo in reversed(_cleanup):
            with contextlib.suppress(Exception):
                undo()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
