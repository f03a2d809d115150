"""The inbox: my threads, newest activity first, with unread badges, filters and search."""

from __future__ import annotations

import contextlib
import uuid

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.components.navbar import navbar
from arbibase_chat.components.thread_row import ThreadRow, thread_row
from arbibase_chat.realtime.hub import UserUpdate, hub
from arbibase_chat.services import inbox, reads
from arbibase_chat.services.errors import DomainError
from arbibase_chat.session import SessionState, user_view

STATUS_FILTERS = ["active", "archived", "closed", "all"]
ROLE_FILTERS = ["all", "operator", "owner"]
PAGE_SIZE = 50


@user_view
class InboxState(rx.State):
    rows: list[ThreadRow] = []
    status_filter: str = "active"
    role_filter: str = "all"
    tag_filter: str = ""
    search: str = ""
    selected_id: str = ""
    unread_total: int = 0
    loaded: bool = False
    has_more: bool = False
    _next_cursor: str | None = None
    _viewer: str = ""  # whose inbox this is (set by load; "" after the identity changed)

    @rx.var
    def has_rows(self) -> bool:
        return len(self.rows) > 0

    @rx.var
    def known_tags(self) -> list[str]:
        return sorted({tag for row in self.rows for tag in row.tags})

    def _filters(self) -> dict[str, str | None]:
        return {
            "status": None if self.status_filter == "all" else self.status_filter,
            "role": None if self.role_filter == "all" else self.role_filter,
            "tag": self.tag_filter or None,
            "search": self.search.strip() or None,
        }

    async def _user_id(self) -> uuid.UUID | None:
        session = await self.get_state(SessionState)
        return await session._current_user_id()

    @rx.event
    async def load(self):
        user_id = await self._user_id()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        self._viewer = str(user_id)
        hub.register(self.router.session.client_token, user_id)
        try:
            await self._fetch_first_page(user_id)
        except DomainError as exc:
            return rx.toast.error(exc.message)
        return None

    async def _fetch_first_page(self, user_id: uuid.UUID) -> None:
        page = await aio.call(
            inbox.list_threads, user_id=user_id, limit=PAGE_SIZE, **self._filters()
        )
        self.unread_total = await aio.call(reads.unread_total, user_id=user_id)
        self.rows = [ThreadRow.from_thread(t) for t in page.items]
        self._next_cursor = page.next_cursor
        self.has_more = page.next_cursor is not None
        self.loaded = True

    async def _resync(self, user_id: uuid.UUID) -> None:
        """Events may have been missed: fetch the list (if shown) and the badge again."""
        if self._viewer != str(user_id):
            return
        with contextlib.suppress(DomainError):
            if self.loaded:
                await self._fetch_first_page(user_id)
            else:
                self.unread_total = await aio.call(reads.unread_total, user_id=user_id)

    @rx.event
    async def load_more(self):
        user_id = await self._user_id()
        if user_id is None or self._next_cursor is None:
            return None
        page = await aio.call(
            inbox.list_threads,
            user_id=user_id,
            cursor=self._next_cursor,
            limit=PAGE_SIZE,
            **self._filters(),
        )
        known = {row.id for row in self.rows}
        self.rows = self.rows + [
            ThreadRow.from_thread(t) for t in page.items if str(t.id) not in known
        ]
        self._next_cursor = page.next_cursor
        self.has_more = page.next_cursor is not None
        return None

    @rx.event
    async def set_status_filter(self, value: str | list[str]):
        if isinstance(value, str) and value in STATUS_FILTERS:
            self.status_filter = value
            return InboxState.load
        return None

    @rx.event
    async def set_role_filter(self, value: str):
        if value in ROLE_FILTERS:
            self.role_filter = value
            return InboxState.load
        return None

    @rx.event
    async def set_tag_filter(self, value: str):
        self.tag_filter = "" if value in ("", "__all__") else value[:40]
        return InboxState.load

    @rx.event
    async def run_search(self, form_data: dict[str, str]):
        self.search = str(form_data.get("search") or "")[:100]
        return InboxState.load

    @rx.event
    async def clear_search(self):
        self.search = ""
        return [rx.set_value("inbox-search", ""), InboxState.load]

    # --- realtime --------------------------------------------------------------------------

    def _matches(self, row: ThreadRow) -> bool:
        filters = self._filters()
        if filters["search"]:
            return False  # a search result list is not reshuffled live; reload shows it
        return (
            (filters["status"] is None or row.status == filters["status"])
            and (filters["role"] is None or row.my_role == filters["role"])
            and (filters["tag"] is None or filters["tag"] in row.tags)
        )

    def _apply(self, update: UserUpdate) -> None:
        """A pushed change: refresh the row, move it to the top, fix the badge total."""
        if self._viewer != str(update.user_id):
            return  # pushed for a user this tab no longer shows
        if update.unread_total is not None:
            self.unread_total = update.unread_total
        if update.thread is None:
            return
        row = ThreadRow.from_thread(update.thread)
        rows = [r for r in self.rows if r.id != row.id]
        if self._matches(row):
            rows.append(row)
            rows.sort(key=lambda r: (r.last_message_at, r.id), reverse=True)
        self.rows = rows


def _empty_state() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("inbox", size=40, color=rx.color("gray", 8)),
            rx.cond(
                InboxState.search != "",
                rx.text("No conversation matches your search.", weight="medium"),
                rx.text("No conversations here yet.", weight="medium"),
            ),
            rx.text(
                "Threads start when an operator contacts an owner about a property.",
                size="2",
                color=rx.color("gray", 10),
                text_align="center",
            ),
            align="center",
            spacing="2",
        ),
        padding="48px 16px",
        id="inbox-empty",
    )


def _filters_bar() -> rx.Component:
    return rx.vstack(
        rx.form(
            rx.hstack(
                rx.input(
                    rx.input.slot(rx.icon("search", size=16)),
                    name="search",
                    id="inbox-search",
                    placeholder="Search subject, property, person, messages",
                    default_value=InboxState.search,
                    width="100%",
                    max_length=100,
                ),
                rx.cond(
                    InboxState.search != "",
                    rx.icon_button(
                        rx.icon("x", size=16),
                        variant="ghost",
                        type="button",
                        on_click=InboxState.clear_search,
                        aria_label="Clear search",
                    ),
                ),
                width="100%",
                align="center",
            ),
            on_submit=InboxState.run_search,
            width="100%",
        ),
        rx.hstack(
            rx.segmented_control.root(
                *[rx.segmented_control.item(s.title(), value=s) for s in STATUS_FILTERS],
                value=InboxState.status_filter,
                on_change=InboxState.set_status_filter,
                size="1",
                id="status-filter",
            ),
            rx.select.root(
                rx.select.trigger(aria_label="Role"),
                rx.select.content(
                    rx.select.item("All roles", value="all"),
                    rx.select.item("As operator", value="operator"),
                    rx.select.item("As owner", value="owner"),
                ),
                value=InboxState.role_filter,
                on_change=InboxState.set_role_filter,
                size="1",
            ),
            rx.cond(
                InboxState.known_tags.length() > 0,
                rx.select.root(
                    rx.select.trigger(aria_label="Tag"),
                    rx.select.content(
                        rx.select.item("All tags", value="__all__"),
                        rx.foreach(
                            InboxState.known_tags, lambda tag: rx.select.item(tag, value=tag)
                        ),
                    ),
                    value=rx.cond(InboxState.tag_filter == "", "__all__", InboxState.tag_filter),
                    on_change=InboxState.set_tag_filter,
                    size="1",
                ),
            ),
            wrap="wrap",
            spacing="2",
            align="center",
        ),
        padding="12px 16px",
        spacing="2",
        width="100%",
    )


def inbox_list() -> rx.Component:
    """The thread list with its filters (the whole page on phones, the left pane on desktop)."""
    return rx.vstack(
        rx.hstack(
            rx.heading("Inbox", size="5"),
            padding="16px 16px 0 16px",
            width="100%",
        ),
        _filters_bar(),
        rx.cond(
            InboxState.loaded,
            rx.cond(
                InboxState.has_rows,
                rx.box(
                    rx.foreach(
                        InboxState.rows, lambda row: thread_row(row, InboxState.selected_id)
                    ),
                    id="thread-list",
                    width="100%",
                ),
                _empty_state(),
            ),
            rx.center(rx.spinner(size="3"), padding="48px", width="100%"),
        ),
        rx.cond(
            InboxState.has_more,
            rx.center(
                rx.button("Load older threads", variant="soft", on_click=InboxState.load_more),
                padding="16px",
                width="100%",
            ),
        ),
        spacing="0",
        width="100%",
    )


def _no_thread_selected() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("messages-square", size=48, color=rx.color("gray", 7)),
            rx.text("Select a conversation", color=rx.color("gray", 10)),
            align="center",
        ),
        height="100%",
    )


PANE_HEIGHT = "calc(100dvh - 57px)"  # below the navbar
HIDDEN_ON_PHONE = ["none", "none", "block"]


def inbox_layout(right: rx.Component, *, list_on_phone: bool) -> rx.Component:
    """Navbar, then the inbox list beside `right` on wide screens; one pane on phones."""
    return rx.box(
        navbar(InboxState.unread_total),
        rx.flex(
            rx.box(
                inbox_list(),
                display="block" if list_on_phone else HIDDEN_ON_PHONE,
                width=["100%", "100%", "380px"],
                flex_shrink="0",
                border_right=["none", "none", f"1px solid {rx.color('gray', 5)}"],
                overflow_y="auto",
                height=PANE_HEIGHT,
            ),
            rx.box(
                right,
                display=HIDDEN_ON_PHONE if list_on_phone else "block",
                flex="1",
                min_width="0",
                height=PANE_HEIGHT,
            ),
            width="100%",
        ),
        min_height="100vh",
        background=rx.color("gray", 1),
    )


def inbox_page() -> rx.Component:
    return inbox_layout(_no_thread_selected(), list_on_phone=True)
