"""HttpGuard hands Reflex's websocket straight to the socket app mounted at /_event: no
FastAPI or Starlette layer stays suspended per open tab (bench/README.md, #14 target 5),
and the origin check still comes first."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.websockets import WebSocketDisconnect

from arbibase_chat.http_guard import HttpGuard, mounted_at


def _stack() -> tuple[HttpGuard, list[str], list[dict[str, Any]]]:
    """Reflex's shape: the API app mounts Reflex's Starlette app at "", which mounts the
    socket app at /_event; each layer has a middleware that notes what passes."""
    passed: list[str] = []
    sockets: list[dict[str, Any]] = []

    async def socket_app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"polling"})
            return
        sockets.append(dict(scope))
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "hello"})
        await send({"type": "websocket.close", "code": 1000})

    def noting(name: str) -> Any:
        class Note:
            def __init__(self, app: Any) -> None:
                self.app = app

            async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
                passed.append(f"{name}:{scope['type']}")
                await self.app(scope, receive, send)

        return Note

    reflex_api = Starlette(routes=[Mount("/_event", app=socket_app)])
    reflex_api.add_middleware(noting("reflex"))
    api = FastAPI()
    api.mount("", reflex_api)
    api.add_middleware(noting("api"))
    return HttpGuard(api, upload_handlers=()), passed, sockets


def test_the_socket_app_is_found_through_the_mounts() -> None:
    guard, _, _ = _stack()
    assert mounted_at(guard.app, "/_event") is not None
    assert mounted_at(guard.app, "/nowhere") is None


def test_a_websocket_skips_the_layers_between_and_keeps_its_path() -> None:
    guard, passed, sockets = _stack()
    client = TestClient(guard)
    with client.websocket_connect("/_event/?EIO=4&transport=websocket") as ws:
        assert ws.receive_text() == "hello"
    assert passed == []  # no layer between the guard and the socket app saw it
    assert sockets[0]["path"] == "/_event/" and sockets[0]["root_path"] == "/_event"
    # Plain HTTP still goes the whole way (security headers, CORS, the API's middleware).
    response = client.get("/_event/?EIO=4&transport=polling")
    assert response.text == "polling" and response.headers["x-frame-options"] == "DENY"
    assert passed == ["api:http", "reflex:http"]


def test_another_sites_socket_is_still_refused_first() -> None:
    guard, passed, sockets = _stack()
    client = TestClient(guard)
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/_event/", headers={"origin": "https://evil.example"}) as ws,
    ):
        ws.receive_text()
    assert refused.value.code == 1008 and sockets == [] and passed == []
