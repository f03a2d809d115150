"""Fault suite: simulated browser tabs on two app servers while something breaks.

    .venv/bin/python -m bench.faults [--scenario kill redis postgres storm soak] [--tabs N]
        [--rate MSG_PER_S] [--quick]

Every scenario starts its own world and removes it at the end (also on Ctrl-C / SIGTERM or
when its hard timeout expires): a fresh database (SQLite file, or a fresh database on a
PRIVATE PostgreSQL cluster from tests/pgcluster.py), a PRIVATE redis-server on a free port
(the machine's shared Redis and Postgres are never touched), and two app servers
(`reflex run --env prod`, one gunicorn/uvicorn worker each, Reflex state and the realtime bus in that
Redis), as a load balancer in front of two workers would see them. N tabs of operator-owner
pairs (bench/realtime.py's `Tab`: Reflex's own socket protocol) are spread over both servers,
so every message crosses between them; a pair's two tabs are on different servers.

A tab behaves like the compiled frontend (reflex_base/.templates/web/utils/state.js): when
its socket drops it reconnects with the same token after 200 ms x attempts (at most 2 s),
to its own server first and to the other one on the next attempt (a load balancer's
failover), and re-hydrates in full (no initial-state hashes). Sends typed while it is
offline wait in its queue and go out once it is back. A message shown as "failed" is
retried with `ChatState.retry(client_msg_id)` (the bubble's retry button), which reuses the
client_msg_id: the database must still hold it once.

Scenarios (each: load at --rate msg/s in total from random tabs, the fault, more load, then
a drain; everything counted against the database at the end):
- kill: `kill -9` server A's worker with every tab connected; its tabs fail over to B.
  Also reports what the server's own supervisor does when one of ITS two workers dies
  (`reflex run` with WEB_CONCURRENCY=2): see `supervisor_check`.
- redis: the private Redis is shut down (SHUTDOWN SAVE), stays down --outage s, comes back.
- postgres: the private cluster is stopped (-m fast), stays down --outage s, comes back.
- storm: every tab's socket is cut at once (no goodbye), messages are stored meanwhile, then
  all N reconnect at the same moment; all must be caught up within 30 s.
- soak: --soak-seconds (600) at --rate; worker RSS every 30 s and latency per minute.

Counts (per scenario):
- sent: messages the tabs typed (each body `rt s=<tab> n=<k> t=<time>`);
- stored: rows in the database; stored twice: the same (tab, k) in two rows;
- acknowledged: the sender's own tab showed it "sent";
- lost: stored, but never shown in the partner's tab, even after every reconnect, catch-up
  and the final drain;
- failed: typed but never stored (refused, or swallowed by the fault); of these, how many the
  sender's tab showed as "failed" (retry offered), still "pending" at the end, or nothing;
- duplicated: a partner message shown twice (same message twice, or under two ids), or one's
  own message twice in its own list;
- reconnected: time from the fault until the last dropped tab is hydrated again;
- caught up: time from the fault's end until every tab is connected and has every message
  stored up to then.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.common import env_setting, free_port, loadavg, pct
from bench.realtime import (
    ARTIFACTS,
    BODY_RE,
    NAMESPACE,
    PROJECT_ROOT,
    Names,
    OthersMeter,
    Population,
    Tab,
    Workers,
    db_messages,
    machine_facts,
    out,
    port_open,
    seed,
    state_names,
)

#: Each server builds its own frontend (its port is baked in); git-ignored var/.
WEB_DIRS = [
    PROJECT_ROOT / "var" / "bench-faults-web-a",
    PROJECT_ROOT / "var" / "bench-faults-web-b",
]
SCENARIOS = ("kill", "redis", "postgres", "storm", "soak")
STORM_TARGET_S = 30.0
#: The final drain ends early when no delivery at all happened for this long.
DRAIN_STALL_S = 30.0
GIVE_UP_S = 10.0  # assets/chat.js GIVE_UP_MS: connected this long without its bubble
#: The words of an error toast inside a `_call_function` event (JSON-escaped JavaScript).
TOAST_RE = re.compile(r'\[\\?"error\\?"\]\(\\?"(.*?)\\?"\)')
#: Hard bound per scenario on top of its planned load and drain.
SETUP_BUDGET_S = 600.0


# --- the tab, able to lose its socket and come back ------------------------------------------


class FaultTab(Tab):
    """A `Tab` that reconnects like the browser, queues what is typed while offline, retries
    what its own list shows as failed, and — as assets/chat.js does — resends under the same
    client_msg_id a send that never showed a bubble (never answered: emitted into a dying
    worker, refused as busy) once it has been connected GIVE_UP_S without it."""

    def __init__(self, idx: int, *, urls: list[str], **kw: Any) -> None:
        super().__init__(idx, base_url=urls[idx % 2], **kw)
        self.urls = urls
        self.home = idx % 2
        self.http = kw["http"]
        self.online = False
        self.closing = False
        self.hold = False  # storm: stay offline until told to come back
        self.reconnects = 0
        self.dropped_at: float | None = None
        self.back_at: float | None = None  # hydrated again after the last drop
        self.queue: list[tuple[int, str]] = []
        self.failed_seen: dict[str, int] = {}  # client_msg_id -> my n, shown "failed"
        self.pending_now: dict[int, str] = {}  # my n -> client_msg_id, "pending" in the last list
        self.failed_now: set[int] = set()
        self.retries: collections.Counter[str] = collections.Counter()
        self.send_ids: dict[int, str] = {}  # my n -> the client_msg_id chat.js would give it
        self.bodies: dict[int, str] = {}
        self.emitted_at: dict[int, float] = {}  # my n -> last emit (first or resend)
        self.shown: set[int] = set()  # my n that showed a bubble (pending, sent or failed)
        self.resends: collections.Counter[int] = collections.Counter()
        # A person clicks Retry some time after "Not sent" shows, not on the same tick as
        # everyone else: with every tab back at the same instant, resends on the tick came
        # in bursts every 10 s, and each worker admitted its bound of each burst and refused
        # the rest (FAULTS.md finding 6).
        self.retry_after: dict[int, float] = {}
        self.own_dups = 0
        self.connect_errors: collections.Counter[str] = collections.Counter()
        self.redirects = 0
        self._reconnecting: asyncio.Task[None] | None = None
        self._wire(self.sio)

    def _wire(self, sio: Any) -> None:
        def lost(*_reason: Any) -> None:
            if sio is self.sio:  # a replaced client's late goodbye is not news
                self._on_disconnect()

        sio.on("disconnect", lost, namespace=NAMESPACE)

    def _auth(self) -> dict[str, Any]:
        auth = super()._auth()
        if self.reconnects:  # a reconnect re-hydrates in full: no initial-state hashes
            auth["event"]["payload"].pop("hashes", None)
        return auth

    async def connect(self, timeout: float = 60.0) -> None:
        await super().connect(timeout)
        self.online = True

    def _on_disconnect(self) -> None:
        self.online = False
        if self.dropped_at is None:
            self.dropped_at = time.time()
        if self.closing or self.hold:
            return
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.get_running_loop().create_task(self.come_back())

    async def drop(self) -> None:
        """Cut the socket without a goodbye (a network blip): the server sees it vanish."""
        self.hold = True
        self.online = False
        self.dropped_at = time.time()
        with contextlib.suppress(Exception):
            await self.sio.eio.disconnect(abort=True)

    async def come_back(self, deadline_s: float = 120.0) -> None:
        """Reconnect as the browser does: same token, 200 ms x attempts backoff (max 2 s),
        home server first, then alternate (a load balancer's failover)."""
        import socketio  # type: ignore[import-untyped]

        attempt = 0
        stop = time.monotonic() + deadline_s
        while not self.closing and time.monotonic() < stop:
            old = self.sio
            self.sio = socketio.AsyncClient(
                reconnection=False, handle_sigint=False, http_session=self.http, request_timeout=30
            )
            self.hold = False
            with contextlib.suppress(Exception):
                await old.disconnect()
            self.sio.on("event", self._on_event, namespace=NAMESPACE)
            self._wire(self.sio)
            self.hydrated = asyncio.Event()
            self.base_url = self.urls[(self.home + attempt) % len(self.urls)]
            self.reconnects += 1
            try:
                await Tab.connect(self, timeout=30)
            except Exception as exc:
                self.connect_errors[type(exc).__name__ + ": " + str(exc)[:80]] += 1
                attempt += 1
                await asyncio.sleep(0.2 * min(attempt, 10))
                continue
            self.online = True
            self.back_at = time.time()
            await self.flush()
            return

    async def flush(self) -> None:
        while self.queue and self.online:
            n, body = self.queue.pop(0)
            try:
                await self._emit_send(n, body)
            except Exception:
                self.queue.insert(0, (n, body))
                return
        await self.retry_failed()

    async def type_message(self) -> None:
        """The user types one message: out now when online, else queued for later."""
        self.sent_count += 1
        n = self.sent_count
        now = time.time()
        self.stats.sent[n] = now
        body = f"rt s={self.idx} n={n} t={now:.6f} can we confirm the lease terms?"
        if not self.online or self.queue:
            self.queue.append((n, body))
            return
        try:
            await self._emit_send(n, body)
        except Exception:
            self.queue.append((n, body))

    async def _emit_send(self, n: int, body: str) -> None:
        cmid = self.send_ids.setdefault(n, uuid.uuid4().hex)
        self.bodies[n] = body
        await self.sio.emit(
            "event",
            {
                "name": self.names.send,
                "payload": {"form_data": {"body": body, "client_msg_id": cmid}},
                "router_data": self.router_data(),
            },
            namespace=NAMESPACE,
        )
        self.emitted_at[n] = time.time()

    def unanswered(self) -> list[int]:
        """Sent, but no bubble of it ever showed."""
        return [n for n in self.emitted_at if n not in self.shown]

    async def resend_unanswered(self, max_tries: int = 3) -> None:
        """chat.js's "Not sent · Retry", clicked: the same id again (stored once at most)."""
        now = time.time()
        for n in self.unanswered():
            since = max(self.emitted_at[n], self.back_at or 0.0)
            wait = GIVE_UP_S + self.retry_after.setdefault(n, random.uniform(0, GIVE_UP_S))
            if not self.online or now - since < wait or self.resends[n] >= max_tries:
                continue
            self.resends[n] += 1
            self.retry_after.pop(n, None)  # the next try draws its own delay
            with contextlib.suppress(Exception):
                await self._emit_send(n, self.bodies[n])

    async def retry_failed(self, max_tries: int = 3) -> None:
        for cmid in [c for c, n in self.failed_seen.items() if n in self.failed_now]:
            if not self.online or self.retries[cmid] >= max_tries:
                continue
            self.retries[cmid] += 1
            with contextlib.suppress(Exception):
                await self.sio.emit(
                    "event",
                    {
                        "name": f"{self.names.chat}.retry",
                        "payload": {"client_msg_id": cmid},
                        "router_data": self.router_data(),
                    },
                    namespace=NAMESPACE,
                )

    async def close(self) -> None:
        self.closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        await super().close()

    def _on_event(self, update: Any) -> None:
        if isinstance(update, dict):
            for ev in update.get("events") or ():
                if isinstance(ev, dict) and ev.get("name") == "_redirect":
                    self.redirects += 1
        super()._on_event(update)

    def _items(self, items: list[dict[str, Any]], now: float) -> None:
        super()._items(items, now)
        mine: collections.Counter[int] = collections.Counter()
        pending: dict[int, str] = {}
        failed: set[int] = set()
        for item in items:
            if not item.get("mine"):
                continue
            text = "".join(s.get("text", "") for s in item.get("segments") or ())
            m = BODY_RE.match(text)
            if m is None or int(m.group(1)) != self.idx:
                continue
            n, status = int(m.group(2)), item.get("status")
            self.shown.add(n)
            if status == "sent":
                mine[n] += 1
            elif status == "failed":
                failed.add(n)
                self.failed_seen[str(item.get("client_msg_id"))] = n
            elif status == "pending":
                pending[n] = str(item.get("client_msg_id"))
        self.own_dups = max(self.own_dups, sum(c - 1 for c in mine.values() if c > 1))
        self.pending_now, self.failed_now = pending, failed


# --- private services ----------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of our own on a free port (the machine's Redis on 6379 stays untouched)."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.dir = root / "redis"
        self.dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server not found")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--save", "", "--appendonly", "no", "--protected-mode", "no"],
            stdin=subprocess.DEVNULL,
            stdout=(self.dir / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private redis-server did not start on {self.port}")
            time.sleep(0.05)

    def shutdown(self, save: bool = True) -> None:
        """SHUTDOWN SAVE (a restart keeps Reflex's states) or NOSAVE (a crash loses them)."""
        # A raw command: redis-py retries the closed connection for seconds after SHUTDOWN.
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), 5) as c,
        ):
            c.sendall(b"SHUTDOWN SAVE\r\n" if save else b"SHUTDOWN NOSAVE\r\n")
            c.settimeout(5)
            c.recv(64)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


# --- one scenario's world ------------------------------------------------------------------------


@dataclass
class Result:
    scenario: str
    tabs: int
    database: str
    rate: float
    started: str = ""
    load_before: str = ""
    load_after: str = ""
    connect_s: float = 0.0
    fault_s: float = 0.0  # how long the fault itself took (outage)
    sent: int = 0
    stored: int = 0
    stored_twice: int = 0
    acknowledged: int = 0
    delivered: int = 0
    lost: int = 0
    lost_holes: int = 0  # of `lost`: the recipient got a LATER message of the same sender
    drained: bool = False
    drain_s: float = 0.0
    lost_examples: list[str] = field(default_factory=list)
    failed: int = 0
    failed_shown: int = 0
    failed_pending: int = 0
    failed_silent: int = 0
    resent: int = 0  # unanswered sends sent again under their id (chat.js's Retry)
    busy: int = 0  # sends refused at the socket as busy (arbibase_chat/admission.py)
    retried: int = 0
    queued_left: int = 0
    duplicated: int = 0
    own_duplicated: int = 0
    dropped_tabs: int = 0
    reconnected_s: float | None = None
    never_back: int = 0
    caught_up_s: float | None = None
    redirects: int = 0
    errors: list[str] = field(default_factory=list)
    error_kinds: collections.Counter[str] = field(default_factory=collections.Counter)
    latency_before: list[float] = field(default_factory=list)
    latency_after: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rss: list[tuple[float, list[float]]] = field(default_factory=list)  # (t, MiB per worker)
    per_minute: list[tuple[int, int, float, float]] = field(default_factory=list)
    others: float = 0.0


class World:
    """Database, private Redis (and Postgres), two servers; stopped in `close()` whatever
    happened (this runs outside the event loop, also after Ctrl-C)."""

    def __init__(self, args: argparse.Namespace, scenario: str, secret: str) -> None:
        self.args = args
        self.scenario = scenario
        self.secret = secret
        self.tmp = Path(tempfile.mkdtemp(prefix=f"arbibase-faults-{scenario}-"))
        self.database = "postgres" if scenario == "postgres" else args.database
        self.cluster: Any = None
        self.redis = PrivateRedis(self.tmp)
        self.servers: list[Any] = []
        self.url = ""
        self.pop: Population | None = None

    def open(self) -> None:
        from tests.e2e.server import LiveServer, server_env

        if self.database == "postgres":
            import psycopg

            from tests.pgcluster import PgCluster

            self.cluster = PgCluster()
            self.cluster.start()
            with psycopg.connect(self.cluster.url(), autocommit=True) as admin:
                admin.execute("create database arbibase")
                # 2 servers x (pool + listener + hub threads) and the bench's own reads.
            self.url = self.cluster.url("arbibase")
        else:
            self.url = f"sqlite:///{self.tmp / 'faults.db'}"
        t0 = time.perf_counter()
        # history 1: an empty thread cannot be opened (group_runs([]) raises; see FAULTS.md).
        self.pop = seed(self.url, self.args.tabs, 1)
        out(f"  seeded {self.args.tabs:,} users / {self.args.tabs // 2:,} threads on "
            f"{self.database}: {time.perf_counter() - t0:.1f} s")  # fmt: skip
        self.redis.start()
        shared = {
            "JWT_SECRET": self.secret,
            "REDIS_URL": self.redis.url,
            "REALTIME_CHANNEL": f"arbibase-faults:{secrets.token_hex(6)}",
            "WEB_CONCURRENCY": "1",
        }
        shared.update(self.args.server_env)
        for i, name in enumerate("ab"):
            workdir = self.tmp / f"server-{name}"
            workdir.mkdir()
            self.servers.append(
                LiveServer(
                    env=server_env(self.url, workdir, WEB_DIRS[i], shared),
                    log_path=ARTIFACTS / f"bench-faults-{self.scenario}-server-{name}.log",
                )
            )
        # One after the other: a build rewrites reflex.lock/, two at once trip over it.
        for server in self.servers:
            server.start()
            ready = server.wait_ready(timeout=600)
            out(f"  server {server.url} ready in {ready:.1f} s")

    def workers(self) -> list[Workers | None]:
        found: list[Workers | None] = []
        for s in self.servers:
            try:
                found.append(Workers(s.proc.pid) if s.proc is not None else None)
            except (RuntimeError, psutil.Error):
                found.append(None)
        return found

    def close(self) -> None:
        # Ctrl-C / SIGTERM wait until everything is stopped (then they take effect).
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            self._close()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def _close(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()
        self.redis.stop()
        if self.database == "sqlite":
            from arbibase_chat import db as dbmod

            dbmod.dispose_engine(self.url)
        if self.cluster is not None:
            from arbibase_chat import db as dbmod

            dbmod.dispose_engine(self.url)
            self.cluster.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- load, watching, judging ---------------------------------------------------------------------


class Load:
    """Open-loop typing at `rate` msg/s in total, one random tab at a time."""

    def __init__(self, tabs: list[FaultTab], rate: float, seed_: int) -> None:
        self.tabs = tabs
        self.rate = rate
        self.rng = random.Random(seed_)
        self.stopped = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        if self.rate <= 0:
            return
        period = 1.0 / self.rate
        due = time.monotonic()
        while not self.stopped.is_set():
            tab = self.rng.choice(self.tabs)
            asyncio.get_running_loop().create_task(tab.type_message())
            due += period
            delay = due - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopped.wait(), delay)

    async def stop(self) -> None:
        self.stopped.set()
        if self.task is not None:
            await self.task


def stored_map(url: str, pop: Population) -> tuple[dict[tuple[int, int], float], int]:
    """(tab, k) -> created_at (epoch s) of every bench message; and how many were stored twice."""
    hex_to_idx = {u.hex: i for i, u in enumerate(pop.user_ids)}
    stored: dict[tuple[int, int], float] = {}
    twice = 0
    for sender_hex, body, created in db_messages(url):
        m = BODY_RE.match(body)
        if m is None:
            continue
        key = (int(m.group(1)), int(m.group(2)))
        if hex_to_idx.get(sender_hex.replace("-", "")) != key[0]:
            continue
        twice += key in stored
        stored[key] = created.timestamp()
    return stored, twice


async def read_stored(url: str, pop: Population) -> tuple[dict[tuple[int, int], float], int] | None:
    try:
        return await asyncio.to_thread(stored_map, url, pop)
    except Exception:  # the database is down (the postgres scenario): try again later
        return None


async def watch_catch_up(
    tabs: list[FaultTab], url: str, pop: Population, since: float, limit_s: float
) -> float | None:
    """Seconds from `since` until every tab is online and has every partner message stored
    up to `since`; None if that did not happen within `limit_s`."""
    stop = time.time() + limit_s
    while time.time() < stop:
        if all(t.online and t.hydrated.is_set() for t in tabs):
            found = await read_stored(url, pop)
            if found is not None:
                stored, _ = found
                missing = sum(
                    1
                    for (s, k), when in stored.items()
                    if when <= since and k not in tabs[s ^ 1].stats.got
                )
                if missing == 0:
                    return time.time() - since
        await asyncio.sleep(0.25)
    return None


def latencies(tabs: list[FaultTab], t0: float, t1: float) -> list[float]:
    """Partner latencies (ms) of messages that arrived in [t0, t1)."""
    return [
        t.stats.latency_of[k] for t in tabs for k, when in t.stats.got.items() if t0 <= when < t1
    ]


async def drain(tabs: list[FaultTab], url: str, pop: Population, limit_s: float) -> bool:
    """Until every stored message is in its partner's tab and nothing typed is still queued
    or pending (failed bubbles are retried meanwhile). A backlog still moving is waited for,
    up to `limit_s`; no delivery at all for DRAIN_STALL_S ends it early (what is missing
    then is not on its way). True when everything arrived."""
    t0 = time.time()
    last_retry = last_progress = 0.0
    best = None
    done = False
    while time.time() - t0 < limit_s:
        if time.time() - last_retry > 3:
            last_retry = time.time()
            for t in tabs:
                if t.online:
                    await t.retry_failed()
                    await t.resend_unanswered()
        found = await read_stored(url, pop)
        if found is not None:
            stored, _ = found
            queued = sum(len(t.queue) for t in tabs)
            unseen = sum(1 for (s, k) in stored if k not in tabs[s ^ 1].stats.got)
            pending = sum(len(t.pending_now) for t in tabs)
            unanswered = sum(len(t.unanswered()) for t in tabs)
            if queued == 0 and unseen == 0 and pending == 0 and unanswered == 0:
                done = True
                break
            left = queued + unseen + pending + unanswered
            if best is None or left < best:
                best, last_progress = left, time.time()
            elif time.time() - last_progress > DRAIN_STALL_S:
                break
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)  # late duplicates would show here
    return done


def error_kind(event: str) -> str:
    """What the user saw: the toast's words (a backend error, a send that failed), or the
    event's start."""
    if "backend_error" in event:
        return "toast: An error occurred (Reflex backend_error)"
    if m := TOAST_RE.search(event):
        return f"toast: {m.group(1)}"
    return event[:120]


def judge(
    res: Result, tabs: list[FaultTab], stored: dict[tuple[int, int], float], twice: int
) -> None:
    res.stored, res.stored_twice = len(stored), twice
    for t in tabs:
        partner = tabs[t.partner]
        for k in t.stats.sent:
            res.sent += 1
            res.acknowledged += k in t.stats.confirmed
            if (t.idx, k) not in stored:
                res.failed += 1
                if k in t.failed_now:
                    res.failed_shown += 1
                elif k in t.pending_now:
                    res.failed_pending += 1
                else:
                    res.failed_silent += 1
        for s, k in stored:
            if s != partner.idx:
                continue
            if k in t.stats.got:
                res.delivered += 1
            else:
                res.lost += 1
                res.lost_holes += any(j > k for j in t.stats.got)
                if len(res.lost_examples) < 5:
                    res.lost_examples.append(
                        f"tab {s} msg {k} -> tab {t.idx} (online {t.online}, reconnects "
                        f"{t.reconnects}, server {t.base_url})"
                    )
        res.duplicated += t.stats.duplicates
        res.own_duplicated += t.own_dups
        res.retried += sum(t.retries.values())
        res.resent += sum(t.resends.values())
        res.busy += t.stats.refused
        res.queued_left += len(t.queue)
        res.redirects += t.redirects
        for e in t.stats.errors:
            res.error_kinds[error_kind(e)] += 1
        for e, count in t.connect_errors.items():
            res.error_kinds[f"reconnect attempt failed: {e}"] += count
    dropped = [t for t in tabs if t.dropped_at is not None]
    res.dropped_tabs = len(dropped)
    res.never_back = sum(1 for t in tabs if not t.online)


# --- the faults ----------------------------------------------------------------------------------


async def connect_all(tabs: list[FaultTab], concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)

    async def one(tab: FaultTab) -> None:
        async with sem:
            await tab.connect(timeout=120)

    t0 = time.perf_counter()
    got = await asyncio.gather(*(one(t) for t in tabs), return_exceptions=True)
    failed = [r for r in got if isinstance(r, BaseException)]
    if failed:
        raise RuntimeError(f"{len(failed)} tabs failed to connect: {failed[0]!r}")
    return time.perf_counter() - t0


async def verify(tabs: list[FaultTab]) -> None:
    """One message from tab 0 (server A) must reach tab 1 (server B) before anything counts."""
    before = len(tabs[1].stats.got)
    await tabs[0].type_message()
    stop = time.time() + 15
    while time.time() < stop:
        if len(tabs[1].stats.got) > before:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(
        f"verification failed: tab 1 never got tab 0's message {tabs[0].stats.errors}"
    )


async def inject(world: World, tabs: list[FaultTab], res: Result) -> tuple[float, float]:
    """The fault; returns (its start, its end) as epoch seconds."""
    args = world.args
    t0 = time.time()
    if world.scenario == "kill":
        victim = world.workers()[0]
        if victim is None:
            raise RuntimeError("server A has no worker to kill")
        for p in victim.procs:
            os.kill(p.pid, signal.SIGKILL)
        res.notes.append(f"kill -9 of server A's worker pid {victim.pid}")
        await asyncio.sleep(2.0)
        server_a = world.servers[0]
        alive = server_a.proc is not None and server_a.proc.poll() is None
        now = world.workers()[0]
        replaced = now is not None and victim.pid not in {p.pid for p in now.procs}
        res.notes.append(
            "server A's reflex/gunicorn parent "
            + (
                ("still runs, with a new worker" if replaced else "still runs, without a worker")
                if alive
                else "exited after its worker died"
            )
            + f"; /ping on A {'answers' if port_open(server_a.port) else 'refused'}"
        )
        return t0, t0
    if world.scenario == "redis":
        await asyncio.to_thread(world.redis.shutdown, not args.redis_lose_state)
        await asyncio.sleep(args.outage)
        await asyncio.to_thread(world.redis.start)
        return t0, time.time()
    if world.scenario == "postgres":
        cluster = world.cluster
        await asyncio.to_thread(cluster._ctl, "stop", "-m", "fast")
        await asyncio.sleep(args.outage)
        await asyncio.to_thread(cluster._ctl, "start")
        return t0, time.time()
    if world.scenario == "storm":
        await asyncio.gather(*(t.drop() for t in tabs))
        # Meanwhile each pair's operator's messages keep being stored (another device).
        assert world.pop is not None
        await asyncio.to_thread(store_while_away, world, tabs)
        await asyncio.sleep(max(0.0, args.outage - (time.time() - t0)))
        t_back = time.time()
        await asyncio.gather(*(t.come_back() for t in tabs))
        res.notes.append(f"{len(tabs)} reconnects started at once, all returned after "
                         f"{time.time() - t_back:.1f} s")  # fmt: skip
        return t0, t_back
    raise ValueError(world.scenario)


def store_while_away(world: World, tabs: list[FaultTab]) -> None:
    """One message per pair, from the operator, through the services (as another device of
    theirs would): the owners' tabs must show them after the storm."""
    from arbibase_chat import db as dbmod
    from arbibase_chat.services import messages, ratelimit

    assert world.pop is not None
    engine = dbmod.get_engine(world.url)
    with ratelimit.use(ratelimit.Unlimited()):
        for t in tabs[::2]:
            t.sent_count += 1
            k = t.sent_count
            now = time.time()
            t.stats.sent[k] = now
            messages.send_message(
                user_id=world.pop.user_ids[t.idx],
                thread_id=world.pop.thread_of(t.idx),
                body=f"rt s={t.idx} n={k} t={now:.6f} sent from another device meanwhile",
                client_msg_id=uuid.uuid4().hex,
                db=engine,
            )


# --- one scenario --------------------------------------------------------------------------------


async def run_scenario(world: World, res: Result) -> None:
    import aiohttp

    from arbibase_chat.services import tokens

    args = world.args
    assert world.pop is not None
    pop = world.pop
    names: Names = state_names(WEB_DIRS[0])
    urls = [s.url for s in world.servers]
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    tabs: list[FaultTab] = []
    try:
        tabs = [
            FaultTab(
                i,
                urls=urls,
                names=names,
                jwt=tokens.issue_access_token(user_id=pop.user_ids[i], email=pop.emails[i]),
                thread_id=pop.thread_of(i),
                http=http,
            )
            for i in range(args.tabs)
        ]
        await connect_all(tabs[:2], 2)
        await verify(tabs)
        res.connect_s = await connect_all(tabs[2:], args.connect_concurrency)
        out(f"  {args.tabs:,} tabs connected and hydrated in {res.connect_s:.1f} s "
            f"({args.tabs / max(res.connect_s, 1e-9):.0f}/s), half on each server")  # fmt: skip
        await asyncio.sleep(1.0)
        others = OthersMeter()
        others.start()
        load = Load(tabs, args.rate, args.tabs)
        load.start()
        t_start = time.time()
        if world.scenario == "soak":
            await soak(world, tabs, res, t_start)
            await load.stop()
        else:
            await asyncio.sleep(args.before)
            res.latency_before = latencies(tabs, t_start, time.time())
            fault_start, fault_end = await inject(world, tabs, res)
            res.fault_s = fault_end - fault_start
            out(f"  fault injected ({world.scenario}); outage {res.fault_s:.1f} s")
            res.caught_up_s = await watch_catch_up(
                tabs, world.url, pop, fault_end, args.catch_up_limit
            )
            backs = [t.back_at for t in tabs if t.dropped_at is not None and t.back_at is not None]
            if backs:
                res.reconnected_s = max(backs) - fault_start
            out(f"  caught up: {res.caught_up_s if res.caught_up_s is None else round(res.caught_up_s, 1)} s "
                f"after the fault's end; {len(backs)} dropped tabs back")  # fmt: skip
            t_after = time.time()
            await asyncio.sleep(args.after)
            await load.stop()
            res.latency_after = latencies(tabs, t_after, time.time())
        res.load_after = loadavg()
        res.others = others.percent()
        t_drain = time.time()
        res.drained = await drain(tabs, world.url, pop, args.drain)
        res.drain_s = time.time() - t_drain
        out(f"  {'drained' if res.drained else 'NOT drained'} after {res.drain_s:.1f} s")
        found = await read_stored(world.url, pop)
        if found is None:
            raise RuntimeError("the database could not be read at the end")
        judge(res, tabs, *found)
        if world.scenario == "soak":
            per_minute(res, tabs, t_start)
    finally:
        await asyncio.gather(*(t.close() for t in tabs), return_exceptions=True)
        await http.close()


async def soak(world: World, tabs: list[FaultTab], res: Result, t_start: float) -> None:
    """--soak-seconds of load; worker RSS every --rss-every s."""
    stop = t_start + world.args.soak_seconds
    workers = world.workers()
    while True:
        res.rss.append(
            (time.time() - t_start, [w.rss_kb() / 1024 if w else float("nan") for w in workers])
        )
        if time.time() >= stop:
            break
        await asyncio.sleep(min(world.args.rss_every, max(0.0, stop - time.time())))
        out(f"  soak {time.time() - t_start:5.0f} s: RSS "
            f"{' / '.join(f'{v:.0f}' for v in res.rss[-1][1])} MiB, load {loadavg()}")  # fmt: skip


def per_minute(res: Result, tabs: list[FaultTab], t_start: float) -> None:
    buckets: dict[int, list[float]] = collections.defaultdict(list)
    for t in tabs:
        for k, when in t.stats.got.items():
            if when < t_start:
                continue
            buckets[int((when - t_start) // 60)].append(t.stats.latency_of[k])
    for minute in sorted(buckets):
        lat = buckets[minute]
        res.per_minute.append((minute, len(lat), pct(lat, 0.5), pct(lat, 0.99)))


# --- the server's own supervisor ------------------------------------------------------------------


def supervisor_check(args: argparse.Namespace, secret: str) -> str:
    """`reflex run --env prod` with WEB_CONCURRENCY=2 (one server, gunicorn's two workers):
    does the second worker keep serving when the first is killed, and is the first replaced?"""
    from tests.e2e.server import LiveServer, server_env

    tmp = Path(tempfile.mkdtemp(prefix="arbibase-faults-supervisor-"))
    redis = PrivateRedis(tmp)
    server = None
    try:
        redis.start()
        url = f"sqlite:///{tmp / 'g.db'}"
        seed(url, 2, 1)
        env = server_env(url, tmp, WEB_DIRS[0], {
            "JWT_SECRET": secret, "REDIS_URL": redis.url, "WEB_CONCURRENCY": "2",
            "REALTIME_CHANNEL": f"arbibase-faults:{secrets.token_hex(6)}"})  # fmt: skip
        server = LiveServer(env=env, log_path=ARTIFACTS / "bench-faults-supervisor.log")
        server.start()
        server.wait_ready(timeout=600)
        assert server.proc is not None
        procs = Workers(server.proc.pid).procs
        if len(procs) < 2:
            return f"found {len(procs)} worker process(es), expected 2"
        os.kill(procs[0].pid, signal.SIGKILL)
        t_kill = time.monotonic()
        replaced_after = None
        while time.monotonic() - t_kill < 30.0:
            now = {p.pid for p in Workers(server.proc.pid).procs}
            if len(now) >= 2 and procs[0].pid not in now:
                replaced_after = time.monotonic() - t_kill
                break
            time.sleep(0.1)
        other_alive = procs[1].is_running() and procs[1].status() != psutil.STATUS_ZOMBIE
        parent = server.proc.poll()
        pings = port_open(server.port)
        return (
            f"killed worker {procs[0].pid}: the other worker "
            f"{'still runs' if other_alive else 'is gone'}, the killed one "
            + (
                f"was replaced after {replaced_after:.1f} s"
                if replaced_after is not None
                else "was not replaced within 30 s"
            )
            + f", reflex {'still runs' if parent is None else f'exited ({parent})'}, the port "
            f"{'accepts connections' if pings else 'refuses connections'}"
        )
    finally:
        if server is not None:
            server.stop()
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# --- report ---------------------------------------------------------------------------------------


def report(res: Result) -> list[str]:
    lines = [
        f"[{res.scenario}] {res.tabs:,} tabs on 2 servers, {res.database}, {res.rate:g} msg/s "
        f"in total; started {res.started}, load {res.load_before} -> {res.load_after}",
        f"  connect {res.connect_s:.1f} s; fault lasted {res.fault_s:.1f} s",
        f"  sent {res.sent:,}  stored {res.stored:,} (twice: {res.stored_twice})  acknowledged "
        f"{res.acknowledged:,}  delivered {res.delivered:,}  LOST {res.lost} (holes: "
        f"{res.lost_holes})  duplicated {res.duplicated} (own list: {res.own_duplicated})",
        f"  final drain: {'complete' if res.drained else 'INCOMPLETE'} after {res.drain_s:.0f} s"
        + (
            "" if res.drained else " (lost = not delivered when deliveries stopped or at the limit)"
        ),
        f"  failed (never stored) {res.failed}: shown failed {res.failed_shown}, stuck pending "
        f"{res.failed_pending}, no trace {res.failed_silent}; retries sent {res.retried}, "
        f"unanswered sends sent again {res.resent} (refused as busy: {res.busy}); "
        f"still queued {res.queued_left}",
    ]
    if res.scenario != "soak":
        lines.append(
            f"  tabs dropped {res.dropped_tabs:,}, all back after "
            f"{'-' if res.reconnected_s is None else f'{res.reconnected_s:.1f} s'}; caught up "
            f"{'NEVER (limit)' if res.caught_up_s is None else f'{res.caught_up_s:.1f} s'} after "
            f"the fault's end; offline at the end {res.never_back}; redirects {res.redirects}"
        )
        for label, lat in (("before", res.latency_before), ("after", res.latency_after)):
            if lat:
                lines.append(f"  latency {label}: p50 {pct(lat, 0.5):.0f} ms, p99 "
                             f"{pct(lat, 0.99):.0f} ms (n={len(lat):,})")  # fmt: skip
    else:
        if res.rss:
            first, last = res.rss[0][1], res.rss[-1][1]
            ratio = " / ".join(f"{b / a:.3f}" for a, b in zip(first, last, strict=True))
            peak = [max(r[1][i] for r in res.rss) for i in range(len(first))]
            lines.append(
                f"  RSS per worker MiB start {' / '.join(f'{v:.0f}' for v in first)} -> end "
                f"{' / '.join(f'{v:.0f}' for v in last)} (end/start {ratio}; peak "
                f"{' / '.join(f'{v:.0f}' for v in peak)})"
            )
            lines.append("  RSS samples (s: A/B MiB): " + ", ".join(
                f"{t:.0f}: {'/'.join(f'{v:.0f}' for v in r)}" for t, r in res.rss))  # fmt: skip
        lines.append("  latency per minute (n, p50, p99 ms): " + "; ".join(
            f"m{m}: {n:,} {p50:.0f}/{p99:.0f}" for m, n, p50, p99 in res.per_minute))  # fmt: skip
    for note in res.notes:
        lines.append(f"  note: {note}")
    for ex in res.lost_examples:
        lines.append(f"  lost: {ex}")
    for kind, count in res.error_kinds.most_common():
        lines.append(f"  shown to users x{count}: {kind}")
    if res.errors:
        lines.append(f"  errors ({len(res.errors)}): {res.errors[:3]}")
    if res.others >= 5:
        lines.append(f"  WARNING: other processes used {res.others:.0f}% of the machine meanwhile")
    return lines


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def hard_timeout(seconds: float) -> Iterator[None]:
    """SIGALRM after `seconds`: the scenario stops and cleans up like on Ctrl-C."""

    def fire(_signum: int, _frame: Any) -> None:
        raise TimeoutError(f"hard timeout of {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(max(1, int(seconds)))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def budget(args: argparse.Namespace, scenario: str) -> float:
    planned = (
        args.soak_seconds
        if scenario == "soak"
        else args.before + args.outage + args.catch_up_limit + args.after
    )
    return SETUP_BUDGET_S + planned + args.drain + 60


def run(args: argparse.Namespace, scenario: str, secret: str) -> Result:
    res = Result(scenario, args.tabs, "postgres" if scenario == "postgres" else args.database,
                 args.rate, started=f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
                 load_before=loadavg())  # fmt: skip
    world = World(args, scenario, secret)
    try:
        with hard_timeout(budget(args, scenario)):
            world.open()
            asyncio.run(run_scenario(world, res))
    except (TimeoutError, RuntimeError) as exc:
        res.errors.insert(0, f"scenario stopped: {exc!r}")
    finally:
        world.close()
    return res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--scenario", nargs="+", choices=SCENARIOS, default=list(SCENARIOS[:4]))
    parser.add_argument("--tabs", type=int, help="tabs, even (500; storm 1000)")
    parser.add_argument("--rate", type=float, help="msg/s in total (20; soak 10)")
    parser.add_argument("--before", type=float, help="s of load before the fault (15)")
    parser.add_argument("--after", type=float, help="s of load after catch-up (15)")
    parser.add_argument("--outage", type=float, help="s the service stays down (5)")
    parser.add_argument("--catch-up-limit", type=float, help="max s to wait for catch-up (90)")
    parser.add_argument("--drain", type=float, help="max s of the final drain (240)")
    parser.add_argument("--soak-seconds", type=float, help="soak length (600)")
    parser.add_argument("--rss-every", type=float, default=30.0)
    parser.add_argument("--connect-concurrency", type=int, default=25)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite",
                        help="kill/redis/storm/soak (postgres: a private cluster)")  # fmt: skip
    parser.add_argument("--redis-lose-state", action="store_true",
                        help="redis: SHUTDOWN NOSAVE (a crash) instead of SAVE")  # fmt: skip
    parser.add_argument("--supervisor-check", action="store_true",
                        help="also kill one of the server's own 2 workers (WEB_CONCURRENCY=2)")  # fmt: skip
    parser.add_argument("--server-env", action="append", type=env_setting, default=[], metavar="KEY=VALUE",
                        help="extra environment for both servers (A/B of a setting)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="20 tabs, short phases (< 3 min)")
    args = parser.parse_args(argv)
    q = args.quick

    def default(name: str, quick: Any, full: Any) -> None:
        if getattr(args, name) is None:
            setattr(args, name, quick if q else full)

    default("before", 4.0, 15.0)
    default("after", 3.0, 15.0)
    default("outage", 2.0, 5.0)
    default("catch_up_limit", 30.0, 90.0)
    default("drain", 20.0, 240.0)
    default("soak_seconds", 30.0, 600.0)
    signal.signal(signal.SIGTERM, _interrupt)
    secret = "bench-" + secrets.token_urlsafe(32)
    scratch = Path(tempfile.mkdtemp(prefix="arbibase-faults-"))
    os.environ["JWT_SECRET"] = secret
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'default.db'}"
    os.environ["ATTACHMENTS_DIR"] = str(scratch / "attachments")
    os.environ.pop("REDIS_URL", None)
    results: list[Result] = []
    try:
        for line in machine_facts():
            out(line)
        if args.supervisor_check:
            out("=== supervisor: one of two workers killed")
            out(f"  {supervisor_check(args, secret)}")
        for scenario in args.scenario:
            tabs = args.tabs or (20 if q else 1_000 if scenario == "storm" else 500)
            if tabs < 2 or tabs % 2:
                parser.error("--tabs: an even number >= 2")
            rate = args.rate or (5.0 if q else 10.0 if scenario == "soak" else 20.0)
            run_args = argparse.Namespace(**{**vars(args), "tabs": tabs, "rate": rate})
            out("")
            out(f"=== {scenario}: {tabs:,} tabs, {rate:g} msg/s")
            res = run(run_args, scenario, secret)
            results.append(res)
            for line in report(res):
                out(line)
    except KeyboardInterrupt:
        out("interrupted: cleaned up")
        return 130
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    out("")
    out("=== summary")
    for res in results:
        for line in report(res):
            out(line)
    ok = all(
        r.lost == 0 and r.duplicated == 0 and r.stored_twice == 0 and not r.errors for r in results
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
