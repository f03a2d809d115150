"""The bench app: one page, the room states, and HTTP routes that push from outside a
client's event (what a REST send or a Postgres NOTIFY listener would do).

SHAREDBENCH_SHARED=0 leaves the rx.SharedState room out of the app (the hub variants then
run in an app like the product's, which has no SharedState).
"""

from __future__ import annotations

import os

import reflex as rx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sharedbench.states import (
    BUS_ROOMS,
    ROOMS,
    BusRoom,
    HubRoom,
    Meta,
    _publish,
    bus_lifespan,
    hub_push,
)

WITH_SHARED = os.environ.get("SHAREDBENCH_SHARED", "1") != "0"
if WITH_SHARED:
    from sharedbench.shared import SharedRoom, shared_linked_from, shared_push


async def _push(request: Request) -> JSONResponse:
    room = request.query_params["room"]
    line = request.query_params["text"]
    variant = request.path_params["variant"]
    if variant == "shared":
        await shared_push(room, line)
        return JSONResponse({"pid": os.getpid()})
    if variant == "hubbus":
        await _publish(room, line, "")
        return JSONResponse({"pid": os.getpid()})
    pushed = await hub_push(room, line)
    return JSONResponse({"pid": os.getpid(), "pushed": pushed})


async def _info(request: Request) -> JSONResponse:
    room = request.query_params.get("room", "")
    body: dict[str, object] = {
        "pid": os.getpid(),
        "with_shared": WITH_SHARED,
        "hub_members": len(ROOMS.get(room, ())),
        "bus_members": len(BUS_ROOMS.get(room, ())),
    }
    if room and WITH_SHARED:
        body["shared_linked_from"] = await shared_linked_from(room)
    return JSONResponse(body)


api = Starlette(
    routes=[
        Route("/bench/push/{variant}", _push, methods=["POST"]),
        Route("/bench/info", _info, methods=["GET"]),
    ]
)


def index() -> rx.Component:
    # Plain elements: no Radix theme to build.
    lists = [rx.foreach(HubRoom.items, rx.el.p), rx.foreach(BusRoom.items, rx.el.p)]
    if WITH_SHARED:
        lists.append(rx.foreach(SharedRoom.items, rx.el.p))
    return rx.el.div(rx.el.p("pid ", Meta.pid), *lists)


app = rx.App(api_transformer=api)
app.register_lifespan_task(bus_lifespan)
app.add_page(index, route="/")
