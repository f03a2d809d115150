"""Hub push vs rx.SharedState: the same chat room both ways, measured in one run (issue 3).

    .venv/bin/python -m bench.sharedstate [--members 2 10] [--rooms 20 4] [--rate 20]
        [--seconds 8] [--burst 1500 400] [--workers 1 2] [--quick]

The app is bench/sharedstate/ (its own rxconfig.py, package `sharedbench`): a room kept
as (a) `HubRoom` ("hub"), a normal rx.State per tab whose `say` appends to the sender's items
and pushes the line to every other member registered in this worker process with
`app.modify_state(rx.BaseStateToken(ident=token, cls=HubRoom))` in a task (what
arbibase_chat/realtime/delivery.py does); (a') `BusRoom` ("hubbus", only with W > 1): the same
hub, but the line goes over Redis pub/sub to every worker's hub (as realtime/bus.py); (b)
`SharedRoom` ("shared"), an rx.SharedState linked per room (`_link_to(room)`), whose `say`
appends to the shared items; Reflex fans the change out to the other linked tokens. All keep
a window of the last 200 lines and send it whole. The hub variants run in a build of the app
without the SharedState class (as the product), unless --hub-with-shared.

For each worker count W (1: memory state manager; 2: Redis state, REDIS_URL db flushed), each
room size M and each variant, a fresh `reflex run --env prod` server (tests/e2e/server.py's
LiveServer; web build in bench/sharedstate/web, git-ignored) and R rooms x M simulated
browser tabs over Reflex's Socket.IO protocol (token in the URL, hydrate in the CONNECT auth
payload with the compiled state schema and hashes, as bench/realtime.py's Tab does). Phases:
join; worker RSS before/after the tabs (KB per session); idle (one line at a
time); steady (--rate lines/s in total, open loop, drained: latency, worker CPU per line,
lost/duplicated); burst (--burst lines/s offered in total, open loop: the rate actually
delivered); a push from outside any tab's event (HTTP route on the server: hub push
vs app.modify_state on the room's shared token); a tab's reconnect with the same token after
missing two lines. Lines are "<tab> <seq> <send time> <text>": latency = arrival - send time,
both on this process's clock. See bench/SHAREDSTATE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.common import loadavg, pct
from bench.realtime import CpuMeter, OthersMeter, Workers, machine_facts
from tests.e2e.server import LiveServer, server_env

PROJECT_ROOT = Path(__file__).resolve().parents[1]
APP_DIR = PROJECT_ROOT / "bench" / "sharedstate"
WEB_DIR = APP_DIR / "web"  # git-ignored; never the project's .web / .web-e2e
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
NAMESPACE = "/_event"
ROOT_STATE = "reflex___state____state"
#: hub: per-process registry (only this worker's tabs); hubbus: the same hub fed over Redis
#: pub/sub (every worker's hub hears every line; only with W > 1); shared: rx.SharedState.
VARIANTS = ("hub", "hubbus", "shared")
TEXT = "can we confirm the lease terms for june?"


def out(line: str = "") -> None:
    print(line, flush=True)


# --- names of the compiled states ----------------------------------------------------------


@dataclass(frozen=True)
class Names:
    hub: str
    bus: str
    shared: str
    meta: str
    schema: str | None
    hashes: list[str] | None

    def room(self, variant: str) -> str:
        return {"hub": self.hub, "hubbus": self.bus}.get(variant, self.shared)


def state_names() -> Names:
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    from sharedbench.shared import SharedRoom  # type: ignore[import-not-found,unused-ignore]
    from sharedbench.states import BusRoom, HubRoom, Meta  # type: ignore[import-not-found,unused-ignore]

    schema = hashes = None
    with contextlib.suppress(OSError):
        text = (WEB_DIR / "utils" / "context.jsx").read_text()
        if m := re.search(r'export const stateSchema = "([^"]+)"', text):
            schema = m.group(1)
        if m := re.search(r"export const initialStateHashes = (\[[^\]]*\])", text):
            hashes = json.loads(m.group(1))
    return Names(
        hub=HubRoom.get_full_name(),
        bus=BusRoom.get_full_name(),
        shared=SharedRoom.get_full_name(),
        meta=Meta.get_full_name(),
        schema=schema,
        hashes=hashes,
    )


# --- one simulated tab ---------------------------------------------------------------------


@dataclass
class Delivery:
    key: tuple[str, int]  # (sender, seq)
    at: float
    latency_ms: float


class Client:
    """One browser tab on "/", in one room, speaking through one variant's state."""

    def __init__(
        self, idx: int, room: str, variant: str, names: Names, base_url: str, http: Any
    ) -> None:
        self.idx = idx
        self.tag = str(idx)
        self.room = room
        self.variant = variant
        self.names = names
        self.state = names.room(variant)
        self.base_url = base_url
        self.http = http
        self.token = str(uuid.uuid4())
        self.pid = 0
        self.seq = 0
        self.got: dict[tuple[str, int], Delivery] = {}
        self.confirmed: dict[int, float] = {}
        self.dup_keys: set[tuple[str, int]] = set()  # a line twice in one list
        self.deltas = 0
        self.items: list[str] = []
        self.hydrated = asyncio.Event()
        self.joined = asyncio.Event()
        self.answered = asyncio.Event()
        self.sio: Any = None

    def _router_data(self) -> dict[str, Any]:
        return {"pathname": "/", "asPath": "/", "query": {}}

    async def connect(self, first: bool = True, timeout: float = 30.0) -> None:
        import socketio  # type: ignore[import-untyped]

        self.hydrated.clear()
        self.sio = socketio.AsyncClient(
            reconnection=False, handle_sigint=False, http_session=self.http, request_timeout=30
        )
        self.sio.on("event", self._on_event, namespace=NAMESPACE)
        payload: dict[str, Any] = {}
        if first and self.names.hashes:
            payload["hashes"] = self.names.hashes  # a reconnect rehydrates in full, as state.js
        auth: dict[str, Any] = {
            "event": {
                "name": f"{ROOT_STATE}.hydrate_and_load",
                "payload": payload,
                "router_data": self._router_data(),
            }
        }
        if self.names.schema:
            auth["state_schema"] = self.names.schema
        await self.sio.connect(
            f"{self.base_url}?token={self.token}",
            headers={"Origin": self.base_url},
            auth=auth,
            transports=["websocket"],
            namespaces=[NAMESPACE],
            socketio_path="/_event",
            wait_timeout=timeout,
        )
        await asyncio.wait_for(self.hydrated.wait(), timeout)

    async def emit(self, handler: str, payload: dict[str, Any]) -> None:
        await self.sio.emit(
            "event",
            {
                "name": f"{self.state}.{handler}",
                "payload": payload,
                "router_data": self._router_data(),
            },
            namespace=NAMESPACE,
        )

    async def join(self, timeout: float = 30.0) -> None:
        await self.emit("join", {"room": self.room})
        await asyncio.wait_for(self.joined.wait(), timeout)

    async def whoami(self, timeout: float = 10.0) -> int:
        """The pid of the worker holding this socket now."""
        self.answered.clear()
        await self.sio.emit(
            "event",
            {
                "name": f"{self.names.meta}.whoami",
                "payload": {},
                "router_data": self._router_data(),
            },
            namespace=NAMESPACE,
        )
        await asyncio.wait_for(self.answered.wait(), timeout)
        return self.pid

    async def say(self) -> tuple[str, int, float]:
        self.seq += 1
        now = time.time()
        await self.emit("say", {"text": f"{self.tag} {self.seq} {now:.6f} {TEXT}"})
        return self.tag, self.seq, now

    async def close(self) -> None:
        if self.sio is not None:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()

    def _on_event(self, update: Any) -> None:
        now = time.time()
        if not isinstance(update, dict):
            return
        self.deltas += 1
        delta = update.get("delta") or {}
        root = delta.get(ROOT_STATE)
        if root and root.get("is_hydrated_rx_state_") is True:
            self.hydrated.set()
        meta = delta.get(self.names.meta)
        if meta and meta.get("pid_rx_state_"):
            self.pid = int(meta["pid_rx_state_"])
            self.joined.set()
        if meta and "asked_rx_state_" in meta:
            self.answered.set()
        room = delta.get(self.state)
        if room and "items_rx_state_" in room:
            self._lines(room["items_rx_state_"], now)

    def _lines(self, items: list[str], now: float) -> None:
        self.items = items
        seen: collections.Counter[tuple[str, int]] = collections.Counter()
        for line in items:
            parts = line.split(" ", 3)
            if len(parts) < 3:
                continue
            key = (parts[0], int(parts[1]))
            seen[key] += 1
            if parts[0] == self.tag:
                self.confirmed.setdefault(key[1], now)
            elif key not in self.got:
                self.got[key] = Delivery(key, now, (now - float(parts[2])) * 1000.0)
        self.dup_keys.update(k for k, c in seen.items() if c > 1)


# --- phases --------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    sent: list[tuple[str, int, float, str]] = field(default_factory=list)  # tag, seq, t, room
    t0: float = 0.0
    t_send_end: float = 0.0
    t_end: float = 0.0
    cpu_ms: float = 0.0
    redis_cpu_ms: float = 0.0
    driver_cpu_pct: float = 0.0
    others_pct: float = 0.0
    lag_ms: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    expected: int = 0
    delivered: int = 0
    lost_same: int = 0
    lost_cross: int = 0
    last_delivery: float = 0.0
    drained: str = ""


def expected_of(
    ph: Phase, members: dict[str, list[Client]]
) -> list[tuple[Client, tuple[str, int], str]]:
    todo = []
    for tag, seq, _t, room in ph.sent:
        for c in members[room]:
            if c.tag != tag:
                todo.append((c, (tag, seq), tag))
    return todo


def count_delivered(todo: list[tuple[Client, tuple[str, int], str]]) -> int:
    return sum(1 for c, key, _ in todo if key in c.got)


async def drain(
    todo: list[tuple[Client, tuple[str, int], str]], max_wait: float, quiet: float
) -> str:
    """Until every delivery arrived ("complete"), nothing arrived for `quiet` s ("quiet": the
    rest is lost), or `max_wait` s while still delivering ("timeout": the rest is backlog)."""
    deadline = time.monotonic() + max_wait
    last, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = count_delivered(todo)
        if n == len(todo):
            return "complete"
        if n != last:
            last, last_change = n, time.monotonic()
        elif time.monotonic() - last_change > quiet:
            return "quiet"
        await asyncio.sleep(0.1)
    return "timeout"


def judge(
    ph: Phase,
    todo: list[tuple[Client, tuple[str, int], str]],
    by_tag: dict[str, Client],
) -> None:
    ph.expected = len(todo)
    for c, key, tag in todo:
        d = c.got.get(key)
        if d is None:
            if by_tag[tag].pid == c.pid:
                ph.lost_same += 1
            else:
                ph.lost_cross += 1
            continue
        ph.delivered += 1
        ph.latencies.append(d.latency_ms)
        ph.last_delivery = max(ph.last_delivery, d.at)


class Meters:
    def __init__(self, workers: Workers, redis_proc: psutil.Process | None) -> None:
        self.cpu = CpuMeter(*workers.procs)
        self.redis = CpuMeter(redis_proc) if redis_proc is not None else None
        self.me = CpuMeter(psutil.Process())
        self.others = OthersMeter()

    def start(self) -> None:
        self.cpu.start()
        self.me.start()
        self.others.start()
        if self.redis:
            self.redis.start()

    def stop(self, ph: Phase) -> None:
        ph.cpu_ms = self.cpu.seconds() * 1000.0
        ph.driver_cpu_pct = self.me.percent()
        ph.others_pct = self.others.percent()
        if self.redis:
            ph.redis_cpu_ms = self.redis.seconds() * 1000.0


async def run_phase(
    name: str,
    clients: list[Client],
    members: dict[str, list[Client]],
    meters: Meters,
    *,
    rate: float,
    seconds: float,
    max_drain: float,
    sequential: bool = False,
) -> Phase:
    """Open loop: `rate` lines/s in total from random tabs for `seconds`, then drained.
    `sequential`: one line at a time, each awaited at every member (idle latency)."""
    ph = Phase(name)
    by_tag = {c.tag: c for c in clients}
    rng = random.Random(name)
    n = max(1, int(rate * seconds))
    meters.start()
    ph.t0 = time.time()
    start = time.monotonic()
    for i in range(n):
        c = rng.choice(clients)
        if sequential:
            tag, seq, t = await c.say()
            ph.sent.append((tag, seq, t, c.room))
            await drain(expected_of(Phase(name, sent=[ph.sent[-1]]), members), 3.0, 0.5)
            await asyncio.sleep(1.0 / rate)
            continue
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        ph.lag_ms.append(max(0.0, -delay) * 1000.0)
        tag, seq, t = await c.say()
        ph.sent.append((tag, seq, t, c.room))
    ph.t_send_end = time.time()
    todo = expected_of(ph, members)
    ph.drained = await drain(todo, max_drain, quiet=3.0)
    ph.t_end = time.time()
    meters.stop(ph)
    judge(ph, todo, by_tag)
    return ph


# --- server --------------------------------------------------------------------------------


def redis_process(port: int = 6379) -> psutil.Process | None:
    for p in psutil.process_iter(["name"]):
        with contextlib.suppress(psutil.Error):
            if p.info["name"] == "redis-server" and any(
                c.laddr and c.laddr.port == port for c in p.net_connections("tcp")
            ):
                return p
    return None


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def http_json(url: str, method: str = "GET", timeout: float = 10.0) -> dict[str, Any]:
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        data: dict[str, Any] = json.loads(resp.read())
        return data


@dataclass
class Result:
    workers: int
    members: int
    variant: str
    rooms: int
    sessions: int
    kb_per_session: float = float("nan")
    worker_pids: int = 0
    cross_rooms: int = 0
    idle: Phase | None = None
    steady: Phase | None = None
    burst: Phase | None = None
    outside: str = ""
    reconnect: str = ""
    linked_from_after: str = ""
    load: str = ""
    error: str = ""
    duplicates: int = 0


async def run_config(
    args: argparse.Namespace,
    names: Names,
    workers: int,
    m: int,
    rooms: int,
    variant: str,
    burst: float,
) -> Result:
    import aiohttp

    res = Result(workers, m, variant, rooms, rooms * m)
    tmp = Path(tempfile.mkdtemp(prefix="sharedbench-"))
    # The hub variants run in an app without any rx.SharedState, like the product
    # (--hub-with-shared: with it, to see what merely defining one costs every event).
    with_shared = variant == "shared" or args.hub_with_shared
    extra = {"WEB_CONCURRENCY": str(workers), "SHAREDBENCH_SHARED": "1" if with_shared else "0"}
    if workers > 1:
        flush_redis(args.redis_url)
        extra["REDIS_URL"] = args.redis_url
    env = server_env(f"sqlite:///{tmp / 'unused.db'}", tmp, WEB_DIR, extra)
    log = ARTIFACTS / f"bench-sharedstate-w{workers}-m{m}-{variant}.log"
    server = LiveServer(env=env, cwd=APP_DIR, log_path=log)
    clients: list[Client] = []
    http: aiohttp.ClientSession | None = None
    try:
        server.start()
        server.wait_ready(300)
        names = state_names()  # this build's state schema and hashes
        assert server.proc is not None
        wk = Workers(server.proc.pid)
        redis_proc = redis_process() if workers > 1 else None
        meters = Meters(wk, redis_proc)
        await asyncio.sleep(1.0)
        rss0 = wk.rss_kb()
        http = aiohttp.ClientSession()
        members: dict[str, list[Client]] = {}
        for r in range(rooms):
            room = f"room-{r}"  # shared tokens may not contain "_"
            members[room] = [
                Client(r * m + k, room, variant, names, server.url, http) for k in range(m)
            ]
            clients.extend(members[room])
        sem = asyncio.Semaphore(20)

        async def up(c: Client) -> None:
            async with sem:
                await c.connect()
                await c.join()

        await asyncio.gather(*(up(c) for c in clients))
        await asyncio.sleep(1.0)
        res.kb_per_session = (wk.rss_kb() - rss0) / len(clients)
        pids = {c.pid for c in clients}
        res.worker_pids = len(pids)
        res.cross_rooms = sum(1 for ms in members.values() if len({c.pid for c in ms}) > 1)

        # Verify with one line in room 0 (all members must see it), then the phases.
        res.idle = await run_phase(
            "idle",
            clients,
            members,
            meters,
            rate=10.0,
            seconds=args.idle / 10.0,
            max_drain=5.0,
            sequential=True,
        )
        res.load = loadavg()
        res.steady = await run_phase(
            "steady",
            clients,
            members,
            meters,
            rate=args.rate,
            seconds=args.seconds,
            max_drain=args.drain,
        )
        res.burst = await run_phase(
            "burst",
            clients,
            members,
            meters,
            rate=burst,
            seconds=args.burst_seconds,
            max_drain=args.drain,
        )
        res.outside = await outside_push(server.url, variant, members)
        res.reconnect = await reconnect(members["room-0"])
        res.duplicates = sum(len(c.dup_keys) for c in clients)
        for c in clients:
            await c.close()
        await asyncio.sleep(0.5)
        info = http_json(f"{server.url}/bench/info?room=room-0")
        if variant == "shared":
            res.linked_from_after = f"{info.get('shared_linked_from')} of {m} tabs (all closed)"
        else:
            key = "bus_members" if variant == "hubbus" else "hub_members"
            res.linked_from_after = (
                f"{info.get(key)} still registered on the worker that answered (all closed)"
            )
    except Exception as exc:  # a failed config is reported, the run goes on
        res.error = f"{type(exc).__name__}: {exc}"
        out(f"  ERROR {res.error} (server log: {log})")
    finally:
        for c in clients:
            await c.close()
        if http is not None:
            await http.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return res


async def outside_push(
    base_url: str, variant: str, members: dict[str, list[Client]], rooms: int = 4
) -> str:
    """A line pushed from an HTTP route (no tab's event): does every member get it?"""
    todo: list[tuple[Client, tuple[str, int]]] = []
    loop = asyncio.get_running_loop()
    for k, room in enumerate(list(members)[:rooms]):
        line = f"ext {k} {time.time():.6f} pushed from outside"
        url = f"{base_url}/bench/push/{variant}?room={room}&text=" + urllib.parse.quote(line)
        await loop.run_in_executor(None, http_json, url, "POST")
        todo.extend((c, ("ext", k)) for c in members[room])
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        if all(key in c.got for c, key in todo):
            break
        await asyncio.sleep(0.1)
    got = sum(1 for c, key in todo if key in c.got)
    return f"{got}/{len(todo)}"


async def reconnect(room: list[Client]) -> str:
    """Tab 0 drops, tab 1 says two lines, tab 0 comes back with the same token (a reload of
    the same browser tab). Caught up on hydrate? Live again without joining again?"""
    x, y = room[0], room[1]
    before = x.pid
    await x.close()
    await asyncio.sleep(0.3)
    missed = [await y.say(), await y.say()]
    await asyncio.sleep(1.0)
    x.items = []
    try:
        await x.connect(first=False)
    except Exception as exc:
        return f"reconnect failed: {type(exc).__name__}"
    await asyncio.sleep(0.5)
    now_on = await x.whoami()
    where = "same worker" if now_on == before else "other worker"
    caught = sum(
        1 for tag, seq, _ in missed if any(li.startswith(f"{tag} {seq} ") for li in x.items)
    )
    tag, seq, _ = await y.say()
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and (tag, seq) not in x.got:
        await asyncio.sleep(0.05)
    live = "live after" if (tag, seq) in x.got else "NOT live after"
    return f"back on the {where}: missed lines on hydrate {caught}/2, {live}"


# --- report --------------------------------------------------------------------------------


def f1(x: float) -> str:
    return "-" if x != x else f"{x:.1f}"


def row(res: Result) -> str:
    head = f"{res.workers:>2} {res.members:>3} {res.variant:<7} {res.sessions:>4}"
    if res.error or res.steady is None or res.burst is None or res.idle is None:
        return f"{head}  ERROR {res.error}"
    st, bu, idle = res.steady, res.burst, res.idle
    n = len(st.sent) or 1
    cpu_msg = st.cpu_ms / n
    cpu_del = st.cpu_ms / max(1, st.expected)
    span = max(bu.last_delivery, bu.t_send_end) - bu.t0
    # Lines/s delivered to every member it could reach (cross-worker losses are structural).
    reachable = max(1, bu.expected - bu.lost_cross)
    sustained = len(bu.sent) * bu.delivered / reachable / max(span, 1e-9)
    offered = len(bu.sent) / max(bu.t_send_end - bu.t0, 1e-9)
    # Undelivered after a drain that timed out while still delivering is backlog, not loss.
    lost = sum(p.lost_same + p.lost_cross for p in (st, bu) if p.drained != "timeout")
    cross = sum(p.lost_cross for p in (st, bu) if p.drained != "timeout")
    backlog = "" if bu.drained != "timeout" else f"  (burst backlog {bu.expected - bu.delivered})"
    ceiling = 1000.0 * res.workers / max(bu.cpu_ms / max(1, len(bu.sent)), 1e-9)
    redis = f"{st.redis_cpu_ms / n:5.1f}" if res.workers > 1 else "    -"
    return (
        f"{head} {f1(pct(idle.latencies, 0.5)):>6} {f1(pct(st.latencies, 0.5)):>6} "
        f"{f1(pct(st.latencies, 0.95)):>6} {f1(pct(st.latencies, 0.99)):>6} "
        f"{offered:>6.0f} {sustained:>6.0f} {ceiling:>6.0f} {f1(pct(bu.latencies, 0.5)):>7} "
        f"{cpu_msg:>6.2f} {cpu_del:>6.2f} {redis} {res.kb_per_session:>6.0f} "
        f"{lost:>5} {cross:>5} {res.duplicates:>4} {bu.driver_cpu_pct:>4.0f}% "
        f"{max(st.others_pct, bu.others_pct):>4.0f}%{backlog}"
    )


HEADER = (
    " W   M variant    N idle50  st.50  st.95  st.99 offer/s  sust/s  ceil/s bu.p50 "
    "cpu/msg cpu/dl redis KB/ses  lost cross  dup  drv other"
)


def describe(res: Result) -> list[str]:
    lines = [
        f"W={res.workers} M={res.members} {res.variant}: {res.rooms} rooms, "
        f"{res.sessions} tabs on {res.worker_pids} worker(s), "
        f"{res.cross_rooms} rooms spanning workers, load avg {res.load}"
    ]
    if res.error:
        lines.append(f"  ERROR {res.error}")
        return lines
    for ph in (res.idle, res.steady, res.burst):
        if ph is None:
            continue
        n = len(ph.sent)
        lines.append(
            f"  {ph.name:<6} sent {n:>5}  delivered {ph.delivered}/{ph.expected} "
            f"(undelivered same-worker {ph.lost_same}, cross-worker {ph.lost_cross}; "
            f"drain {ph.drained or '-'})  "
            f"p50 {f1(pct(ph.latencies, 0.5))} p95 {f1(pct(ph.latencies, 0.95))} "
            f"p99 {f1(pct(ph.latencies, 0.99))} max {f1(max(ph.latencies, default=float('nan')))} ms  "
            f"worker CPU {ph.cpu_ms / max(n, 1):.2f} ms/line  "
            f"send lag p99 {f1(pct(ph.lag_ms, 0.99))} ms  driver {ph.driver_cpu_pct:.0f}% "
            f"others {ph.others_pct:.0f}%"
        )
    lines.append(f"  outside push (HTTP route) reached {res.outside} members")
    lines.append(f"  reconnect same token: {res.reconnect}")
    lines.append(f"  room-0 after every tab closed: {res.linked_from_after}")
    lines.append(f"  lines shown twice in one list (duplicates): {res.duplicates}")
    return lines


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


async def amain(args: argparse.Namespace) -> int:
    for fact in machine_facts():
        out(fact)
    out(f"args      {vars(args)}")
    if not (WEB_DIR / "utils" / "context.jsx").exists():
        out("building the bench app's frontend once (a warm start follows)")
        tmp = Path(tempfile.mkdtemp(prefix="sharedbench-"))
        env = server_env(f"sqlite:///{tmp / 'unused.db'}", tmp, WEB_DIR, {})
        srv = LiveServer(env=env, cwd=APP_DIR, log_path=ARTIFACTS / "bench-sharedstate-build.log")
        try:
            srv.start()
            srv.wait_ready(600)
        finally:
            srv.stop()
            shutil.rmtree(tmp, ignore_errors=True)
    names = state_names()
    results: list[Result] = []
    t_start = time.monotonic()
    for w in args.workers:
        for m, rooms, burst in zip(args.members, args.rooms, args.burst, strict=True):
            for variant in VARIANTS:
                if variant == "hubbus" and w == 1:
                    continue  # without Redis it is the hub variant
                out(f"\n--- W={w} M={m} {variant} ({rooms} rooms, {rooms * m} tabs) ---")
                res = await run_config(args, names, w, m, rooms, variant, burst)
                results.append(res)
                for line in describe(res):
                    out(line)
    out(f"\nfinished in {time.monotonic() - t_start:.0f} s; load {loadavg()}")
    out("\n" + HEADER)
    for res in results:
        out(row(res))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sharedstate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--members", type=int, nargs="+", default=[2, 10], help="M (2 10)")
    parser.add_argument("--rooms", type=int, nargs="+", help="rooms per M (20 4: 40 tabs each)")
    parser.add_argument("--rate", type=float, help="steady lines/s in total (20)")
    parser.add_argument("--seconds", type=float, help="steady seconds (8)")
    parser.add_argument(
        "--burst",
        type=float,
        nargs="+",
        help="burst lines/s offered in total, one value or one per --members value (1500 400; "
        "--quick 1000 200)",
    )
    parser.add_argument("--burst-seconds", type=float, help="burst seconds (3)")
    parser.add_argument("--idle", type=int, help="idle lines, one at a time (20)")
    parser.add_argument("--drain", type=float, help="max drain seconds per phase (25)")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        help="server workers (WEB_CONCURRENCY); >1 runs Redis state (1 2)",
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/12", help="its db is flushed"
    )
    parser.add_argument(
        "--hub-with-shared",
        action="store_true",
        help="run the hub variants in the app with the SharedState room defined too",
    )
    parser.add_argument("--quick", action="store_true", help="short phases, 1 worker (< 2 min)")
    args = parser.parse_args(argv)
    q = args.quick

    def default(name: str, quick: Any, full: Any) -> None:
        if getattr(args, name) is None:
            setattr(args, name, quick if q else full)

    default("rate", 20.0, 20.0)
    default("seconds", 3.0, 8.0)
    default("burst", [1000.0, 200.0], [1500.0, 400.0])
    default("burst_seconds", 2.0, 3.0)
    default("idle", 5, 20)
    default("drain", 10.0, 25.0)
    default("workers", [1], [1, 2])
    if args.rooms is None:
        args.rooms = [max(1, 40 // m) for m in args.members]
    if len(args.rooms) == 1:
        args.rooms = args.rooms * len(args.members)
    if len(args.rooms) != len(args.members):
        parser.error("--rooms takes one value, or one per --members value")
    if len(args.burst) == 1:
        args.burst = args.burst * len(args.members)
    elif len(args.burst) != len(args.members):
        args.burst = [args.burst[min(i, len(args.burst) - 1)] for i in range(len(args.members))]
    signal.signal(signal.SIGTERM, _interrupt)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return asyncio.run(amain(args))


if __name__ == "__main__":
    raise SystemExit(main())
