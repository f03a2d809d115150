"""The open thread's state: loads, sends, uploads, thread actions, live updates.

The window's rules (merge by seq, pending → sent / failed, the ≤ 200 cap, day labels) live in
`thread_window.MessageWindow`; the view in `thread_view.py`. Every public method here is an
event the browser may send with any payload (allow-listed in tests/test_event_surface.py):
identity comes from SessionState only, and everything else is `_private`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
import weakref
from typing import Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.components.message_bubble import MessageView
from arbibase_chat.db import utcnow
from arbibase_chat.models import MessagePublic, ThreadPublic
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.pages.thread_window import MessageWindow
from arbibase_chat.realtime import views as live
from arbibase_chat.realtime.updates import TypingUpdate, Update, UserUpdate
from arbibase_chat.services import attachments, inbox, messages, reads, threads
from arbibase_chat.services.errors import DomainError
from arbibase_chat.services.validation import MAX_MESSAGE_CHARS
from arbibase_chat.session import SessionState, user_view
from arbibase_chat.textlinks import segments

PAGE = 50
UPLOAD_ID = "attachment-upload"
TYPING_THROTTLE_SECONDS = 2.0


@live.live_view
@user_view
class ChatState(rx.State):
    # Header
    open_id: str = ""
    subject: str = ""
    property_title: str = ""
    counterparty_name: str = ""
    status: str = ""
    tags: list[str] = []
    not_found: bool = False
    # Conversation (see MessageWindow)
    items: list[MessageView] = []
    has_older: bool = False
    seen_seq: int = 0  # the other side has read my messages up to this number
    typing_name: str = ""
    tab_visible: bool = True
    upload_percent: int = 0
    uploading: bool = False
    _me: str = ""
    _counterparty_id: str = ""
    _names: dict[str, str] = {}
    _last_typing_sent: float = 0.0

    @rx.var
    def seen_id(self) -> str:
        return MessageWindow(self.items).seen_id(self.seen_seq)

    @rx.var
    def is_closed(self) -> bool:
        return self.status == "closed"

    # --- helpers (backend only) -------------------------------------------------------------

    async def _user(self) -> uuid.UUID | None:
        return await (await self.get_state(SessionState))._current_user_id()

    def _route_thread_id(self) -> str:
        return str(self.router.page.params.get("thread_id", "") or "")

    def _window(self) -> MessageWindow:
        return MessageWindow(list(self.items), self.has_older)

    async def _keep(self, window: MessageWindow) -> None:
        """Label the days and assign what changed (Reflex resends every assigned var)."""
        window.label((await self.get_state(SessionState))._zone())
        if window.items != self.items:
            self.items = window.items
        if window.has_older != self.has_older:
            self.has_older = window.has_older

    def _views(self, batch: list[MessagePublic]) -> list[MessageView]:
        return [MessageView.from_message(m, me=self._me, names=self._names) for m in batch]

    def _apply_header(self, thread: ThreadPublic) -> None:
        header = {
            "subject": thread.subject or thread.property_title,
            "property_title": thread.property_title,
            "counterparty_name": thread.counterparty_name,
            "status": thread.status,
            "tags": list(thread.tags),
        }
        for name, value in header.items():
            if getattr(self, name) != value:
                setattr(self, name, value)
        if thread.counterparty_last_read_seq > self.seen_seq:
            self.seen_seq = thread.counterparty_last_read_seq
        self._counterparty_id = str(thread.counterparty_id)
        self._names = {self._me: "You", str(thread.counterparty_id): thread.counterparty_name}

    async def _page(self, user_id: uuid.UUID, **where: str) -> list[MessagePublic]:
        return await aio.call(
            messages.list_messages, user_id=user_id, thread_id=self.open_id, limit=PAGE, **where
        )

    async def _catch_up(self, user_id: uuid.UUID, window: MessageWindow) -> None:
        """Page forward from the newest message held: no gap, no duplicate."""
        while batch := await self._page(user_id, after=window.last_id()):
            window.merge(self._views(batch))
            if len(batch) < PAGE:
                return

    async def _mark_read(self, user_id: uuid.UUID) -> None:
        if self.open_id:
            with contextlib.suppress(DomainError):
                await aio.call(reads.mark_read, user_id=user_id, thread_id=self.open_id)

    # --- page events ------------------------------------------------------------------------

    @rx.event
    async def load(self):
        user_id = await self._user()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        self._me = str(user_id)
        try:
            thread = await aio.call(
                inbox.get_thread, user_id=user_id, thread_id=self._route_thread_id()
            )
        except DomainError:
            self.not_found, self.open_id, self.items = True, "", []
            return None
        self.not_found = False
        self._apply_header(thread)
        revisit = self.open_id == str(thread.id) and bool(self.items)
        self.open_id = str(thread.id)
        token = self.router.session.client_token
        live.register(token, user_id)
        live.show_thread(token, thread.id)
        (await self.get_state(InboxState)).selected_id = self.open_id
        window = self._window()
        if revisit and window.last_id():
            await self._catch_up(user_id, window)  # reconnect / revisit
        else:
            self.typing_name = ""
            window.start(self._views(await self._page(user_id)), page=PAGE)
        await self._keep(window)
        if self.tab_visible:
            await self._mark_read(user_id)
        return None

    @rx.event
    async def load_older(self):
        user_id = await self._user()
        window = self._window()
        if user_id is None or not window.first_id() or not self.has_older:
            return
        window.prepend_older(
            self._views(await self._page(user_id, before=window.first_id())), page=PAGE
        )
        await self._keep(window)

    @rx.event
    async def close(self):
        """Leaving the thread page: stop showing this thread live."""
        live.show_thread(self.router.session.client_token, None)
        self.open_id, self.items, self.typing_name = "", [], ""
        (await self.get_state(InboxState)).selected_id = ""

    @rx.event
    async def tab_shown(self):
        self.tab_visible = True
        user_id = await self._user()
        if user_id is not None:
            await self._mark_read(user_id)

    @rx.event
    def tab_hidden(self):
        self.tab_visible = False

    # --- sending ----------------------------------------------------------------------------

    @rx.event(background=True)
    async def send(self, form_data: dict[str, Any]):
        """Show the message at once as pending, store it, then show it sent (or failed).

        A background task: the pending bubble goes out when the first `async with self`
        block ends (no second browser round trip), and the tab's state is not locked while
        the database works, so live updates for this tab are not queued behind its send.
        """
        body = form_data.get("body") if isinstance(form_data, dict) else None
        if not isinstance(body, str) or not body.strip():
            return None
        if len(body) > MAX_MESSAGE_CHARS:
            # The composer stops at the limit; only a forged event gets here. Nothing is kept.
            return rx.toast.error(f"Messages are limited to {MAX_MESSAGE_CHARS:,} characters.")
        client_msg_id = uuid.uuid4().hex
        async with self:
            user_id = await self._user()
            if user_id is None:
                return rx.redirect(routes.LOGIN)
            route_id = self._route_thread_id()
            if route_id and self.open_id != route_id:
                # Sent before the page's load ran (a fast typist right after opening the
                # thread): the browser already cleared the composer, so open the thread now
                # rather than drop the text, or send it to the thread shown before.
                redirect = await self.load()
                if redirect is not None:
                    return redirect
            if not self.open_id or self.open_id != (route_id or self.open_id):
                return rx.toast.error("This conversation could not be opened; nothing was sent.")
            window = self._window()
            window.add_pending(
                MessageView(
                    id=f"pending-{client_msg_id}",
                    seq=window.last_seq() + 1,
                    mine=True,
                    sender_name="You",
                    segments=segments(body),
                    created_at=utcnow().isoformat(),
                    status="pending",
                    client_msg_id=client_msg_id,
                )
            )
            await self._keep(window)
            token = self.router.session.client_token
        return await self._store(token, user_id, client_msg_id, body)

    @rx.event(background=True)
    async def retry(self, client_msg_id: str):
        async with self:
            user_id = await self._user()
            if user_id is None:
                return rx.redirect(routes.LOGIN)
            window = self._window()
            body = window.failed_body(client_msg_id) if isinstance(client_msg_id, str) else None
            if body is None:
                return None
            window.set_status(client_msg_id, "pending")
            await self._keep(window)
            token = self.router.session.client_token
        return await self._store(token, user_id, client_msg_id, body)

    async def _store(self, token: str, user_id: uuid.UUID, client_msg_id: str, body: str):
        """Store a pending message outside the state lock. A retry reuses its client_msg_id,
        so it never duplicates; one tab's sends are stored in the order typed."""
        async with _send_order(token):
            async with self:
                if not self._window().waiting(client_msg_id):
                    return None  # already confirmed (e.g. by the realtime path), or left
                thread_id, counterparty = self.open_id, self._counterparty_id
            problem = None
            try:
                stored = await aio.sends.call(
                    messages.send_message,
                    user_id=user_id,
                    thread_id=thread_id,
                    body=body,
                    client_msg_id=client_msg_id,
                )
            except DomainError as exc:
                problem = exc.message
            except Exception:
                problem = "Could not send the message. Retry when you are back online."
        async with self:
            window = self._window()
            if problem is not None:
                window.set_status(client_msg_id, "failed")
                await self._keep(window)
                return rx.toast.error(problem)
            if self.open_id == thread_id:  # still the same thread on screen
                window.merge(self._views([stored]))
                await self._keep(window)
        if counterparty:
            live.stopped_typing(thread_id=uuid.UUID(thread_id), to_user=uuid.UUID(counterparty))
        return None

    # --- attachments ------------------------------------------------------------------------

    @rx.event
    def upload_progress(self, progress: dict[str, Any]):
        fraction = progress.get("progress", 0) if isinstance(progress, dict) else 0
        if isinstance(fraction, int | float):
            self.upload_percent = max(0, min(100, int(fraction * 100)))
            self.uploading = fraction < 1

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        """Store each file (type sniffed, size checked by the service) and post it."""
        user_id = await self._user()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        problems = []
        window = self._window()
        try:
            for upload in files:
                try:
                    stored = await aio.call(
                        attachments.store_attachment,
                        user_id=user_id,
                        thread_id=self.open_id,
                        filename=upload.name or upload.filename or "file",
                        source=upload.file,
                    )
                    message = await aio.call(
                        messages.send_message,
                        user_id=user_id,
                        thread_id=self.open_id,
                        body="",
                        attachment_id=stored.id,
                        client_msg_id=f"upload-{stored.id}",
                    )
                except DomainError as exc:
                    problems.append(f"{upload.name or 'File'}: {exc.message}")
                    continue
                window.merge(self._views([message]))
        finally:
            self.uploading, self.upload_percent = False, 0
        await self._keep(window)
        if problems:
            return rx.toast.error(" ".join(problems), duration=8000)
        return None

    @rx.event
    async def composer_changed(self, value: str):
        """Typing indicator for the other side, at most one notice every 2 s."""
        if not value or not self.open_id or not self._counterparty_id:
            return
        now = time.monotonic()
        if now - self._last_typing_sent < TYPING_THROTTLE_SECONDS:
            return
        if await self._user() is None:
            return
        self._last_typing_sent = now
        live.typing(
            thread_id=uuid.UUID(self.open_id),
            to_user=uuid.UUID(self._counterparty_id),
            name=(await self.get_state(SessionState)).display_name,
        )

    # --- thread actions ---------------------------------------------------------------------

    async def _update(self, **changes: Any):
        user_id = await self._user()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        try:
            thread = await aio.call(
                threads.update_thread, user_id=user_id, thread_id=self.open_id, **changes
            )
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self._apply_header(thread)
        return None

    @rx.event
    async def set_status(self, status: str):
        return await self._update(status=status)

    @rx.event
    async def add_tag(self, form_data: dict[str, Any]):
        tag = form_data.get("tag") if isinstance(form_data, dict) else None
        if not isinstance(tag, str) or not tag.strip():
            return None
        return await self._update(add_tags=[tag])

    @rx.event
    async def remove_tag(self, tag: str):
        return await self._update(remove_tags=[tag])

    # --- live view (realtime/views.py) --------------------------------------------------------

    async def _live_resync(self, user_id: uuid.UUID) -> str | None:
        """Events may have been missed: refresh the header, catch up from the newest held."""
        if not self.open_id or self._me != str(user_id):
            return None
        window = self._window()
        try:
            self._apply_header(
                await aio.call(inbox.get_thread, user_id=user_id, thread_id=self.open_id)
            )
            await self._catch_up(user_id, window)
        except DomainError:
            return None
        await self._keep(window)
        return self.open_id if self.tab_visible else None

    async def _live_apply(self, update: Update) -> str | None:
        """Apply a pushed update; the thread to mark read when the tab shows new messages."""
        if not isinstance(update, UserUpdate | TypingUpdate):
            return None
        if str(update.thread_id) != self.open_id or not self._me:
            return None
        if isinstance(update, TypingUpdate):
            if self.typing_name != update.name:
                self.typing_name = update.name
            return None
        if update.user_id != uuid.UUID(self._me):
            return None  # pushed for a user this tab no longer shows
        if update.thread is not None:
            self._apply_header(update.thread)
        if update.seen_seq is not None and update.seen_seq > self.seen_seq:
            self.seen_seq = update.seen_seq
        window = self._window()
        if update.reload:
            window.replace_newest(self._views(await self._page(update.user_id)), page=PAGE)
        message = update.message
        if message is not None:
            if window.leaves_a_gap(message.seq):
                await self._catch_up(update.user_id, window)
            else:
                window.merge(self._views([message]))
            if str(message.sender_id) != self._me and self.typing_name:
                self.typing_name = ""
        await self._keep(window)
        theirs = message is not None and str(message.sender_id) != self._me
        return self.open_id if theirs and self.tab_visible else None


# One lock per tab while it stores a message: sends run as background tasks, and two typed in
# quick succession must not overtake each other on the way to the database.
_send_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def _send_order(token: str) -> asyncio.Lock:
    lock = _send_locks.get(token)
    if lock is None:
        lock = _send_locks[token] = asyncio.Lock()
    return lock
