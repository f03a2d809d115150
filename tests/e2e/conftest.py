"""End-to-end fixtures: a live `reflex run --env prod` server and Debian's Chromium.

- `live_server` (session): base URL of a prod server on a free port. Its database comes from the
  session fixture `e2e_database_url` when one is defined (tests/conftest.py), else from env
  `E2E_DATABASE_URL`, else a fresh temporary SQLite file (no migrations are run here).
  Extra environment for the server: override the session fixture `live_server_env`.
- `browser` (session) / `page` (function): Playwright's sync API driving /usr/bin/chromium.

Without Chromium the browser tests skip, or FAIL when ARBIBASE_REQUIRE_SERVICES=1 (CI).

Tests that use `browser`/`page` run after every other test of the run: Playwright's sync API
keeps its own event loop marked as running in the main thread while the browser is open, and
pytest-asyncio refuses to run an async test (or async fixture) then ("Runner.run() cannot be
called from a running event loop"). So do not write `async def` tests that use `page`.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from .server import PROJECT_ROOT, LiveServer, server_env

CHROMIUM_PATH = os.environ.get("ARBIBASE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS_DIR = PROJECT_ROOT / "test-artifacts"
#: The e2e server builds its frontend in its own directory, so a `make run` using `.web` at the
#: same time is not disturbed (and stays warm). Override with ARBIBASE_E2E_WEB_DIR.
#: Each test process (pytest-xdist worker "gw0", "gw1", …) builds into a directory of its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
#: The shared live server's log (tests read what the server printed: e-mails, log redaction).
SERVER_LOG_NAME = f"e2e-server-{WORKER}.log" if WORKER else "e2e-server.log"
E2E_WEB_DIR = Path(
    str(os.environ.get("ARBIBASE_E2E_WEB_DIR", PROJECT_ROOT / ".web-e2e"))
    + (f"-{WORKER}" if WORKER else "")
)


def _require_services() -> bool:
    return os.environ.get("ARBIBASE_REQUIRE_SERVICES", "") not in ("", "0", "false", "False")


def _missing(reason: str) -> None:
    if _require_services():
        pytest.fail(f"{reason} (ARBIBASE_REQUIRE_SERVICES is set)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def live_server_env() -> dict[str, str]:
    """Extra environment variables for the live server (override to add some)."""
    return {}


@pytest.fixture(scope="session")
def _e2e_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    try:
        return str(request.getfixturevalue("e2e_database_url"))
    except pytest.FixtureLookupError:
        pass
    from_env = os.environ.get("E2E_DATABASE_URL")
    if from_env:
        return from_env
    return f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'e2e.db'}"


@pytest.fixture(scope="session")
def live_server(
    _e2e_db_url: str,
    live_server_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    artifacts_dir: Path,
) -> Iterator[str]:
    """Base URL (http://127.0.0.1:PORT) of a `reflex run --env prod` server."""
    workdir = tmp_path_factory.mktemp("e2e-server")
    env = server_env(_e2e_db_url, workdir, E2E_WEB_DIR, live_server_env)
    if shutil.which("bun", path=env["PATH"]) is None:
        _missing("bun is not on PATH (run the tests through `make test`)")
    server = LiveServer(env=env, log_path=artifacts_dir / SERVER_LOG_NAME)
    server.start()
    try:
        ready = server.wait_ready()
        print(f"\n[e2e] reflex prod server ready on {server.url} after {ready:.1f}s")
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def live_server_log(live_server: str, artifacts_dir: Path) -> Path:
    """Where `live_server` writes its output (this test process's own file)."""
    return artifacts_dir / SERVER_LOG_NAME


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """A headless Debian Chromium driven by Playwright (sync API)."""
    if not Path(CHROMIUM_PATH).exists():
        _missing(f"Chromium not found at {CHROMIUM_PATH} (apt-get install -y chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path) -> Iterator[Page]:
    """A fresh browser context + page per test; a screenshot is kept when the test fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            name = request.node.nodeid.replace("/", "_").replace("::", "__")
            pg.screenshot(path=str(artifacts_dir / f"FAILED-{name}-{int(time.time())}.png"))
        context.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Move browser tests to the end of the run (stable: keeps their relative order)."""
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()))


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
