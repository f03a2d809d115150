"""Reflex configuration.

The database schema belongs to our own Alembic setup (`alembic/`, `alembic.ini`), so Reflex
gets ``db_url=None``: with no db_url Reflex skips its own "db initialized" / "schema up to
date" checks and never reads ``alembic.ini``. The app talks to the database through
``arbibase_chat.db`` (DATABASE_URL), not through ``rx.Model``/``rx.session``.

State lives in Redis when REDIS_URL is set (needed for more than one worker), otherwise in
Reflex's default in-process/disk state manager.
"""

import os
import re
from pathlib import Path
from typing import Any

import reflex as rx
from dotenv import load_dotenv
from reflex.plugins.sitemap import SitemapPlugin

load_dotenv(Path(__file__).resolve().parent / ".env", override=False)

# The largest websocket frame a browser may send (python-socketio drops the connection past
# it). A message is at most 10,000 characters (< 40 KB as UTF-8): 128 KB leaves room for the
# event's envelope and never lets a forged frame of megabytes into the server's state.
os.environ.setdefault("REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE", str(128 * 1024))

# The production server is gunicorn with uvicorn workers, not granian: an idle websocket costs
# ~50 KB there against ~180 KB, and gunicorn's arbiter respawns a worker that dies (granian's
# whole server stops). Workers: WEB_CONCURRENCY (gunicorn's own setting; 1 by default).
os.environ.setdefault("REFLEX_USE_GRANIAN", "false")
# Its worker class, unless GUNICORN_CMD_ARGS names one: Reflex's uvicorn (h11) worker without
# websocket compression, which would cost each open tab ~43 KB (arbibase_chat/server_worker.py).
_gunicorn_args = os.environ.get("GUNICORN_CMD_ARGS", "")
if not re.search(r"(?:^|\s)(?:-k|--worker-class)", _gunicorn_args):
    os.environ["GUNICORN_CMD_ARGS"] = (
        f"--worker-class arbibase_chat.server_worker.SocketWorker {_gunicorn_args}".strip()
    )

# With Redis (several workers), a worker keeps a tab's state and its Redis lock between
# events ("opportunistic locking") instead of reading, locking and writing the state in Redis
# for every event: a tab's events all reach the worker holding its socket. Another worker that
# needs the state (a reconnect, an upload) asks through Redis and gets it within one event.
# Measured with 2 workers at twice capacity (bench/README.md, #14 session 8): 107 -> 150
# messages/s stored on SQLite, 77 -> 97 on Postgres, a third less CPU per message; a killed
# worker's tabs still lose nothing.
os.environ.setdefault("REFLEX_OPLOCK_ENABLED", "true")
# A held state goes back to Redis when the hold ends, and must get there before its lock
# expires: Reflex's defaults (lock 10 s, hold half of it) leave 5 s, and an event loop that
# lagged longer (250 tabs hydrating on a slow 2-core machine) lost 170 tabs' states in a kill
# run (bench/FAULTS.md, finding 7). A 20-s lock held 10 s leaves 10 s and writes each active
# tab back half as often (the Redis state manager 22 -> 8 % of the worker's time, #14
# session 10); a dead worker's tabs wait at most 20 s for their locks (caught up 18 s after a
# kill, as with the defaults).
os.environ.setdefault("REFLEX_REDIS_LOCK_EXPIRATION", "20000")
os.environ.setdefault("REFLEX_OPLOCK_HOLD_TIME", "10000ms")

_redis_url = os.environ.get("REDIS_URL") or None
_state: dict[str, Any] = (
    {"redis_url": _redis_url, "state_manager_mode": rx.constants.StateManagerMode.REDIS}
    if _redis_url
    # One worker without Redis: keep state in memory. The default disk manager re-scans its
    # whole states directory after writes (measured: 63.6 → 29.9 ms of worker CPU per
    # message at 1,000 sessions). A restart loses it, and pages catch up on reconnect anyway.
    else {"state_manager_mode": rx.constants.StateManagerMode.MEMORY}
)

config = rx.Config(
    app_name="arbibase_chat",
    telemetry_enabled=False,
    # Reflex must not manage the schema: see the module docstring.
    db_url=None,
    # Theme lives here: `rx.App(theme=...)` is deprecated since Reflex 0.9 (removed in 1.0).
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(
                appearance="inherit",
                accent_color="indigo",
                radius="medium",
                # Menus, popovers and dialogs on a solid panel: the translucent default let
                # the messages under an open menu show through its items.
                panel_background="solid",
            )
        )
    ],
    # The sitemap needs a public deploy_url and is of no use for a logged-in chat.
    disable_plugins=[SitemapPlugin],
    # The badge links to an outside site.
    show_built_with_reflex=False,
    # Reverse proxies trusted to append the client's address to X-Forwarded-For (0: the TCP
    # peer is the client). The same setting as the REST API's (config.trusted_proxy_hops): the
    # sign-in limits key on this address (`router.session.client_ip`).
    trusted_proxy_hops=int(os.environ.get("TRUSTED_PROXY_HOPS") or 0),
    **_state,
)
