"""Login load benchmark: `GET /api/me` latency while parallel logins hash passwords.

    .venv/bin/python -m bench.login [--logins 24] [--seconds 10] [--threads 0 1 2]

Pen test finding 7: 24 parallel logins raised `/api/me` from 10 to 125 ms, because every
login's argon2 verify (production parameters: argon2id, 64 MiB, t=3, p=4) ran on the shared
thread pool that every other request needs too. This runs the API (`create_api`, the same
FastAPI app the Reflex server mounts) under uvicorn (h11, as the production server's worker), on a fresh SQLite database
with one account whose hash has the production parameters, and for each PASSWORD_HASHING_THREADS
value (0 = the shared pool, as before the bound; 1, 2 = that many password threads):

1. idle: `GET /api/me` 20 times a second for --seconds, open loop (each request timed on its
   own: a stalled answer does not hold back the next request), p50 / p95 / max;
2. load: the same, once --logins clients each posting `POST /api/auth/login` back to back
   (closed loop, the right password) got their first answers; logins/s (counted from the
   start of the load) and their p50 / p95, the server's CPU while /api/me was sampled.

The sign-in / sign-up limits are off for these runs (they would answer most of the load with
429 and nothing would be hashed: that is the last run, "limits on", with the defaults).
Everything runs on this machine: the numbers include the load generator's own CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

JWT_SECRET = "bench-" + secrets.token_urlsafe(32)
os.environ["JWT_SECRET"] = JWT_SECRET

import httpx  # noqa: E402
import psutil  # noqa: E402

from arbibase_chat import db as dbmod  # noqa: E402
from arbibase_chat import migrations  # noqa: E402
from arbibase_chat.services import accounts, tokens  # noqa: E402
from bench.common import free_port, machine_facts, pct  # noqa: E402

EMAIL = "bench.login@example.com"
PASSWORD = "bench login password 1"
LIMITS_OFF = {
    "SIGN_IN_PAIR_BURST": "0",
    "SIGN_IN_CLIENT_BURST": "0",
    "SIGN_IN_ACCOUNT_BURST": "0",
    "SIGN_UP_CLIENT_BURST": "0",
}


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def cpu_seconds(self) -> float:
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                t = p.cpu_times()
                total += t.user + t.system
        return total


def start_server(database_url: str, extra: dict[str, str], log: Path) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "REDIS_URL": "",
        "SEND_RATE_BURST": "0",
        **extra,
    }
    for key in ("SUPABASE_URL",):
        env.pop(key, None)
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",  # the production server's worker (rxconfig.py: gunicorn + uvicorn)
        "--http",
        "h11",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "arbibase_chat.api.app:create_api",
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}); see {log}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url + "/api/me", timeout=1).status_code == 401:
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server not ready; see {log}")


async def _sample_me(url: str, token: str, seconds: float, every: float) -> list[float]:
    """Open loop: one `GET /api/me` every `every` s for `seconds`, each timed on its own (a slow
    answer does not delay the next request, so stalls count as often as they happen)."""
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=120, limits=limits
    ) as client:
        await client.get("/api/me")  # connect + warm up

        async def one() -> float:
            t0 = time.perf_counter()
            res = await client.get("/api/me")
            res.raise_for_status()
            return (time.perf_counter() - t0) * 1000

        tasks = []
        start = time.monotonic()
        n = 0
        while (due := start + n * every) < start + seconds:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(one()))
            n += 1
        return list(await asyncio.gather(*tasks))


def sample_me(url: str, token: str, seconds: float, every: float = 0.05) -> list[float]:
    """`_sample_me` on its own thread and event loop (apart from the login clients)."""
    out: list[list[float]] = []
    worker = threading.Thread(
        target=lambda: out.append(asyncio.run(_sample_me(url, token, seconds, every)))
    )
    worker.start()
    worker.join()
    return out[0]


async def login_load(
    url: str, clients: int, stop: threading.Event, started: threading.Event
) -> tuple[list[float], dict[int, int]]:
    latencies: list[float] = []
    codes: dict[int, int] = {}

    async def one() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=300) as client:
            while not stop.is_set():
                t0 = time.perf_counter()
                res = await client.post(
                    "/api/auth/login", json={"email": EMAIL, "password": PASSWORD}
                )
                started.set()
                if not stop.is_set():
                    latencies.append((time.perf_counter() - t0) * 1000)
                    codes[res.status_code] = codes.get(res.status_code, 0) + 1

    await asyncio.gather(*(one() for _ in range(clients)))
    return latencies, codes


def measure(server: Server, token: str, logins: int, seconds: float) -> dict[str, object]:
    idle = sample_me(server.url, token, seconds)

    stop, started = threading.Event(), threading.Event()
    result: dict[str, object] = {}

    def run_load() -> None:
        result["load"] = asyncio.run(login_load(server.url, logins, stop, started))

    loader = threading.Thread(target=run_load)
    load_t0 = time.monotonic()
    loader.start()
    # Steady state: every client has sent its first login and the first answers came back.
    started.wait(120)
    cpu0, t0 = server.cpu_seconds(), time.monotonic()
    loaded = sample_me(server.url, token, seconds)
    cpu1, t1 = server.cpu_seconds(), time.monotonic()
    stop.set()
    loader.join()
    login_ms, codes = result["load"]  # type: ignore[misc]
    return {
        "idle": idle,
        "loaded": loaded,
        "login_ms": login_ms,
        "codes": codes,
        "cpu": (cpu1 - cpu0) / (t1 - t0),
        "elapsed": t1 - load_t0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=24, help="parallel login clients")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-limits-run", action="store_true", help="skip the last run")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-login-"))
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    migrations.upgrade(database_url)
    engine = dbmod.get_engine(database_url)
    t0 = time.perf_counter()
    user = accounts.sign_up(
        email=EMAIL, password=PASSWORD, display_name="Bench", role="operator", db=engine
    )
    hash_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    accounts.authenticate(email=EMAIL, password=PASSWORD, db=engine)
    verify_ms = (time.perf_counter() - t0) * 1000
    dbmod.dispose_engine(database_url)
    token = tokens.issue_access_token(user_id=user.id, email=user.email)
    h = accounts._hasher
    for fact in machine_facts():
        print(fact)
    print(
        f"argon2id m={h.memory_cost} KiB t={h.time_cost} p={h.parallelism}: sign-up "
        f"{hash_ms:.0f} ms, one sign-in {verify_ms:.0f} ms (alone); {os.cpu_count()} CPUs; "
        f"load average {os.getloadavg()[0]:.2f}"
    )

    runs: list[tuple[str, dict[str, str]]] = [
        (
            f"PASSWORD_HASHING_THREADS={n}" + (" (shared pool: before)" if n == 0 else ""),
            {**LIMITS_OFF, "PASSWORD_HASHING_THREADS": str(n)},
        )
        for n in args.threads
    ]
    if not args.no_limits_run:
        runs.append(("PASSWORD_HASHING_THREADS=1, limits on (defaults)", {}))

    header = (
        f"{'run':<52} {'/api/me idle p50/p95':>21} {'under load p50/p95/max':>24} "
        f"{'logins/s':>9} {'login p50/p95 ms':>17} {'CPU':>5}  codes"
    )
    print(f"\n{args.logins} parallel login clients, {args.seconds:.0f} s per phase\n")
    print(header)
    print("-" * len(header))
    log = workdir / "server.log"
    for name, extra in runs:
        server = start_server(database_url, extra, log)
        try:
            r = measure(server, token, args.logins, args.seconds)
        finally:
            server.stop()
        idle, loaded = r["idle"], r["loaded"]
        login_ms, codes = r["login_ms"], r["codes"]
        assert isinstance(idle, list) and isinstance(loaded, list)
        assert isinstance(login_ms, list) and isinstance(codes, dict)
        elapsed = r["elapsed"]
        assert isinstance(elapsed, float)
        ok = codes.get(200, 0)
        print(
            f"{name:<52} {pct(idle, 0.5):>9.1f} / {pct(idle, 0.95):>6.1f} ms "
            f"{pct(loaded, 0.5):>7.1f} / {pct(loaded, 0.95):>6.1f} / {max(loaded):>6.0f} ms "
            f"{ok / elapsed:>9.1f} {pct(login_ms, 0.5):>7.0f} / {pct(login_ms, 0.95):>6.0f} "
            f"{r['cpu']:>5.0%}  {dict(sorted(codes.items()))}"
        )
        sys.stdout.flush()
    print(
        f"\n(/api/me samples: {len(idle)} idle, {len(loaded)} loaded in the last run; CPU = the server's share of one core "
        f"while loaded; mean /api/me under load {statistics.mean(loaded):.1f} ms in the last run)"
    )


if __name__ == "__main__":
    main()
