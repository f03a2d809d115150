"""(b) The chat room as an rx.SharedState: one state per room, linked by every member; Reflex
fans each change out to the other linked tokens."""

from __future__ import annotations

import contextlib
import os

import reflex as rx

from sharedbench.states import Meta, _app, _window


class SharedRoom(rx.SharedState):
    """(b) rx.SharedState: linked per room; Reflex propagates to the other linked clients."""

    items: list[str] = []

    @rx.event
    async def join(self, room: str) -> None:
        await self._link_to(room)
        meta = await self.get_state(Meta)
        meta.pid = os.getpid()

    @rx.event
    def say(self, text: str) -> None:
        self.items = _window(self.items, text)


async def shared_push(room: str, line: str) -> None:
    """From outside any client's event: modify the room's shared token directly."""
    async with _app().modify_state(rx.BaseStateToken(ident=room, cls=SharedRoom)) as root:
        shared = await root.get_state(SharedRoom)
        shared.items = _window(shared.items, line)


async def shared_linked_from(room: str) -> int:
    """How many client tokens the room's shared state lists as linked (never shrinks)."""
    with contextlib.suppress(Exception):
        async with _app().modify_state(rx.BaseStateToken(ident=room, cls=SharedRoom)) as root:
            shared = await root.get_state(SharedRoom)
            return len(shared._linked_from)
    return -1
