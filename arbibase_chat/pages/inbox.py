"""The signed-in landing page: my threads, newest activity first, with unread badges."""

from __future__ import annotations

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.components.navbar import navbar
from arbibase_chat.components.thread_row import ThreadRow, thread_row
from arbibase_chat.services import reads, threads
from arbibase_chat.services.errors import DomainError
from arbibase_chat.session import SessionState

STATUS_FILTERS = ["active", "archived", "closed", "all"]
PAGE_SIZE = 50


class InboxState(rx.State):
    rows: list[ThreadRow] = []
    status_filter: str = "active"
    unread_total: int = 0
    loaded: bool = False
    has_more: bool = False
    _next_cursor: str | None = None

    @rx.var
    def has_rows(self) -> bool:
        return len(self.rows) > 0

    async def _user_id(self):
        session = await self.get_state(SessionState)
        return await session.current_user_id()

    @rx.event
    async def load(self):
        user_id = await self._user_id()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        status = None if self.status_filter == "all" else self.status_filter
        try:
            page = await aio.call(
                threads.list_threads, user_id=user_id, status=status, limit=PAGE_SIZE
            )
            self.unread_total = await aio.call(reads.unread_total, user_id=user_id)
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self.rows = [ThreadRow.from_thread(t) for t in page.items]
        self._next_cursor = page.next_cursor
        self.has_more = page.next_cursor is not None
        self.loaded = True
        return None

    @rx.event
    async def load_more(self):
        user_id = await self._user_id()
        if user_id is None or self._next_cursor is None:
            return None
        status = None if self.status_filter == "all" else self.status_filter
        page = await aio.call(
            threads.list_threads,
            user_id=user_id,
            status=status,
            cursor=self._next_cursor,
            limit=PAGE_SIZE,
        )
        self.rows = self.rows + [ThreadRow.from_thread(t) for t in page.items]
        self._next_cursor = page.next_cursor
        self.has_more = page.next_cursor is not None
        return None

    @rx.event
    async def set_status_filter(self, value: str | list[str]):
        if not isinstance(value, str) or value not in STATUS_FILTERS:
            return None
        self.status_filter = value
        return InboxState.load


def _empty_state() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("inbox", size=40, color=rx.color("gray", 8)),
            rx.text("No conversations here yet.", weight="medium"),
            rx.text(
                "Threads start when an operator contacts an owner about a property.",
                size="2",
                color=rx.color("gray", 10),
            ),
            align="center",
            spacing="2",
        ),
        padding="48px 16px",
        id="inbox-empty",
    )


def inbox_page() -> rx.Component:
    return rx.box(
        navbar(InboxState.unread_total),
        rx.box(
            rx.hstack(
                rx.heading("Inbox", size="5"),
                rx.spacer(),
                rx.segmented_control.root(
                    *[rx.segmented_control.item(s.title(), value=s) for s in STATUS_FILTERS],
                    value=InboxState.status_filter,
                    on_change=InboxState.set_status_filter,
                    size="1",
                ),
                align="center",
                padding="16px",
                wrap="wrap",
                spacing="2",
            ),
            rx.cond(
                InboxState.loaded,
                rx.cond(
                    InboxState.has_rows,
                    rx.box(rx.foreach(InboxState.rows, thread_row), id="thread-list"),
                    _empty_state(),
                ),
                rx.center(rx.spinner(size="3"), padding="48px"),
            ),
            rx.cond(
                InboxState.has_more,
                rx.center(
                    rx.button("Load older threads", variant="soft", on_click=InboxState.load_more),
                    padding="16px",
                ),
            ),
            max_width="880px",
            margin="0 auto",
            width="100%",
        ),
        min_height="100vh",
        background=rx.color("gray", 1),
    )
