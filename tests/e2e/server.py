"""Start and stop a real `reflex run --env prod` server for end-to-end tests.

The server runs in its own session/process group (``start_new_session=True``, like ``setsid``)
so that stopping it can signal the whole group: Reflex starts bun, gunicorn and worker
processes, and killing only the top process leaves them running.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUILD_LOCK = PROJECT_ROOT / ".e2e-build.lock"

#: Environment for every Reflex process we start: no telemetry, no version probe, the bun on
#: PATH (the Makefile makes sure it is there), and no registry latency probe.
REFLEX_QUIET_ENV = {
    "REFLEX_TELEMETRY_ENABLED": "false",
    "REFLEX_CHECK_LATEST_VERSION": "0",
    "REFLEX_USE_SYSTEM_BUN": "1",
}


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _npm_registry() -> str | None:
    try:
        out = subprocess.run(
            ["npm", "config", "get", "registry"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    value = out.stdout.strip()
    return value or None


def _http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError, TimeoutError):
        return None


@dataclass
class LiveServer:
    """One `reflex run --env prod` process group serving page, socket and API on one port."""

    env: Mapping[str, str] = field(repr=False)  # keep secrets out of tracebacks
    port: int = field(default_factory=free_port)
    log_path: Path = PROJECT_ROOT / "test-artifacts" / "e2e-server.log"
    cwd: Path = PROJECT_ROOT
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    ready_after: float | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)
    _build_lock: IO[str] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # A build rewrites reflex.lock/ in the project: one server builds at a time, across
        # test processes too; the lock is held until the server answers (or fails).
        self._build_lock = BUILD_LOCK.open("a")
        fcntl.flock(self._build_lock, fcntl.LOCK_EX)
        reflex = Path(sys.executable).with_name("reflex")
        cmd = [
            str(reflex) if reflex.exists() else sys.executable,
            *([] if reflex.exists() else ["-m", "reflex"]),
            "run",
            "--env",
            "prod",
            "--frontend-port",
            str(self.port),
            "--backend-port",
            str(self.port),
            "--backend-host",
            "127.0.0.1",
            "--loglevel",
            "info",
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self._log.write(f"$ {' '.join(cmd)}\n".encode())
        self._log.flush()
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.cwd,
            env=dict(self.env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own session + process group, like setsid
        )

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Wait until `/ping` and `/` answer 200; returns seconds since start."""
        assert self.proc is not None, "start() first"
        try:
            return self._wait_ready(timeout)
        finally:
            self._release_build_lock()

    def _release_build_lock(self) -> None:
        lock, self._build_lock = self._build_lock, None
        if lock is not None:
            lock.close()  # closing the file drops its flock

    def _wait_ready(self, timeout: float) -> float:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise RuntimeError(
                    f"reflex exited with {code} before it was ready; log {self.log_path}:\n"
                    f"{self.log_tail()}"
                )
            if _http_status(self.url + "/ping") == 200 and _http_status(self.url + "/") == 200:
                self.ready_after = time.monotonic() - self.started_at
                return self.ready_after
            time.sleep(0.25)
        raise TimeoutError(
            f"reflex not ready on {self.url} after {timeout:.0f}s; log {self.log_path}:\n"
            f"{self.log_tail()}"
        )

    def stop(self, grace: float = 10.0) -> None:
        """Stop the whole process group (bun, gunicorn, workers), SIGKILL after `grace` s."""
        self._release_build_lock()
        proc, self.proc = self.proc, None
        if proc is not None:
            pgid = proc.pid  # session leader: its pid is the group id
            members = _group_members(pgid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                if proc.poll() is not None and not _alive(members) and not _group_members(pgid):
                    break
                time.sleep(0.1)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                for p in _alive(members):  # anything that left the group meanwhile
                    with contextlib.suppress(psutil.Error):
                        p.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for p in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(p.pid) == pgid:
                members.append(p)
    return members


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
    return alive


def server_env(
    database_url: str,
    workdir: Path,
    web_dir: Path,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment for the test server: isolated state, uploads and secrets.

    Values set here win over a developer's `.env` (both rxconfig.py and the app settings load
    `.env` without overriding the environment).
    """
    env = dict(os.environ)
    # Never inherit Reflex overrides from the shell running the tests.
    for key in list(env):
        if key.startswith("REFLEX_") and key not in REFLEX_QUIET_ENV:
            del env[key]
    env.update(REFLEX_QUIET_ENV)
    registry = env.get("NPM_CONFIG_REGISTRY") or _npm_registry()
    if registry:
        env["NPM_CONFIG_REGISTRY"] = registry
    tools_bin = PROJECT_ROOT / ".tools" / "node_modules" / ".bin"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{tools_bin}{os.pathsep}{env['PATH']}"
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": "",  # memory/disk state unless `extra` asks for Redis
            "JWT_SECRET": "e2e-" + os.urandom(24).hex(),
            "ATTACHMENTS_DIR": str(workdir / "attachments"),
            # The e-mail dispatcher (a lifespan task) writes .eml files here, never SMTP.
            "SMTP_HOST": "",
            "MAIL_DIR": str(workdir / "mail"),
            "REFLEX_WEB_WORKDIR": str(web_dir),
            "REFLEX_STATES_WORKDIR": str(workdir / "states"),
            "REFLEX_UPLOADED_FILES_DIR": str(workdir / "uploaded_files"),
            "PYTHONUNBUFFERED": "1",
            # Every browser and API client of the suite is 127.0.0.1, and the demo accounts log
            # in dozens of times per run: the per-client and account-wide limits would refuse
            # the suite's own logins. The (account, client) limit stays; tests/api and
            # tests/services prove every limit.
            "SIGN_IN_CLIENT_BURST": "100000",
            "SIGN_IN_ACCOUNT_BURST": "100000",
            "SIGN_UP_CLIENT_BURST": "100000",
            "PASSWORD_RESET_CLIENT_BURST": "100000",
        }
    )
    if extra:
        env.update(extra)
    return env
