"""Realtime benchmark: simulated browser sessions against a real `reflex run --env prod` server.

    .venv/bin/python -m bench.realtime [--sessions 50 500 1000] [--rate 1.0] [--seconds 20]
        [--steady-rate 15] [--history 0] [--drain 15] [--profile] [--quick]

Needs aiohttp (python-socketio's asyncio client runs on it) and, for --profile, py-spy:
`.venv/bin/pip install aiohttp py-spy`.

For each N in --sessions: a fresh SQLite database (alembic upgrade head) seeded in bulk with N
users in N/2 operator-owner pairs (owners verified), a property and a thread per pair; access
tokens minted with `services.tokens.issue_access_token` and the JWT_SECRET the server gets.
Then the real server (tests/e2e/server.py's LiveServer, its own process group) and N socket
sessions that talk to it exactly as the browser does:

- Socket.IO v5 over a websocket at path /_event, namespace /_event, `?token=<uuid4>`;
- the hydrate event `hydrate_and_load` rides in the CONNECT packet's auth payload with the
  cookie values in `payload.vars`: that is where Reflex reads an rx.Cookie from (the browser's
  `hydrateClientStorage` puts each tracked cookie under its state var's full name), next to
  the compiled initial-state hashes and state schema. The handshake also carries the
  `Cookie` header, as a browser's does (Reflex only copies it into router.headers);
- router_data is the thread page `/threads/<id>` with `query.thread_id` (React Router's
  params), so the page's on_load handlers (InboxState.load, ChatState.load) run and the hub
  registers the session;
- a message is sent through the UI event `ChatState.send` with form_data {"body": ...} (a
  background task: the pending bubble, then the store, then the sent bubble).

Phases per N: one pair verifies the path (a partner's message arrives as a delta on
ChatState's message window: `tail`, or `history` when the split moved); worker RSS before/after the other sessions connect; idle delivery (one
message at a time); steady load (--steady-rate msg/s in total, drained completely: exact lost
and duplicate check); target load (every session sends at --rate for --seconds, open loop);
a drain; the database is counted and every recipient's deltas are checked (each partner
message exactly once). Bodies carry sender, sequence number and send time. Then the raw limits
on the same machine: single-row insert transactions on the same SQLite file, the services a
message costs (called in-process), and a python-socketio echo server under uvicorn (h11 +
websockets, the app server's worker) with N clients. Everything is stopped and removed at the end (also on Ctrl-C/SIGTERM).

See bench/REALTIME.md for what each number means and the latest figures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import functools
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import psutil

from arbibase_chat.pages.thread_window import PARTS
from bench.common import (
    FAKE_HASH,
    create_pg_database,
    drop_pg_database,
    env_setting,
    free_port,
    loadavg,
    pct,
    raw_insert_samples,
)
from bench.common import machine_facts as common_facts

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
#: The bench server builds its frontend here (var/ is git-ignored); a warm build takes ~4 s.
WEB_DIR = Path(os.environ.get("ARBIBASE_BENCH_WEB_DIR", PROJECT_ROOT / "var" / "bench-web"))
NAMESPACE = "/_event"
BODY_RE = re.compile(r"^rt s=(\d+) n=(\d+) t=([0-9.]+)")
UTC = dt.UTC

# Targets of issue 3 (2-core machine).
TARGET_RATE = 1_000.0  # msg/s with 1,000 sessions ...
TARGET_P99_MS = 100.0  # ... at p99 <= 100 ms
TARGET_IDLE_P50_MS = 10.0
TARGET_KB_PER_SESSION = 100.0


def out(line: str = "") -> None:
    print(line, flush=True)


def ms(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    return (
        f"p50 {pct(samples, 0.5):.1f}  p95 {pct(samples, 0.95):.1f}  "
        f"p99 {pct(samples, 0.99):.1f}  max {max(samples):.1f} ms  (n={len(samples):,})"
    )


# --- the state tree's names (what the compiled frontend sends) -------------------------------


@dataclass(frozen=True)
class Names:
    root: str
    chat: str
    cookie_vars: dict[str, str]  # cookie name -> full var name
    state_schema: str | None
    initial_hashes: list[str] | None

    @property
    def hydrate(self) -> str:
        return f"{self.root}.hydrate_and_load"

    @property
    def send(self) -> str:
        return f"{self.chat}.send"


def state_names(web_dir: Path) -> Names:
    """Full state names from the app's classes; schema and hashes from the built frontend."""
    from arbibase_chat.config import ACCESS_TOKEN_COOKIE
    from arbibase_chat.pages.thread import ChatState
    from arbibase_chat.session import SessionState

    session = SessionState.get_full_name()
    cookie_vars = {
        ACCESS_TOKEN_COOKIE: f"{session}.access_token_rx_state_",
        "arbibase_tz": f"{session}.time_zone_rx_state_",
    }
    schema = hashes = None
    context = web_dir / "utils" / "context.jsx"
    with contextlib.suppress(OSError):
        text = context.read_text()
        if m := re.search(r'export const stateSchema = "([^"]+)"', text):
            schema = m.group(1)
        if m := re.search(r"export const initialStateHashes = (\[[^\]]*\])", text):
            hashes = json.loads(m.group(1))
        if m := re.search(r"export const clientStorage = (\{.*\})\n", text):
            # The compiled cookie table is what the browser goes by: ours must match it.
            compiled = json.loads(m.group(1)).get("cookies", {})
            for name, var in cookie_vars.items():
                if compiled.get(var, {}).get("name") != name:
                    raise RuntimeError(f"cookie {name} is not {var} in {context}")
    parent = SessionState.get_parent_state()
    assert parent is not None
    return Names(
        root=parent.get_full_name(),
        chat=ChatState.get_full_name(),
        cookie_vars=cookie_vars,
        state_schema=schema,
        initial_hashes=hashes,
    )


# --- seeding ---------------------------------------------------------------------------------


@dataclass
class Population:
    user_ids: list[uuid.UUID]  # session i <-> user i; pair p = users 2p (operator), 2p+1 (owner)
    emails: list[str]
    thread_ids: list[uuid.UUID]  # thread p

    def thread_of(self, i: int) -> uuid.UUID:
        return self.thread_ids[i // 2]


def seed(url: str, n_sessions: int, history: int) -> Population:
    """N users in N/2 pairs, a property and an active thread per pair; bulk Core inserts."""
    from sqlalchemy import insert

    from arbibase_chat import db as dbmod
    from arbibase_chat import migrations, models

    migrations.upgrade(url)
    now = dt.datetime.now(UTC) - dt.timedelta(minutes=5)
    pop = Population([], [], [])
    users, props, threads, parts, msgs = [], [], [], [], []
    for p in range(n_sessions // 2):
        op, ow = uuid.uuid4(), uuid.uuid4()
        for uid, role in ((op, "operator"), (ow, "owner")):
            email = f"bench-{role}-{p}@bench.arbibase.test"
            pop.user_ids.append(uid)
            pop.emails.append(email)
            users.append(
                {
                    "id": uid,
                    "email": email,
                    "display_name": f"{role.title()} {p}",
                    "role": role,
                    "tier": "pro",
                    "verified": True,
                    "password_hash": FAKE_HASH,
                    "created_at": now,
                }
            )
        prop, tid = uuid.uuid4(), uuid.uuid4()
        pop.thread_ids.append(tid)
        props.append(
            {
                "id": prop,
                "owner_id": ow,
                "title": f"Bench property {p}",
                "address": f"{p} Bench St",
                "city": "Miami",
                "state": "FL",
                "monthly_rent_cents": 300_000,
                "bedrooms": 3,
                "bathrooms": 2.0,
                "square_feet": 1_500,
                "created_at": now,
            }
        )
        threads.append(
            {
                "id": tid,
                "property_id": prop,
                "operator_id": op,
                "owner_id": ow,
                "subject": f"Lease for property {p}",
                "status": "active",
                "last_seq": history,
                "last_message_at": now,
                "created_at": now,
            }
        )
        for uid, role in ((op, "operator"), (ow, "owner")):
            parts.append(
                {
                    "thread_id": tid,
                    "user_id": uid,
                    "role": role,
                    "last_read_seq": history,
                    "last_read_at": None,
                    "last_message_at": now,
                }
            )
        for seq in range(1, history + 1):
            sender, reader = (op, ow) if seq % 2 else (ow, op)
            msgs.append(
                {
                    "id": uuid.uuid4(),
                    "thread_id": tid,
                    "seq": seq,
                    "sender_id": sender,
                    "body": f"earlier message {seq}: can we talk about the lease terms?",
                    "attachment_url": None,
                    "seen_by": [str(reader)],
                    "kind": "text",
                    "client_msg_id": None,
                    "meta": None,
                    "created_at": now - dt.timedelta(seconds=history - seq),
                }
            )
    tables = models.SQLModel.metadata.tables
    engine = dbmod.get_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(tables["users"]), users)
            conn.execute(insert(tables["properties"]), props)
            conn.execute(insert(tables["messaging_threads"]), threads)
            conn.execute(insert(tables["messaging_participants"]), parts)
            if msgs:
                conn.execute(insert(tables["messaging_messages"]), msgs)
    finally:
        dbmod.dispose_engine(url)
    return pop


def db_messages(url: str) -> list[tuple[str, str, dt.datetime]]:
    """(sender_id hex, body, created_at) of every message, read with the driver directly."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            rows = con.execute(
                "SELECT sender_id, body, created_at FROM messaging_messages"
            ).fetchall()
        finally:
            con.close()
        return [(s, b or "", dt.datetime.fromisoformat(c).replace(tzinfo=UTC)) for s, b, c in rows]
    import psycopg

    with psycopg.connect(url) as pg:
        found = pg.execute("SELECT sender_id, body, created_at FROM messaging_messages").fetchall()
    return [(s.hex, b or "", c) for s, b, c in found]


# --- raw limits in-process: inserts and what the services cost ---------------------------------


def raw_insert_rate(url: str, n: int) -> tuple[float, list[float]]:
    """N single-row insert transactions (BEGIN IMMEDIATE ... COMMIT) through the app's engine,
    as bench/queries.py measures it."""
    from arbibase_chat import db as dbmod

    try:
        return raw_insert_samples(dbmod.get_engine(url), n)
    finally:
        dbmod.dispose_engine(url)


#: How often the app calls each service for one message from A to B while both have the
#: thread open (realtime/hub.py + delivery.py + pages/thread.py), in steady state: A's send
#: (ChatState.send); B's coalesced mark-read on delivery; the hub reads the message once
#: (per worker holding a party's tab). Inbox rows and unread totals are folded from the events
#: (realtime/rows.py): get_thread / unread_total run only at first sight of a (user, thread)
#: on a worker and on status/subject/tag changes, so they count 0 here (still measured).
CALLS_PER_MESSAGE = {
    "send_message": 1,
    "mark_read": 1,
    "get_message": 1,
    "get_thread": 0,
    "unread_total": 0,
}


def service_costs(url: str, pop: Population, calls: int) -> dict[str, tuple[float, float]]:
    """Per service: (p50 wall ms, mean CPU ms) of one call, in this process, nothing else running."""
    from arbibase_chat import db as dbmod
    from arbibase_chat.services import inbox, messages, ratelimit, reads

    engine = dbmod.get_engine(url)
    a, b, thread = pop.user_ids[0], pop.user_ids[1], pop.thread_ids[0]
    wall: dict[str, list[float]] = collections.defaultdict(list)
    cpu: dict[str, list[float]] = collections.defaultdict(list)

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        t0, c0 = time.perf_counter(), time.thread_time()
        result = fn()
        cpu[name].append((time.thread_time() - c0) * 1000.0)
        wall[name].append((time.perf_counter() - t0) * 1000.0)
        return result

    try:
        with ratelimit.use(ratelimit.Unlimited()):
            for i in range(calls + 10):
                m = timed(
                    "send_message",
                    partial(
                        messages.send_message,
                        user_id=a,
                        thread_id=thread,
                        body="service cost probe",
                        client_msg_id=uuid.uuid4().hex,
                        db=engine,
                    ),
                )
                timed("mark_read", partial(reads.mark_read, user_id=b, thread_id=thread, db=engine))
                timed(
                    "get_message",
                    partial(messages.get_message, user_id=b, message_id=m.id, db=engine),
                )
                timed(
                    "get_thread",
                    partial(inbox.get_thread, user_id=b, thread_id=thread, db=engine),
                )
                timed("unread_total", partial(reads.unread_total, user_id=b, db=engine))
                if i == 9:  # warm-up done
                    wall.clear()
                    cpu.clear()
    finally:
        dbmod.dispose_engine(url)
    return {k: (pct(wall[k], 0.5), sum(cpu[k]) / len(cpu[k])) for k in wall}


# --- one simulated browser tab ----------------------------------------------------------------


@dataclass
class Stats:
    sent: dict[int, float] = field(default_factory=dict)  # n -> time.time() at emit
    confirmed: dict[int, float] = field(default_factory=dict)  # n -> my "sent" delta arrived
    got: dict[int, float] = field(default_factory=dict)  # partner's n -> first delta with it
    got_ids: dict[str, int] = field(default_factory=dict)  # message id -> partner's n
    latency_of: dict[int, float] = field(default_factory=dict)  # partner's n -> ms
    duplicates: int = 0
    out_of_order: int = 0
    deltas: int = 0
    sampled_bytes: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Sends the worker refused at its socket as busy (arbibase_chat/admission.py): a toast
    # alone, no delta; never stored, never confirmed.
    refused: int = 0


@functools.cache
def _busy_text() -> str:
    from arbibase_chat.aio import BUSY

    return BUSY


class Tab:
    """One browser tab on /threads/<id>, signed in through the access-token cookie."""

    def __init__(
        self,
        idx: int,
        *,
        names: Names,
        base_url: str,
        jwt: str,
        thread_id: uuid.UUID,
        http: Any,
        deflate: bool = True,
    ) -> None:
        import socketio  # type: ignore[import-untyped]

        self.idx = idx
        self.partner = idx ^ 1
        self.names = names
        self.base_url = base_url
        self.jwt = jwt
        self.thread_id = str(thread_id)
        self.path = f"/threads/{self.thread_id}"
        self.token = str(uuid.uuid4())
        self.stats = Stats()
        # ChatState's message window as this tab holds it: its parts (history, recent, tail)
        # arrive apart, each whole when it changed.
        self._window: dict[str, list[dict[str, Any]]] = {part: [] for part in PARTS}
        self.hydrated = asyncio.Event()
        self.on_partner: Callable[[Tab, int, float], None] | None = None
        self.sio = socketio.AsyncClient(
            reconnection=False,
            handle_sigint=False,
            http_session=http,
            request_timeout=30,
            # A browser offers permessage-deflate on every websocket (Chrome, Firefox, Safari).
            websocket_extra_options={"compress": 15} if deflate else {},
        )
        self.sio.on("event", self._on_event, namespace=NAMESPACE)
        self.sent_count = 0
        self._waiting: tuple[str, asyncio.Future[None]] | None = None

    def router_data(self) -> dict[str, Any]:
        return {"pathname": self.path, "asPath": self.path, "query": {"thread_id": self.thread_id}}

    def _cookie(self, name: str) -> str:
        return self.jwt if name.endswith("access_token") else "UTC"

    def _auth(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "vars": {var: self._cookie(name) for name, var in self.names.cookie_vars.items()}
        }
        if self.names.initial_hashes:
            payload["hashes"] = self.names.initial_hashes
        auth: dict[str, Any] = {
            "event": {
                "name": self.names.hydrate,
                "payload": payload,
                "router_data": self.router_data(),
            }
        }
        if self.names.state_schema:
            auth["state_schema"] = self.names.state_schema
        return auth

    async def connect(self, timeout: float = 60.0) -> None:
        cookie = "; ".join(f"{name}={self._cookie(name)}" for name in self.names.cookie_vars)
        await self.sio.connect(
            f"{self.base_url}?token={self.token}",
            headers={"Cookie": cookie, "Origin": self.base_url},
            auth=self._auth(),
            transports=["websocket"],
            namespaces=[NAMESPACE],
            socketio_path="/_event",
            wait_timeout=timeout,
        )
        await asyncio.wait_for(self.hydrated.wait(), timeout)

    async def send_numbered(self) -> int:
        self.sent_count += 1
        n = self.sent_count
        now = time.time()
        self.stats.sent[n] = now
        await self.sio.emit(
            "event",
            {
                "name": self.names.send,
                "payload": {
                    "form_data": {
                        "body": f"rt s={self.idx} n={n} t={now:.6f} can we confirm the lease terms?"
                    }
                },
                "router_data": self.router_data(),
            },
            namespace=NAMESPACE,
        )
        return n

    async def roundtrip(self, handler: str, payload: dict[str, Any], var: str) -> float:
        """Emit one event to ChatState and wait for the delta that carries `var`; ms."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting = (var, fut)
        t0 = time.perf_counter()
        await self.sio.emit(
            "event",
            {
                "name": f"{self.names.chat}.{handler}",
                "payload": payload,
                "router_data": self.router_data(),
            },
            namespace=NAMESPACE,
        )
        try:
            await asyncio.wait_for(fut, 10)
        finally:
            self._waiting = None
        return (time.perf_counter() - t0) * 1000.0

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()

    # --- what the server pushes -------------------------------------------------------------

    def _on_event(self, update: Any) -> None:
        now = time.time()
        if not isinstance(update, dict):
            return
        st = self.stats
        st.deltas += 1
        if st.deltas % 25 == 0:
            st.sampled_bytes.append(len(json.dumps(update)))
        delta = update.get("delta") or {}
        events = update.get("events") or ()
        if not delta and events and _busy_text() in json.dumps(events):
            st.refused += 1
            return
        for ev in events:
            name = ev.get("name", "") if isinstance(ev, dict) else str(ev)
            # A redirect (to /login) means the cookie was refused; a toast is an error.
            if name in ("_redirect", "_call_function", "_call_script"):
                st.errors.append(json.dumps(ev)[:300])
        chat = delta.get(self.names.chat)
        parts = [p for p in PARTS if f"{p}_rx_state_" in (chat or {})]
        if chat and parts:
            for part in parts:
                self._window[part] = chat[f"{part}_rx_state_"]
            self._items([view for part in PARTS for view in self._window[part]], now)
        waiting = self._waiting
        if chat and waiting is not None and waiting[0] in chat and not waiting[1].done():
            waiting[1].set_result(None)
        root = delta.get(self.names.root)
        if root and root.get("is_hydrated_rx_state_") is True:
            self.hydrated.set()

    def _items(self, items: list[dict[str, Any]], now: float) -> None:
        """The window after a delta: record each partner message the first time it shows."""
        st = self.stats
        seen_here: collections.Counter[int] = collections.Counter()
        last_seq = 0
        for item in items:
            if item.get("status") != "sent":
                continue
            seq = int(item.get("seq") or 0)
            if seq <= last_seq:
                st.out_of_order += 1
            last_seq = seq
            text = "".join(s.get("text", "") for s in item.get("segments") or ())
            m = BODY_RE.match(text)
            if m is None:
                continue
            sender, n, sent_at = int(m.group(1)), int(m.group(2)), float(m.group(3))
            if item.get("mine"):
                if sender == self.idx and n not in st.confirmed:
                    st.confirmed[n] = now
                continue
            if sender != self.partner:
                st.errors.append(f"tab {self.idx} got a message of session {sender}")
                continue
            seen_here[n] += 1
            mid = str(item.get("id"))
            if mid in st.got_ids:
                continue
            st.got_ids[mid] = n
            if n in st.got:
                st.duplicates += 1  # the same message again under another id
                continue
            st.got[n] = now
            st.latency_of[n] = (now - sent_at) * 1000.0
            if self.on_partner is not None:
                self.on_partner(self, n, now)
        st.duplicates += sum(c - 1 for c in seen_here.values() if c > 1)


# --- processes -----------------------------------------------------------------------------------


class Workers:
    """The app's worker processes: the leaves of the server's process group (gunicorn's arbiter
    forks its workers from reflex's process). RSS and CPU are summed over them."""

    def __init__(self, pgid: int) -> None:
        from tests.e2e.server import _group_members

        members = _group_members(pgid)
        pids = {p.pid for p in members}
        self.procs = []
        for p in members:
            with contextlib.suppress(psutil.Error):
                if not any(c.pid in pids for c in p.children()):
                    self.procs.append(p)
        if not self.procs:
            raise RuntimeError("no server worker process found")
        self.pid = self.procs[0].pid

    def rss_kb(self) -> float:
        total = 0
        for p in self.procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total / 1024


def release_db(path: Path, wait: float = 30.0) -> None:
    """After the server stopped: wait until no process of ours has the database open (a
    SIGKILLed worker can take a moment to go), then kill what still does."""
    deadline = time.monotonic() + wait
    while True:
        holders = []
        for p in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if any(f.path.startswith(str(path)) for f in p.open_files()):
                    holders.append(p)
        if not holders:
            return
        if time.monotonic() >= deadline:
            out(f"  (killing leftover processes holding the database: {[p.pid for p in holders]})")
            for p in holders:
                with contextlib.suppress(psutil.Error):
                    p.kill()
            psutil.wait_procs(holders, timeout=10)
            return
        time.sleep(0.2)


def leaf(proc: psutil.Process) -> psutil.Process:
    kids = proc.children(recursive=True)
    return kids[-1] if kids else proc


class CpuMeter:
    """CPU time processes used over a window, as % of one core."""

    def __init__(self, *procs: psutil.Process) -> None:
        self.procs = procs
        self.t0 = self.c0 = 0.0

    def _cpu(self) -> float:
        total = 0.0
        for p in self.procs:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def start(self) -> None:
        self.t0, self.c0 = time.monotonic(), self._cpu()

    def seconds(self) -> float:
        return self._cpu() - self.c0

    def percent(self) -> float:
        return 100.0 * self.seconds() / max(time.monotonic() - self.t0, 1e-9)


class OthersMeter:
    """CPU that processes other than this bench (and what it started) use meanwhile, in % of
    the whole machine: other work on a 2-core box inflates every figure here."""

    def __init__(self) -> None:
        self.t0 = self.busy0 = self.own0 = 0.0

    @staticmethod
    def _busy() -> float:
        t = psutil.cpu_times()
        return float(t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0))

    @staticmethod
    def _own() -> float:
        me = psutil.Process()
        total = 0.0
        for p in [me, *me.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def start(self) -> None:
        self.t0, self.busy0, self.own0 = time.monotonic(), self._busy(), self._own()

    def percent(self) -> float:
        wall = max(time.monotonic() - self.t0, 1e-9) * (psutil.cpu_count() or 1)
        others = (self._busy() - self.busy0) - (self._own() - self.own0)
        return max(0.0, 100.0 * others / wall)


async def wait_quiet(max_wait: float, limit: float = 10.0) -> float:
    """Wait (at most `max_wait` s) until other processes use < `limit` % of the machine."""
    deadline = time.monotonic() + max_wait
    while True:
        meter = OthersMeter()
        meter.start()
        await asyncio.sleep(2.0)
        busy = meter.percent()
        if busy < limit or time.monotonic() >= deadline:
            return busy
        out(f"  (other processes use {busy:.0f}% of the machine: waiting for quiet)")


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --- the echo baseline ------------------------------------------------------------------------


def _echo_sio(async_mode: str) -> Any:
    """python-socketio set up as Reflex sets it up (websocket only, inline handlers), sending
    every "echo" back as an "event"."""
    import socketio

    sio = socketio.AsyncServer(
        async_mode=async_mode,
        transports=["websocket"],
        allow_upgrades=False,
        async_handlers=False,
        cors_allowed_origins="*",
    )

    async def echo(sid: str, data: Any) -> None:
        await sio.emit("event", data, to=sid, namespace=NAMESPACE)

    sio.on("echo", echo, namespace=NAMESPACE)
    return sio


def echo_app() -> Any:
    """The ASGI echo app for uvicorn (`--factory`), as the app server runs its socket."""
    import socketio

    return socketio.ASGIApp(_echo_sio("asgi"), socketio_path="_event")


def serve_aiohttp_echo(port: int) -> None:
    """The same echo on aiohttp's own server: separates python-socketio's cost from the ASGI server's."""
    from aiohttp import web

    app = web.Application()
    _echo_sio("aiohttp").attach(app, socketio_path="_event")
    web.run_app(app, host="127.0.0.1", port=port, print=None)


@dataclass
class Echo:
    rate: float = 0.0
    rtt: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    others: float = 0.0
    kb_per_conn: float = 0.0


async def echo_bench(n_clients: int, seconds: float, server: str = "uvicorn") -> Echo:
    """N clients, each in a closed loop (emit, wait for the echo, emit again) for `seconds`."""
    import aiohttp
    import socketio

    port = free_port()
    if server == "uvicorn":
        cmd = [sys.executable, "-m", "uvicorn", "--http", "h11", "--factory", "--host",
               "127.0.0.1", "--port", str(port), "--log-level", "warning",
               "bench.realtime:echo_app"]  # fmt: skip
    else:
        cmd = [
            sys.executable,
            "-c",
            f"from bench.realtime import serve_aiohttp_echo as s; s({port})",
        ]
    proc = subprocess.Popen(
        cmd,
        cwd=PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    clients: list[Any] = []
    res = Echo()
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:
        deadline = time.monotonic() + 30
        while not port_open(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("echo server did not start")
            await asyncio.sleep(0.1)
        worker = leaf(psutil.Process(proc.pid))
        waiters: dict[int, asyncio.Future[None]] = {}
        for i in range(n_clients):
            c = socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=http)

            def on_event(_data: Any, i: int = i) -> None:
                fut = waiters.get(i)
                if fut is not None and not fut.done():
                    fut.set_result(None)

            c.on("event", on_event, namespace=NAMESPACE)
            clients.append(c)
        sem = asyncio.Semaphore(50)

        async def conn(c: Any) -> None:
            async with sem:
                await c.connect(
                    f"http://127.0.0.1:{port}?token={uuid.uuid4()}",
                    transports=["websocket"],
                    namespaces=[NAMESPACE],
                    socketio_path="/_event",
                    wait_timeout=30,
                )

        # Connection cost: RSS after 1 client vs after all of them.
        await conn(clients[0])
        await asyncio.sleep(0.5)
        rss0 = worker.memory_info().rss
        await asyncio.gather(*(conn(c) for c in clients[1:]))
        await asyncio.sleep(1.0)
        res.kb_per_conn = (worker.memory_info().rss - rss0) / 1024 / max(n_clients - 1, 1)

        payload = {"delta": {"state": {"items_rx_state_": "y" * 200}}}
        counts = [0] * n_clients
        loop = asyncio.get_running_loop()
        measure_from = time.monotonic() + 1.0  # 1 s warm-up
        stop_at = measure_from + seconds
        srv, me, others = CpuMeter(worker), CpuMeter(psutil.Process()), OthersMeter()

        async def ping_pong(i: int, c: Any) -> None:
            while time.monotonic() < stop_at:
                fut: asyncio.Future[None] = loop.create_future()
                waiters[i] = fut
                t0 = time.perf_counter()
                await c.emit("echo", payload, namespace=NAMESPACE)
                await asyncio.wait_for(fut, 10)
                if time.monotonic() >= measure_from:
                    counts[i] += 1
                    res.rtt.append((time.perf_counter() - t0) * 1000.0)

        async def meters() -> None:
            await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
            srv.start()
            me.start()
            others.start()
            await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
            res.server_cpu, res.client_cpu, res.others = (
                srv.percent(),
                me.percent(),
                others.percent(),
            )

        await asyncio.gather(meters(), *(ping_pong(i, c) for i, c in enumerate(clients)))
        res.rate = sum(counts) / seconds
        return res
    finally:
        await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
        await http.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


# --- profiling ---------------------------------------------------------------------------------


def start_profile(pid: int, seconds: float, dest: Path) -> subprocess.Popen[bytes] | None:
    """py-spy record of the thread holding the GIL (where the Python CPU goes), raw format."""
    bindir = Path(sys.executable).parent
    spy = shutil.which("py-spy", path=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    if spy is None:
        out("  (py-spy is not installed: .venv/bin/pip install py-spy; no profile)")
        return None
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, int(seconds))),
            "--rate",
            "100",
            "--gil",
            "--format",
            "raw",
            "--output",
            str(dest),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


#: Inclusive share of these frames is printed (name fragment, label).
PROFILE_GROUPS = [
    ("sqlalchemy/", "SQLAlchemy (all statements, ORM, compile, result rows)"),
    ("send_message (arbibase_chat", "services.messages.send_message"),
    ("get_thread (arbibase_chat", "services.inbox.get_thread (hub)"),
    ("unread_total (arbibase_chat", "services.reads.unread_total (hub)"),
    ("mark_read (arbibase_chat", "services.reads.mark_read (on delivery)"),
    ("get_message (arbibase_chat", "services.messages.get_message (hub)"),
    ("modify_state (reflex", "App.modify_state (hub pushes)"),
    ("apply (arbibase_chat", "InboxState/ChatState.apply"),
    ("process_event (reflex_base", "Reflex event handlers (send, loads)"),
    ("_get_resolved_delta (reflex", "Reflex delta computation"),
    ("_sio_dumps (reflex", "JSON encoding of updates"),
    ("engineio/", "engineio (socket frames)"),
    ("ThreadPoolExecutor.submit", "to_thread hand-off (submit)"),
]


def summarize_profile(path: Path, top: int = 12) -> list[str]:
    self_t: collections.Counter[str] = collections.Counter()
    groups: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ["  (no profile written)"]
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        c = int(count)
        total += c
        frames = stack.split(";")
        threads["services in to_thread workers" if "_WorkItem.run" in stack else "event loop"] += c
        self_t[_short(frames[-1])] += c
        for fragment, label in PROFILE_GROUPS:
            if fragment in stack:
                groups[label] += c
    if not total:
        return ["  (empty profile)"]
    res = [f"  py-spy --gil: {total:,} samples at 100 Hz (share of GIL-holding samples)"]
    res.append("    " + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in threads.most_common()))
    for _, label in PROFILE_GROUPS:
        res.append(f"    {100 * groups[label] / total:5.1f}%  {label}")
    res.append("    top self time:")
    for name, c in self_t.most_common(top):
        res.append(f"    {100 * c / total:5.1f}%  {name}")
    return res


def _short(frame: str) -> str:
    m = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not m:
        return frame
    func, path = m.groups()
    return f"{func} ({'/'.join(path.split('/')[-2:])})"


# --- one run ---------------------------------------------------------------------------------


@dataclass
class Phase:
    """One load phase: what was sent in [start, end) and what came of it."""

    seconds: float = 0.0
    first: dict[int, int] = field(default_factory=dict)  # tab -> its first message number
    last: dict[int, int] = field(default_factory=dict)  # tab -> its last message number
    start: float = 0.0
    end: float = 0.0
    busy_cpu_s: float = 0.0
    offered: float = 0.0
    persisted_rate: float = 0.0
    delivered_rate: float = 0.0
    latency: list[float] = field(default_factory=list)
    confirm: list[float] = field(default_factory=list)
    send_lag: list[float] = field(default_factory=list)
    sent: int = 0
    persisted: int = 0
    not_persisted: int = 0
    delivered: int = 0
    undelivered: int = 0  # persisted, not seen by the partner when the drain ended
    drained: bool = False
    drain_s: float = 0.0
    still_arriving: float = 0.0  # partner deliveries/s in the last second of the drain
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    others: float = 0.0  # % of the machine used by other processes
    cpu_ms_per_msg: float = 0.0
    deltas_per_msg: float = 0.0


@dataclass
class RunResult:
    n: int
    workers: int = 1
    database: str = "sqlite"
    url: str = ""
    connect_s: float = 0.0
    rss_before_kb: float = 0.0
    rss_after_kb: float = 0.0
    rss_end_kb: float = 0.0
    kb_per_session: float = 0.0
    idle: list[float] = field(default_factory=list)
    idle_confirm: list[float] = field(default_factory=list)
    reflex_rtt: list[float] = field(default_factory=list)
    stop_s: float = 0.0
    idle_cpu: float = 0.0
    idle_profile: list[str] = field(default_factory=list)
    steady: Phase = field(default_factory=Phase)
    load: Phase = field(default_factory=Phase)
    delta_kb: float = 0.0
    duplicated: int = 0
    out_of_order: int = 0
    errors: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)
    insert_rate: float = 0.0
    insert_ms: list[float] = field(default_factory=list)
    services: dict[str, tuple[float, float]] = field(default_factory=dict)
    echo: Echo = field(default_factory=Echo)
    echo_aiohttp: Echo = field(default_factory=Echo)


async def run_phase(
    tabs: list[Tab],
    rates: list[float],  # msg/s of each tab
    seconds: float,
    drain: float,
    workers: Workers,
    on_start: Callable[[], None] | None = None,
) -> Phase:
    """Open-loop sending for `seconds`, then wait (at most `drain` s) for everything to land."""
    ph = Phase(seconds=seconds, first={t.idx: t.sent_count + 1 for t in tabs})
    deltas0 = sum(t.stats.deltas for t in tabs)
    rng = random.Random(len(tabs))
    ph.start = time.time() + 0.3
    ph.end = ph.start + seconds

    async def send_loop(tab: Tab, rate: float) -> None:
        if rate <= 0:
            return
        period = 1.0 / rate
        due = ph.start + rng.random() * period
        while due < ph.end:
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            ph.send_lag.append(max(0.0, (time.time() - due) * 1000.0))
            try:
                await tab.send_numbered()
            except Exception as exc:  # a dropped socket: count it, keep the others going
                tab.stats.errors.append(f"send failed: {exc!r}")
                return
            due += period

    srv, me, others = CpuMeter(*workers.procs), CpuMeter(psutil.Process()), OthersMeter()
    await asyncio.sleep(max(0.0, ph.start - time.time()))
    srv.start()
    me.start()
    others.start()
    if on_start is not None:
        on_start()
    await asyncio.gather(*(send_loop(t, r) for t, r in zip(tabs, rates, strict=True)))
    ph.server_cpu, ph.client_cpu, ph.others = srv.percent(), me.percent(), others.percent()
    ph.last = {t.idx: t.sent_count for t in tabs}

    # Drain: until every message is confirmed to its sender and seen by its partner.
    t0 = time.time()
    got_hist: collections.deque[tuple[float, int]] = collections.deque(maxlen=6)
    while True:
        missing = sum(
            len(t.stats.sent)
            - len(t.stats.confirmed)
            - t.stats.refused
            + len(tabs[t.partner].stats.sent)
            - len(t.stats.got)
            - tabs[t.partner].stats.refused
            for t in tabs
        )
        got_hist.append((time.time(), sum(len(t.stats.got) for t in tabs)))
        if missing <= 0:
            ph.drained = True
            break
        if time.time() - t0 >= drain:
            break
        await asyncio.sleep(0.2)
    ph.drain_s = time.time() - t0
    ph.busy_cpu_s = srv.seconds()  # sending + draining
    if len(got_hist) >= 2:
        (ta, ga), (tb, gb) = got_hist[0], got_hist[-1]
        ph.still_arriving = (gb - ga) / max(tb - ta, 1e-9)
    sent = sum(ph.last[t.idx] - ph.first[t.idx] + 1 for t in tabs)
    ph.deltas_per_msg = (sum(t.stats.deltas for t in tabs) - deltas0) / max(sent, 1)
    return ph


def judge_phase(ph: Phase, tabs: list[Tab], stored: dict[tuple[int, int], dt.datetime]) -> None:
    """Compare what the sessions sent and saw in this phase with the database."""
    w0, w1 = dt.datetime.fromtimestamp(ph.start, UTC), dt.datetime.fromtimestamp(ph.end, UTC)
    in_window = 0
    delivered_in_window = 0
    for t in tabs:
        st = t.stats
        mine = range(ph.first[t.idx], ph.last[t.idx] + 1)
        ph.sent += len(mine)
        for k in mine:
            when = stored.get((t.idx, k))
            if when is None:
                ph.not_persisted += 1
                continue
            ph.persisted += 1
            in_window += w0 <= when < w1
            if k in st.confirmed:
                ph.confirm.append((st.confirmed[k] - st.sent[k]) * 1000.0)
        partner = tabs[t.partner]
        for k in range(ph.first[partner.idx], ph.last[partner.idx] + 1):
            if (partner.idx, k) not in stored:
                continue
            if k in st.got:
                ph.delivered += 1
                ph.latency.append(st.latency_of[k])
                delivered_in_window += ph.start <= st.got[k] < ph.end
            else:
                ph.undelivered += 1
    ph.offered = ph.sent / ph.seconds
    ph.persisted_rate = in_window / ph.seconds
    ph.delivered_rate = delivered_in_window / ph.seconds
    ph.cpu_ms_per_msg = ph.busy_cpu_s * 1000.0 / max(ph.persisted, 1)


async def _one_message(sender: Tab, receiver: Tab, timeout: float) -> float | None:
    """Send one message and wait for the partner's delta; its latency in ms (None: lost)."""
    fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def arrived(_tab: Tab, n: int, _now: float) -> None:
        if n == sender.sent_count and not fut.done():
            fut.set_result(receiver.stats.latency_of[n])

    receiver.on_partner = arrived
    try:
        await sender.send_numbered()
        return await asyncio.wait_for(fut, timeout)
    except TimeoutError:
        return None
    finally:
        receiver.on_partner = None


async def run_one(
    n: int, workers_n: int, args: argparse.Namespace, tmp: Path, secret: str
) -> RunResult:
    import aiohttp

    from arbibase_chat.services import tokens
    from tests.e2e.server import LiveServer, server_env

    res = RunResult(n=n, workers=workers_n, database=args.database)
    workdir = tmp / f"n{n}w{workers_n}"
    workdir.mkdir()
    db_path = workdir / "bench.db"
    if args.database == "postgres":
        url = create_pg_database(f"bench_rt_{n}_{workers_n}", admin_url=args.pg_admin_url)
    else:
        url = f"sqlite:///{db_path}"
    res.url = url
    t0 = time.perf_counter()
    pop = seed(url, n, args.history)
    jwts = [
        tokens.issue_access_token(user_id=uid, email=email)
        for uid, email in zip(pop.user_ids, pop.emails, strict=True)
    ]
    out(
        f"  seeded {n:,} users and {n // 2:,} threads ({args.history} messages each), minted "
        f"{n:,} access tokens: {time.perf_counter() - t0:.1f} s"
    )
    extra = {"JWT_SECRET": secret}
    if args.state_manager:
        # rx.Config fields can be set from REFLEX_<FIELD>; the app's default is Reflex's (disk).
        extra["REFLEX_STATE_MANAGER_MODE"] = args.state_manager
    if workers_n > 1:
        # Several workers need Reflex's Redis state manager (rxconfig.py turns it on with
        # REDIS_URL), which also carries the hubs' bus; a Redis database of its own, emptied.
        extra["REDIS_URL"] = args.redis_url
        extra["WEB_CONCURRENCY"] = str(workers_n)
        extra["REALTIME_CHANNEL"] = f"arbibase-bench:{secrets.token_hex(6)}"
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
    extra.update(args.server_env)
    if args.rate > 5.0:
        # The per-user send limit (5/s, burst 20) would refuse the bench's senders.
        extra["SEND_RATE_PER_SECOND"] = str(args.rate * 2)
    server = LiveServer(
        env=server_env(url, workdir, WEB_DIR, extra),
        log_path=ARTIFACTS / f"bench-realtime-server-{n}.log",
    )
    server.start()
    tabs: list[Tab] = []
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:
        ready = server.wait_ready(timeout=600)
        assert server.proc is not None
        workers = Workers(server.proc.pid)
        out(
            f"  server ready in {ready:.1f} s on {server.url}; worker pid "
            f"{' '.join(str(p.pid) for p in workers.procs)}"
        )
        names = state_names(WEB_DIR)
        if names.state_schema is None:
            out("  (no compiled state schema/hashes found: hydrating without them)")
        tabs = [
            Tab(
                i,
                names=names,
                base_url=server.url,
                jwt=jwts[i],
                thread_id=pop.thread_of(i),
                http=http,
                deflate=args.deflate,
            )
            for i in range(n)
        ]

        # 1. One pair verifies the whole path before anything is measured.
        await asyncio.gather(tabs[0].connect(), tabs[1].connect())
        first = await _one_message(tabs[0], tabs[1], timeout=15)
        if first is None:
            raise RuntimeError(
                "verification failed: the partner's message did not arrive as a ChatState window "
                f"delta within 15 s; errors {tabs[0].stats.errors + tabs[1].stats.errors}; "
                f"server log {server.log_path}"
            )
        out(
            f"  verified: session 1 got session 0's message as a ChatState window delta after {first:.1f} ms"
        )
        await asyncio.sleep(1.0)

        # 2. Worker RSS before and after the other sessions connect and hydrate.
        res.rss_before_kb = workers.rss_kb()
        sem = asyncio.Semaphore(args.connect_concurrency)

        async def connect(tab: Tab) -> None:
            async with sem:
                await tab.connect(timeout=120)

        t0 = time.perf_counter()
        got = await asyncio.gather(*(connect(t) for t in tabs[2:]), return_exceptions=True)
        res.connect_s = time.perf_counter() - t0
        failed = [r for r in got if isinstance(r, BaseException)]
        if failed:
            raise RuntimeError(f"{len(failed)} sessions failed to connect: {failed[0]!r}")
        if bad := [t for t in tabs if t.stats.errors]:
            raise RuntimeError(f"session {bad[0].idx}: {bad[0].stats.errors[:2]}")
        await asyncio.sleep(2.0)
        res.rss_after_kb = workers.rss_kb()
        res.kb_per_session = (res.rss_after_kb - res.rss_before_kb) / max(n - 2, 1)
        out(
            f"  connected + hydrated {n - 2:,} more sessions in {res.connect_s:.1f} s "
            f"({(n - 2) / max(res.connect_s, 1e-9):.0f}/s); worker RSS "
            f"{res.rss_before_kb / 1024:.1f} -> {res.rss_after_kb / 1024:.1f} MiB = "
            f"{res.kb_per_session:.0f} KB per session"
        )

        # Background CPU of the worker with N idle sessions (pings, timers): nothing is sent.
        idle_meter = CpuMeter(*workers.procs)
        idle_meter.start()
        idle_spy = None
        if args.profile:
            idle_spy = start_profile(
                workers.pid, 5, ARTIFACTS / f"bench-realtime-profile-idle-{n}.txt"
            )
        await asyncio.sleep(5.0)
        res.idle_cpu = idle_meter.percent()
        if idle_spy is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                idle_spy.wait(timeout=30)
            res.idle_profile = summarize_profile(ARTIFACTS / f"bench-realtime-profile-idle-{n}.txt")
        out(f"  worker CPU with {n:,} idle sessions, nothing sent: {res.idle_cpu:.1f}% of a core")

        # 3. Idle delivery: one message at a time, nothing else going on.
        rng = random.Random(n)
        for _ in range(args.idle_messages):
            sender = tabs[rng.randrange(n)]
            latency = await _one_message(sender, tabs[sender.partner], timeout=10)
            if latency is not None:
                res.idle.append(latency)
            await asyncio.sleep(0.15)  # the read receipts of this message settle
            k = sender.sent_count
            if k in sender.stats.confirmed:
                res.idle_confirm.append((sender.stats.confirmed[k] - sender.stats.sent[k]) * 1000)
        # The Reflex floor: an event that touches no database (ChatState.tab_hidden sets one
        # bool) from emit to its delta; tab_shown puts the tab back (it marks read).
        probe = tabs[-1]
        for _ in range(args.idle_messages):
            res.reflex_rtt.append(await probe.roundtrip("tab_hidden", {}, "tab_visible_rx_state_"))
        await probe.roundtrip("tab_shown", {}, "tab_visible_rx_state_")
        out(f"  idle: sender -> recipient delta {ms(res.idle)}")
        out(f"        sender -> own confirmation  {ms(res.idle_confirm)}")
        out(f"        no-DB event round trip      {ms(res.reflex_rtt)} (ChatState.tab_hidden)")
        await asyncio.sleep(0.5)

        # 4. Steady load below saturation, drained to the end: the exact lost/duplicate check.
        if args.steady_rate > 0:
            res.steady = await run_phase(
                tabs, [args.steady_rate / n] * n, args.steady_seconds, max(args.drain, 30), workers
            )

        # 5. The target load: every session at --rate for --seconds.
        prof = ARTIFACTS / f"bench-realtime-profile-{n}.txt"
        spy: list[subprocess.Popen[bytes] | None] = [None]

        def profile() -> None:
            if args.profile:
                spy[0] = start_profile(workers.pid, min(args.seconds, 15), prof)

        res.load = await run_phase(
            tabs, [args.rate] * n, args.seconds, args.drain, workers, profile
        )
        if spy[0] is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy[0].wait(timeout=30)
            if spy[0].poll() is None:
                spy[0].kill()
            res.profile = summarize_profile(prof)
        await asyncio.sleep(1.0)  # late duplicates would show here
        res.rss_end_kb = workers.rss_kb()

        # 6. The database against what each recipient saw.
        hex_to_idx = {u.hex: i for i, u in enumerate(pop.user_ids)}
        stored: dict[tuple[int, int], dt.datetime] = {}
        for sender_hex, body, created in db_messages(url):
            m = BODY_RE.match(body)
            if m is None:
                continue
            key = (int(m.group(1)), int(m.group(2)))
            if hex_to_idx.get(sender_hex.replace("-", "")) != key[0]:
                res.errors.append(f"message {key} stored under another sender")
            res.duplicated += key in stored  # stored twice
            stored[key] = created
        for ph in (res.steady, res.load):
            if ph.first:
                judge_phase(ph, tabs, stored)
        for t in tabs:
            res.duplicated += t.stats.duplicates
            res.out_of_order += t.stats.out_of_order
            res.errors += t.stats.errors
        sizes = [b for t in tabs for b in t.stats.sampled_bytes]
        res.delta_kb = sum(sizes) / len(sizes) / 1024 if sizes else 0.0
        return res
    finally:
        await asyncio.gather(*(t.close() for t in tabs), return_exceptions=True)
        await http.close()
        t_stop = time.perf_counter()
        server.stop()
        if args.database == "sqlite":
            release_db(db_path)
        res.stop_s = time.perf_counter() - t_stop


# --- report ------------------------------------------------------------------------------------


def machine_facts() -> list[str]:
    from importlib.metadata import version

    return [
        *common_facts(),
        f"software  python {platform.python_version()}  sqlite {sqlite3.sqlite_version}  "
        f"reflex {version('reflex')}  gunicorn {version('gunicorn')}  uvicorn {version('uvicorn')}  "
        f"python-socketio {version('python-socketio')}  aiohttp {version('aiohttp')}",
        f"load      {loadavg()} (1/5/15-min averages)",
    ]


def print_run(res: RunResult, args: argparse.Namespace) -> None:
    for label, ph in (("steady", res.steady), ("load", res.load)):
        if not ph.sent:
            continue
        out(
            f"  {label}: offered {ph.offered:,.1f} msg/s, persisted {ph.persisted_rate:,.1f}, "
            f"delivered {ph.delivered_rate:,.1f} msg/s in the {ph.seconds:g}-s window; "
            f"{'drained' if ph.drained else 'NOT drained'} after {ph.drain_s:.1f} s"
            + ("" if ph.drained else f" (still arriving at {ph.still_arriving:,.0f}/s)")
        )
        out(f"    sender -> recipient delta   {ms(ph.latency)}")
        out(f"    sender -> own confirmation  {ms(ph.confirm)}")
        out(f"    client send lag             {ms(ph.send_lag)}")
        out(
            f"    sent {ph.sent:,}  persisted {ph.persisted:,}  not persisted {ph.not_persisted:,}  "
            f"delivered {ph.delivered:,}  undelivered {ph.undelivered:,}"
            + (" (= lost)" if ph.drained else " (backlog at cut-off)")
        )
        out(
            f"    worker CPU {ph.server_cpu:.0f}% of a core ({ph.cpu_ms_per_msg:.1f} ms per persisted "
            f"message), bench client {ph.client_cpu:.0f}%; {ph.deltas_per_msg:.1f} deltas per message"
        )
        if ph.others >= 5:
            out(f"    WARNING: other processes used {ph.others:.0f}% of the machine meanwhile")
    out(
        f"  all phases: duplicated {res.duplicated}, out of order {res.out_of_order}; "
        f"mean update {res.delta_kb:.1f} KB; worker RSS at end {res.rss_end_kb / 1024:.1f} MiB"
    )
    if res.errors:
        out(f"  errors ({len(res.errors)}): {res.errors[:3]}")
    if res.idle_profile:
        out("  profile with idle sessions:")
        for line in res.idle_profile:
            out(line)
    if res.profile:
        out("  profile under load:")
    for line in res.profile:
        out(line)


def _label(r: RunResult) -> str:
    """N, the worker count when it is not 1, "pg" on Postgres (e.g. "500/2w/pg")."""
    workers = "" if r.workers == 1 else f"/{r.workers}w"
    return f"{r.n:,}{workers}{'/pg' if r.database == 'postgres' else ''}"


def lost_of(res: RunResult) -> int | None:
    """Lost = persisted, never delivered, in a phase that drained (None: nothing drained)."""
    drained = [ph for ph in (res.steady, res.load) if ph.sent and ph.drained]
    return sum(ph.undelivered for ph in drained) if drained else None


def report(results: list[RunResult]) -> list[str]:
    lines = [
        "steady = --steady-rate msg/s in total, drained; load = every session at --rate.",
        "msg/s in the load window: offered (sent), persisted (rows), delivered (partner deltas);",
        "latency = sender's send -> the partner's ChatState window delta, ms.",
        f"{'N/wk':>8} {'st.p50':>7} {'st.p99':>7} {'offered':>8} {'persist':>8} {'deliver':>8} "
        f"{'p50':>8} {'p99':>8} {'idle50':>7} {'lost':>5} {'dup':>4} {'KB/sess':>8} "
        f"{'CPU':>5} {'echo/s':>7} {'ins/s':>7}",
    ]
    for r in results:
        lost = lost_of(r)
        ld = r.load
        lines.append(
            f"{_label(r):>8} {pct(r.steady.latency, 0.5):>7.1f} {pct(r.steady.latency, 0.99):>7.1f} "
            f"{ld.offered:>8.0f} {ld.persisted_rate:>8.0f} {ld.delivered_rate:>8.0f} "
            f"{pct(ld.latency, 0.5):>8.0f} {pct(ld.latency, 0.99):>8.0f} {pct(r.idle, 0.5):>7.1f} "
            f"{'?' if lost is None else lost:>5} {r.duplicated:>4} {r.kb_per_session:>8.0f} "
            f"{ld.server_cpu:>4.0f}% {r.echo.rate:>7.0f} {r.insert_rate:>7.0f}"
        )
    lines.append("")
    for r in results:
        st = r.steady
        ceiling = 1000.0 / st.cpu_ms_per_msg if st.cpu_ms_per_msg else float("nan")
        lines.append(
            f"N={_label(r)}: worker CPU {st.cpu_ms_per_msg:.1f} ms per message at steady load -> "
            f"the workers top out near {ceiling * min(r.workers, os.cpu_count() or 1):,.0f} msg/s (services alone "
            f"{sum(r.services[k][1] * c for k, c in CALLS_PER_MESSAGE.items()):.1f} ms); no-DB "
            f"event round trip p50 {pct(r.reflex_rtt, 0.5):.1f} ms; socket layer per connection "
            f"{r.echo.kb_per_conn:.0f} KB (uvicorn) / {r.echo_aiohttp.kb_per_conn:.0f} KB (aiohttp "
            f"server); echo {r.echo.rate:,.0f}/s (uvicorn) / {r.echo_aiohttp.rate:,.0f}/s (aiohttp)"
        )
    lines.append("")
    big = max(results, key=lambda r: r.n)
    ld = big.load
    rate_ok = big.n >= 1_000 and min(ld.persisted_rate, ld.delivered_rate) >= TARGET_RATE
    lines.append(f"targets (2-core machine), rate/p99 judged on N={big.n:,}:")
    lines.append(
        f"  {'PASS' if rate_ok else 'MISS'}  >= {TARGET_RATE:,.0f} msg/s with 1,000 sessions: "
        f"persisted {ld.persisted_rate:,.0f}, delivered {ld.delivered_rate:,.0f} msg/s "
        f"(offered {ld.offered:,.0f})"
    )
    p99 = pct(ld.latency, 0.99)
    lines.append(
        f"  {'PASS' if rate_ok and p99 <= TARGET_P99_MS else 'MISS'}  p99 <= {TARGET_P99_MS:.0f} ms "
        f"at that rate: p99 {p99:,.0f} ms"
    )
    idle = [pct(r.idle, 0.5) for r in results]
    lines.append(
        f"  {'PASS' if all(v <= TARGET_IDLE_P50_MS for v in idle) else 'MISS'}  idle delivery p50 "
        f"<= {TARGET_IDLE_P50_MS:.0f} ms: "
        + ", ".join(f"N={_label(r)} {v:.1f} ms" for r, v in zip(results, idle, strict=True))
    )
    kb = [r.kb_per_session for r in results]
    lines.append(
        f"  {'PASS' if all(v <= TARGET_KB_PER_SESSION for v in kb) else 'MISS'}  <= "
        f"{TARGET_KB_PER_SESSION:.0f} KB RSS per session: "
        + ", ".join(f"N={_label(r)} {r.kb_per_session:.0f} KB" for r in results)
    )
    losts = [lost_of(r) for r in results]
    clean = all(v == 0 for v in losts) and all(r.duplicated == 0 for r in results)
    lines.append(
        f"  {'PASS' if clean else 'MISS'}  lost = duplicated = 0 (lost counted in drained phases): "
        + ", ".join(
            f"N={_label(r)} {'?' if v is None else v}/{r.duplicated}"
            for r, v in zip(results, losts, strict=True)
        )
    )
    return lines


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.realtime", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--sessions", type=int, nargs="+", help="N, even (50 500 1000)")
    parser.add_argument("--rate", type=float, default=1.0, help="msg/s per session in the load (1)")
    parser.add_argument("--seconds", type=float, help="seconds of load per N (20)")
    parser.add_argument("--drain", type=float, help="max seconds to wait for the backlog (15)")
    parser.add_argument(
        "--steady-rate", type=float, help="msg/s in total of the drained steady phase (15; 0: skip)"
    )
    parser.add_argument("--steady-seconds", type=float, help="seconds of steady load (10)")
    parser.add_argument("--history", type=int, default=0, help="seeded messages per thread (0)")
    parser.add_argument("--idle-messages", type=int, help="idle latency samples (40)")
    parser.add_argument("--echo-seconds", type=float, help="echo baseline seconds (5)")
    parser.add_argument("--inserts", type=int, help="raw insert transactions (2000)")
    parser.add_argument("--service-calls", type=int, help="in-process calls per service (200)")
    parser.add_argument("--connect-concurrency", type=int, default=25)
    parser.add_argument(
        "--wait-quiet",
        type=float,
        help="before each N and echo run, wait up to this many s for other processes to calm "
        "down (60; --quick 0; 0: off)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1],
        help="server workers (WEB_CONCURRENCY, 1); more than one runs Reflex's state and the realtime bus in "
        "Redis (--redis-url). Several values: each N runs with each, in the same run (1 2)",
    )
    parser.add_argument(
        "--state-manager",
        choices=("disk", "memory", "redis"),
        help="override Reflex's state manager (default: the app's, i.e. disk without REDIS_URL)",
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/13", help="its db is flushed"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        type=env_setting,
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the server (A/B of a setting, e.g. REFLEX_OPLOCK_ENABLED=true; "
        "REFLEX_* from the shell is not passed on)",
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="sqlite (a fresh file per run) or postgres (a fresh database per run on "
        "--pg-admin-url, dropped at the end; live updates then travel by LISTEN/NOTIFY)",
    )
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--deflate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="tabs offer websocket compression, as browsers do (yes; before 2026-12-06 the "
        "bench's tabs did not)",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the worker under load")
    parser.add_argument("--quick", action="store_true", help="N=20, 5 s of load (< 60 s)")
    args = parser.parse_args(argv)
    q = args.quick

    def default(name: str, quick: Any, full: Any) -> None:
        if getattr(args, name) is None:
            setattr(args, name, quick if q else full)

    default("sessions", [20], [50, 500, 1_000])
    default("seconds", 5.0, 20.0)
    default("drain", 5.0, 15.0)
    default("steady_rate", 10.0, 15.0)
    default("steady_seconds", 3.0, 10.0)
    default("idle_messages", 10, 40)
    default("echo_seconds", 2.0, 5.0)
    default("inserts", 300, 2_000)
    default("service_calls", 50, 200)
    default("wait_quiet", 0.0, 60.0)
    if any(n < 2 or n % 2 for n in args.sessions):
        parser.error("--sessions: even numbers >= 2 (operator-owner pairs)")
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        parser.error("needs aiohttp: .venv/bin/pip install aiohttp")

    signal.signal(signal.SIGTERM, _interrupt)
    # Before anything reads the settings: tokens minted here must verify on the server.
    secret = "bench-" + secrets.token_urlsafe(32)
    tmp = Path(tempfile.mkdtemp(prefix="arbibase-bench-rt-"))
    os.environ["JWT_SECRET"] = secret
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'default.db'}"
    os.environ["ATTACHMENTS_DIR"] = str(tmp / "attachments")
    os.environ.pop("REDIS_URL", None)
    started = time.perf_counter()
    results: list[RunResult] = []
    facts = machine_facts()
    try:
        for line in facts:
            out(line)
        out(
            f"plan      N = {' '.join(f'{n:,}' for n in args.sessions)}; idle x{args.idle_messages}; "
            f"steady {args.steady_rate:g} msg/s x {args.steady_seconds:g} s; load {args.rate:g} "
            f"msg/s per session x {args.seconds:g} s, drain <= {args.drain:g} s; history "
            f"{args.history}/thread; tabs offer permessage-deflate: "
            f"{'yes' if args.deflate else 'no'}{'  (--quick)' if q else ''}"
        )
        for n in args.sessions:
            same_n: list[RunResult] = []
            for workers_n in args.workers:
                out("")
                out(
                    f"=== N = {n:,} sessions ({n // 2:,} threads), {workers_n} worker(s), "
                    f"{args.database}"
                )
                if args.wait_quiet:
                    asyncio.run(wait_quiet(args.wait_quiet))
                one = asyncio.run(run_one(n, workers_n, args, tmp, secret))
                print_run(one, args)
                same_n.append(one)
            res = same_n[-1]
            db = res.url
            res.insert_rate, res.insert_ms = raw_insert_rate(db, args.inserts)
            out(
                f"  raw: 1-row insert txn on the same {args.database} database "
                f"{res.insert_rate:,.0f}/s "
                f"(p50 {pct(res.insert_ms, 0.5):.2f} ms, p99 {pct(res.insert_ms, 0.99):.2f} ms)"
            )
            res.services = service_costs(db, _pop_from(db), args.service_calls)
            budget = sum(res.services[k][1] * c for k, c in CALLS_PER_MESSAGE.items())
            out(
                "  raw: services one message costs (in-process; CPU ms per call x calls): "
                + ", ".join(
                    f"{k} {res.services[k][1]:.2f}x{c}" for k, c in CALLS_PER_MESSAGE.items()
                )
                + f" = {budget:.1f} ms CPU per message (wall p50 per call: "
                + ", ".join(f"{k} {res.services[k][0]:.2f}" for k in CALLS_PER_MESSAGE)
                + " ms)"
            )
            for server in ("uvicorn", "aiohttp"):
                if args.wait_quiet:
                    asyncio.run(wait_quiet(args.wait_quiet))
                e = asyncio.run(echo_bench(n, args.echo_seconds, server))
                if server == "uvicorn":
                    res.echo = e
                else:
                    res.echo_aiohttp = e
                warn = (
                    f" (WARNING: others used {e.others:.0f}% of the machine)"
                    if e.others >= 5
                    else ""
                )
                out(
                    f"  raw: python-socketio echo on {server} (1 process), {n:,} clients in a closed "
                    f"loop: {e.rate:,.0f}/s, rtt {ms(e.rtt)}; server {e.server_cpu:.0f}% CPU, "
                    f"client {e.client_cpu:.0f}%; {e.kb_per_conn:.0f} KB RSS per connection{warn}"
                )
            # The raw limits are the machine's: measured once per N, shown on every run of it.
            for other in same_n[:-1]:
                other.insert_rate, other.insert_ms = res.insert_rate, res.insert_ms
                other.services, other.echo, other.echo_aiohttp = (
                    res.services,
                    res.echo,
                    res.echo_aiohttp,
                )
            results.extend(same_n)
            if args.database == "postgres":
                for one in same_n:
                    drop_pg_database(one.url, admin_url=args.pg_admin_url)
    except KeyboardInterrupt:
        out("interrupted: cleaning up")
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out("")
    out("=== summary")
    for line in facts:
        out(line)
    for line in report(results):
        out(line)
    out(f"total run time {time.perf_counter() - started:.0f} s")
    return 0


def _pop_from(url: str) -> Population:
    """The first pair of a seeded database (for the in-process service costs)."""
    from sqlalchemy import text

    from arbibase_chat import db as dbmod

    with dbmod.get_engine(url).connect() as conn:
        tid, op, ow = conn.execute(
            text(
                "SELECT id, operator_id, owner_id FROM messaging_threads"
                " ORDER BY created_at, id LIMIT 1"
            )
        ).one()
    return Population(
        user_ids=[uuid.UUID(str(op)), uuid.UUID(str(ow))],
        emails=["", ""],
        thread_ids=[uuid.UUID(str(tid))],
    )


if __name__ == "__main__":
    sys.exit(main())
