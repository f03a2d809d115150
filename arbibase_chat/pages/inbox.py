"""The inbox's state: my threads, newest activity first, unread badges, filters, search.

The view is in `inbox_view.py`. A live view (realtime/views.py): pushed changes move rows and
fix the badge without a reload.
"""

from __future__ import annotations

import contextlib
import json
import uuid

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.components.thread_row import ThreadRow
from arbibase_chat.models import DEAL_STAGES, MessagePublic, ThreadPublic
from arbibase_chat.realtime import views as live
from arbibase_chat.realtime.updates import Update, UserUpdate
from arbibase_chat.services import inbox, mutes, reads
from arbibase_chat.services.errors import DomainError
from arbibase_chat.session import SessionState, user_view

STATUS_FILTERS = ["active", "archived", "closed", "all"]
ROLE_FILTERS = ["all", "operator", "owner"]
PAGE_SIZE = 50
# A notification's text: enough to recognise the message, never the whole of a long one.
ALERT_PREVIEW_CHARS = 140


def alert_for(user_id: uuid.UUID, message: MessagePublic, thread: ThreadPublic) -> str:
    """The browser notification for a new message (JSON for assets/notify.js), or "" when
    there is none to give: my own message, a deleted one, a thread I muted."""
    if message.sender_id == user_id or message.deleted_at is not None:
        return ""
    if mutes.is_muted(thread.muted_until):
        return ""
    body = " ".join((message.body or "").split())
    if not body:
        body = "Sent a file" if message.attachment_url else "New message"
    if len(body) > ALERT_PREVIEW_CHARS:
        body = body[: ALERT_PREVIEW_CHARS - 1] + "…"
    return json.dumps(
        {
            "thread_id": str(thread.id),
            "seq": message.seq,
            "title": f"{thread.counterparty_name} · {thread.property_title}",
            "body": body,
        }
    )


@live.live_view
@user_view
class InboxState(rx.State):
    rows: list[ThreadRow] = []
    status_filter: str = "active"
    role_filter: str = "all"
    tag_filter: str = ""
    # Every tag of any thread of mine (services/inbox.my_tags), not only the loaded rows'.
    my_tags: list[str] = []
    stage_filter: str = ""
    search: str = ""
    selected_id: str = ""
    unread_total: int = 0
    # The newest message that deserves a browser notification (JSON, see `alert_for`): the
    # navbar carries it to assets/notify.js. Only ever this user's own thread's message.
    alert: str = ""
    loaded: bool = False
    has_more: bool = False
    _next_cursor: str | None = None
    _viewer: str = ""  # whose inbox this is (set by load; "" after the identity changed)

    @rx.var
    def has_rows(self) -> bool:
        return len(self.rows) > 0

    @rx.var
    def message_search_href(self) -> str:
        """The same words searched through every message, ranked (pages/search.py)."""
        return routes.search_for(self.search)

    @rx.var(deps=["my_tags", "rows"], auto_deps=False)
    def known_tags(self) -> list[str]:
        """What the tag filter offers: my tags, plus any a live row gained since, once per
        tag whatever its case (the filter ignores case). Recomputed on every live update of
        the list: it reads the rows themselves, not Reflex's proxies (see `_live_apply`)."""
        seen: dict[str, str] = {}
        rows: list[ThreadRow] = self.get_value("rows")
        for tag in [*self.get_value("my_tags"), *(tag for row in rows for tag in row.tags)]:
            seen.setdefault(tag.lower(), tag)
        return sorted(seen.values(), key=str.lower)

    def _filters(self) -> dict[str, str | None]:
        return {
            "status": None if self.status_filter == "all" else self.status_filter,
            "role": None if self.role_filter == "all" else self.role_filter,
            "tag": self.tag_filter or None,
            "stage": self.stage_filter or None,
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
        live.register(self.router.session.client_token, user_id)
        try:
            await self._fetch_first_page(user_id)
        except DomainError as exc:
            return rx.toast.error(exc.message)
        return None

    @rx.event
    async def load_badge(self):
        """On load of pages that show the navbar but not the list (verify, staff, settings):
        the navbar's total and notifications, kept live. The page's own load redirects."""
        user_id = await self._user_id()
        if user_id is not None:
            await self._load_badge(user_id)

    async def _fetch_first_page(self, user_id: uuid.UUID) -> None:
        page = await aio.call(
            inbox.list_threads, user_id=user_id, limit=PAGE_SIZE, **self._filters()
        )
        self.unread_total = await aio.call(reads.unread_total, user_id=user_id)
        live.read_total(user_id, self.unread_total)
        self.my_tags = await aio.call(inbox.my_tags, user_id=user_id)
        self.rows = [ThreadRow.from_thread(t) for t in page.items]
        self._next_cursor = page.next_cursor
        self.has_more = page.next_cursor is not None
        self.loaded = True

    async def _load_badge(self, user_id: uuid.UUID) -> None:
        """For other pages' navbars: the unread total, kept live, without loading the list."""
        self._viewer = str(user_id)
        live.register(self.router.session.client_token, user_id)
        with contextlib.suppress(DomainError):
            self.unread_total = await aio.call(reads.unread_total, user_id=user_id)
            live.read_total(user_id, self.unread_total)

    async def _live_resync(self, user_id: uuid.UUID) -> str | None:
        """Events may have been missed: fetch the list (if shown) and the badge again."""
        if self._viewer != str(user_id):
            return None
        with contextlib.suppress(DomainError):
            if self.loaded:
                await self._fetch_first_page(user_id)
            else:
                self.unread_total = await aio.call(reads.unread_total, user_id=user_id)
        return None

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
    async def set_stage_filter(self, value: str):
        if value == "__all__" or value in DEAL_STAGES:
            self.stage_filter = "" if value == "__all__" else value
            return InboxState.load
        return None

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
            and (
                filters["tag"] is None
                # A tag is the same tag whatever its case (services/threads.py).
                or filters["tag"].lower() in {tag.lower() for tag in row.tags}
            )
            and (filters["stage"] is None or row.stage == filters["stage"])
        )

    async def _live_apply(self, update: Update) -> str | None:
        """A pushed change: refresh the row, move it to the top, fix the badge total."""
        if not isinstance(update, UserUpdate) or self._viewer != str(update.user_id):
            return None  # typing, or pushed for a user this tab no longer shows
        if update.unread_total is not None:
            self.unread_total = update.unread_total
        if update.message is not None and update.thread is not None:
            alert = alert_for(update.user_id, update.message, update.thread)
            if alert:
                self.alert = alert
        if update.thread is None or not self.loaded:
            return None  # no list on show (another page's navbar): the badge is all
        row = ThreadRow.from_thread(update.thread)
        # The rows themselves, not Reflex's change-tracking proxies of them: through the
        # proxies this line took 365 µs for a 50-row inbox, 9 µs without (bench/README.md,
        # issue #14, session 15). Nothing changes a row in place; the new list replaces the old.
        rows = [r for r in self.get_value("rows") if r.id != row.id]
        if self._matches(row):
            rows.append(row)
            rows.sort(key=lambda r: (r.last_message_at, r.id), reverse=True)
        self.rows = rows
        return None
