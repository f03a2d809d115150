"""A raw Socket.IO client for Reflex's `/_event` socket: what an attacker's script sends.

No page, no compiled JavaScript: it connects with any client token, hydrates with any cookie
values it likes (or none), and emits any handler of any state with any payload. The tests in
`test_socket_attacks.py` use it to forge events as an anonymous visitor and as a signed-in
stranger; it records every delta and event the server pushes back, so a test can check that
nothing of the victim's ever arrives.

Protocol (Reflex 0.10.1): Socket.IO v5 over a websocket, path `/_event`, namespace `/_event`,
URL `?token=<client token>`; the hydrate event rides in the connect auth payload; updates come
back as `"event"` messages `{"delta": {state: {var_rx_state_: value}}, "events": [...]}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import socketio  # type: ignore[import-untyped]

from arbibase_chat.config import ACCESS_TOKEN_COOKIE
from arbibase_chat.pages.thread_window import PARTS
from arbibase_chat.session import SessionState

NAMESPACE = "/_event"
ROOT = SessionState.get_parent_state().get_full_name()  # type: ignore[union-attr]
SESSION = SessionState.get_full_name()
FIELD = "_rx_state_"


def state_name(cls: type) -> str:
    return str(cls.get_full_name())  # type: ignore[attr-defined]


@dataclass
class RawTab:
    """One forged browser tab on `path`, hydrated with `access_token` (may be "" or garbage)."""

    base_url: str
    path: str = "/"
    access_token: str = ""
    client_token: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Everything the server pushed, in order.
    updates: list[dict[str, Any]] = field(default_factory=list)
    disconnected: bool = False

    def __post_init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        self.sio.on("event", self._on_event, namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        self._hydrated = asyncio.Event()
        self._arrived = asyncio.Event()

    # --- wire -----------------------------------------------------------------------------

    def router_data(self, path: str | None = None) -> dict[str, Any]:
        path = path or self.path
        pathname, _, search = path.partition("?")
        query: dict[str, str] = dict(parse_qsl(search))
        if pathname.startswith("/threads/"):
            query["thread_id"] = pathname.rsplit("/", 1)[1]
        if pathname.startswith("/offers/"):
            query["offer_id"] = pathname.rsplit("/", 1)[1]
        return {"pathname": pathname, "asPath": path, "query": query}

    def _auth(self) -> dict[str, Any]:
        cookie_vars = {}
        if self.access_token is not None:
            cookie_vars[f"{SESSION}.access_token{FIELD}"] = self.access_token
        cookie_vars[f"{SESSION}.time_zone{FIELD}"] = "UTC"
        return {
            "event": {
                "name": f"{ROOT}.hydrate_and_load",
                "payload": {"vars": cookie_vars},
                "router_data": self.router_data(),
            }
        }

    async def connect(self, *, origin: str | None = None, timeout: float = 20.0) -> None:
        headers = {"Origin": origin if origin is not None else self.base_url}
        if self.access_token:
            headers["Cookie"] = f"{ACCESS_TOKEN_COOKIE}={self.access_token}"
        await self.sio.connect(
            f"{self.base_url}?token={self.client_token}",
            headers=headers,
            auth=self._auth(),
            transports=["websocket"],
            namespaces=[NAMESPACE],
            socketio_path="/_event",
            wait_timeout=timeout,
        )
        await asyncio.wait_for(self._hydrated.wait(), timeout)

    async def emit(
        self, state: str, handler: str, payload: dict[str, Any], *, path: str | None = None
    ) -> None:
        await self.sio.emit(
            "event",
            {
                "name": f"{state}.{handler}",
                "payload": payload,
                "router_data": self.router_data(path),
            },
            namespace=NAMESPACE,
        )

    async def settle(self, quiet: float = 0.6, limit: float = 8.0) -> None:
        """Wait until the server has been silent for `quiet` seconds (or `limit` passed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while loop.time() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), quiet)
            except TimeoutError:
                return

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()

    # --- what came back --------------------------------------------------------------------

    def _on_event(self, update: Any) -> None:
        if isinstance(update, dict):
            self.updates.append(update)
            root = (update.get("delta") or {}).get(ROOT) or {}
            if root.get(f"is_hydrated{FIELD}") is True:
                self._hydrated.set()
        self._arrived.set()

    def _on_disconnect(self, *args: Any) -> None:
        self.disconnected = True
        self._arrived.set()

    def text(self) -> str:
        """Everything pushed to this tab, as one JSON text (to search for the victim's data)."""
        return json.dumps(self.updates)

    def var(self, state: str, name: str) -> Any:
        """The latest value pushed for `state.name` (None if never pushed)."""
        value = None
        for update in self.updates:
            changes = (update.get("delta") or {}).get(state) or {}
            if f"{name}{FIELD}" in changes:
                value = changes[f"{name}{FIELD}"]
        return value

    def messages(self, chat_state: str) -> list[Any]:
        """The thread's message window as the tab holds it: ChatState's parts, oldest first
        (each pushed apart, whole when it changed)."""
        return [view for part in PARTS for view in self.var(chat_state, part) or []]

    def redirects(self) -> list[str]:
        found = []
        for update in self.updates:
            for event in update.get("events") or ():
                if isinstance(event, dict) and event.get("name") == "_redirect":
                    found.append(str((event.get("payload") or {}).get("path")))
        return found


async def thread_tab(base_url: str, email: str, password: str, thread_id: Any) -> RawTab:
    """A tab signed in through /api/auth/login, connected and settled on /threads/<id>."""
    import httpx

    token = httpx.post(
        f"{base_url}/api/auth/login", json={"email": email, "password": password}
    ).json()["access_token"]
    tab = RawTab(base_url, path=f"/threads/{thread_id}", access_token=token)
    await tab.connect()
    await tab.settle(quiet=0.4)
    return tab
