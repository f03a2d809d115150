"""The chat panel of one thread (with the inbox beside it on wide screens)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
import weakref
from dataclasses import replace
from typing import Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.components.message_bubble import MessageView, label_days, message_bubble
from arbibase_chat.config import get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.models import MessagePublic, ThreadPublic
from arbibase_chat.pages.inbox import InboxState, inbox_layout
from arbibase_chat.realtime.hub import TypingUpdate, UserUpdate, hub
from arbibase_chat.services import attachments, inbox, messages, reads, threads
from arbibase_chat.services.errors import DomainError
from arbibase_chat.services.validation import MAX_MESSAGE_CHARS
from arbibase_chat.session import SessionState, user_view
from arbibase_chat.textlinks import segments

PAGE = 50
UPLOAD_ID = "attachment-upload"
WINDOW = 200  # messages kept in state while following the conversation at the bottom
TYPING_THROTTLE_SECONDS = 2.0


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
    # Conversation
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

    # --- derived --------------------------------------------------------------------------

    @rx.var
    def seen_id(self) -> str:
        """My latest message the other side has read (where "Seen" goes)."""
        for view in reversed(self.items):
            if view.mine and view.status == "sent" and view.seq <= self.seen_seq:
                return view.id
        return ""

    @rx.var
    def is_closed(self) -> bool:
        return self.status == "closed"

    # --- helpers ---------------------------------------------------------------------------

    async def _session(self) -> tuple[SessionState, uuid.UUID | None]:
        session = await self.get_state(SessionState)
        return session, await session._current_user_id()

    def _route_thread_id(self) -> str:
        return str(self.router.page.params.get("thread_id", "") or "")

    def _apply_header(self, thread: ThreadPublic) -> None:
        # Assign only what changed: Reflex resends every var that is assigned, equal or not,
        # and the hub calls this on every pushed update.
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
        self._names = {
            self._me: "You",
            str(thread.counterparty_id): thread.counterparty_name,
        }

    def _views(self, batch: list[MessagePublic]) -> list[MessageView]:
        return [MessageView.from_message(m, me=self._me, names=self._names) for m in batch]

    def _last_seq(self) -> int:
        confirmed = [v.seq for v in self.items if v.status == "sent"]
        return max(confirmed, default=0)

    def _last_id(self) -> str:
        best = max((v for v in self.items if v.status == "sent"), key=lambda v: v.seq, default=None)
        return best.id if best else ""

    async def _relabel(self) -> None:
        session = await self.get_state(SessionState)
        label_days(self.items, session._zone())

    def _merge(self, batch: list[MessageView]) -> None:
        """Add confirmed messages: no duplicates, ordered by seq, pending ones kept last."""
        current = list(self.items)
        by_seq = {v.seq: v for v in current if v.status == "sent"}
        arrived = {v.client_msg_id for v in batch if v.client_msg_id}
        for view in batch:
            held = by_seq.get(view.seq)
            if held is None or held.id != view.id:  # a stored message never changes here
                by_seq[view.seq] = view
        pending = [v for v in current if v.status != "sent" and v.client_msg_id not in arrived]
        ordered = [by_seq[s] for s in sorted(by_seq)]
        if len(ordered) > WINDOW:
            ordered = ordered[-WINDOW:]
            self.has_older = True
        merged = ordered + pending
        if merged != current:  # e.g. my own message, confirmed by the send and by the hub
            self.items = merged

    # --- page events -----------------------------------------------------------------------

    @rx.event
    async def load(self):
        _, user_id = await self._session()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        wanted = self._route_thread_id()
        self._me = str(user_id)
        try:
            thread = await aio.call(inbox.get_thread, user_id=user_id, thread_id=wanted)
        except DomainError:
            self.not_found = True
            self.open_id = ""
            self.items = []
            return None
        self.not_found = False
        self._apply_header(thread)
        same_thread = self.open_id == str(thread.id) and self.items
        self.open_id = str(thread.id)
        token = self.router.session.client_token
        hub.register(token, user_id)
        hub.open(token, thread.id)
        (await self.get_state(InboxState)).selected_id = self.open_id
        if same_thread and self._last_id():
            # Reconnect / revisit: catch up from the newest message held. No gap, no dupes.
            await self._catch_up(user_id)
        else:
            self.typing_name = ""
            batch = await aio.call(
                messages.list_messages, user_id=user_id, thread_id=thread.id, limit=PAGE
            )
            self.items = self._views(batch)
            self.has_older = len(batch) == PAGE
        await self._relabel()
        if self.tab_visible:
            await self._mark_read(user_id)
        return None

    async def _catch_up(self, user_id: uuid.UUID) -> None:
        while True:
            batch = await aio.call(
                messages.list_messages,
                user_id=user_id,
                thread_id=self.open_id,
                after=self._last_id(),
                limit=PAGE,
            )
            if not batch:
                return
            self._merge(self._views(batch))
            if len(batch) < PAGE:
                return

    async def _reload_window(self, user_id: uuid.UUID) -> None:
        """Stored messages changed in place: fetch the newest page again, keep pending ones."""
        batch = await aio.call(
            messages.list_messages, user_id=user_id, thread_id=self.open_id, limit=PAGE
        )
        pending = [v for v in self.items if v.status != "sent"]
        self.items = self._views(batch) + pending
        self.has_older = len(batch) == PAGE

    async def _resync(self, user_id: uuid.UUID) -> bool:
        """Events may have been missed: refresh the header, catch up from the newest message
        held. True when the caller should mark the thread read."""
        if not self.open_id or self._me != str(user_id):
            return False
        try:
            thread = await aio.call(inbox.get_thread, user_id=user_id, thread_id=self.open_id)
            self._apply_header(thread)
            await self._catch_up(user_id)
        except DomainError:
            return False
        await self._relabel()
        return self.tab_visible

    async def _mark_read(self, user_id: uuid.UUID) -> None:
        if not self.open_id:
            return
        with contextlib.suppress(DomainError):
            await aio.call(reads.mark_read, user_id=user_id, thread_id=self.open_id)

    @rx.event
    async def load_older(self):
        _, user_id = await self._session()
        first = next((v for v in self.items if v.status == "sent"), None)
        if user_id is None or first is None or not self.has_older:
            return None
        batch = await aio.call(
            messages.list_messages,
            user_id=user_id,
            thread_id=self.open_id,
            before=first.id,
            limit=PAGE,
        )
        self.has_older = len(batch) == PAGE
        self.items = self._views(batch) + self.items
        await self._relabel()
        return None

    @rx.event
    def close(self):
        """Leaving the thread page: stop showing this thread live."""
        hub.open(self.router.session.client_token, None)
        self.open_id = ""
        self.items = []
        self.typing_name = ""

    @rx.event
    async def tab_shown(self):
        self.tab_visible = True
        _, user_id = await self._session()
        if user_id is not None:
            await self._mark_read(user_id)

    @rx.event
    def tab_hidden(self):
        self.tab_visible = False

    # --- sending ---------------------------------------------------------------------------

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
            _, user_id = await self._session()
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
            pending = MessageView(
                id=f"pending-{client_msg_id}",
                seq=self._last_seq() + 1,
                mine=True,
                sender_name="You",
                segments=segments(body),
                created_at=_now_iso(),
                status="pending",
                client_msg_id=client_msg_id,
            )
            self.items = [*self.items, pending]
            token = self.router.session.client_token
        return await self._store(token, user_id, client_msg_id, body)

    @rx.event(background=True)
    async def retry(self, client_msg_id: str):
        async with self:
            _, user_id = await self._session()
            if user_id is None:
                return rx.redirect(routes.LOGIN)
            view = next((v for v in self.items if v.client_msg_id == client_msg_id), None)
            if view is None or view.status != "failed":
                return None
            body = "".join(s.text for s in view.segments)
            self.items = [
                _with_status(v, "pending") if v.client_msg_id == client_msg_id else v
                for v in self.items
            ]
            token = self.router.session.client_token
        return await self._store(token, user_id, client_msg_id, body)

    async def _store(self, token: str, user_id: uuid.UUID, client_msg_id: str, body: str):
        """Store a pending message (called outside the state lock). A retry reuses its
        client_msg_id, so it never duplicates; one tab's sends are stored in the order typed."""
        async with _send_order(token):
            async with self:
                if not any(
                    v.client_msg_id == client_msg_id and v.status != "sent" for v in self.items
                ):
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
            if problem is not None:
                self.items = [
                    _with_status(v, "failed") if v.client_msg_id == client_msg_id else v
                    for v in self.items
                ]
                return rx.toast.error(problem)
            if self.open_id == thread_id:  # still the same thread on screen
                self._merge(self._views([stored]))
                await self._relabel()
        if counterparty:
            hub.stopped_typing(thread_id=uuid.UUID(thread_id), to_user=uuid.UUID(counterparty))
        return None

    # --- attachments -----------------------------------------------------------------------

    @rx.event
    def upload_progress(self, progress: dict[str, Any]):
        fraction = progress.get("progress", 0)
        if isinstance(fraction, int | float):
            self.upload_percent = max(0, min(100, int(fraction * 100)))
            self.uploading = fraction < 1

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        """Store each file (type sniffed, size checked by the service) and post it."""
        _, user_id = await self._session()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        problems = []
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
                self._merge(self._views([message]))
        finally:
            self.uploading = False
            self.upload_percent = 0
        await self._relabel()
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
        self._last_typing_sent = now
        session = await self.get_state(SessionState)
        hub.typing(
            thread_id=uuid.UUID(self.open_id),
            to_user=uuid.UUID(self._counterparty_id),
            name=session.display_name,
        )

    # --- thread actions --------------------------------------------------------------------

    async def _update(self, **changes: Any):
        _, user_id = await self._session()
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
        tag = str(form_data.get("tag") or "")
        if not tag.strip():
            return None
        return await self._update(add_tags=[tag])

    @rx.event
    async def remove_tag(self, tag: str):
        return await self._update(remove_tags=[tag])

    # --- realtime --------------------------------------------------------------------------

    async def _apply(self, update: UserUpdate | TypingUpdate) -> bool:
        """Apply a pushed update; True when the caller should mark the thread read."""
        if str(update.thread_id) != self.open_id or not self._me:
            return False
        if isinstance(update, TypingUpdate):
            if self.typing_name != update.name:
                self.typing_name = update.name
            return False
        if update.thread is not None:
            self._apply_header(update.thread)
        if update.seen_seq is not None and update.seen_seq > self.seen_seq:
            self.seen_seq = update.seen_seq
        if update.reload:
            await self._reload_window(uuid.UUID(self._me))
            await self._relabel()
        if update.message is not None:
            message = update.message
            if message.seq > self._last_seq() + 1:
                await self._catch_up(uuid.UUID(self._me))  # a gap: page forward, no holes
            else:
                self._merge(self._views([message]))
            if str(message.sender_id) != self._me and self.typing_name:
                self.typing_name = ""
            await self._relabel()
            return self.tab_visible and str(message.sender_id) != self._me
        return False


# One lock per tab while it stores a message: sends run as background tasks, and two typed in
# quick succession must not overtake each other on the way to the database.
_send_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def _send_order(token: str) -> asyncio.Lock:
    lock = _send_locks.get(token)
    if lock is None:
        lock = _send_locks[token] = asyncio.Lock()
    return lock


def _now_iso() -> str:
    return utcnow().isoformat()


def _with_status(view: MessageView, status: str) -> MessageView:
    return replace(view, status=status)


# --- components ------------------------------------------------------------------------------

STATUS_ACTIONS = [
    ("active", "Reopen", "rotate-ccw"),
    ("archived", "Archive", "archive"),
    ("closed", "Close", "lock"),
]


def _actions_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                rx.icon("ellipsis-vertical", size=18),
                variant="ghost",
                aria_label="Thread actions",
                id="thread-actions",
            )
        ),
        rx.menu.content(
            *[
                rx.cond(
                    ChatState.status != status,
                    rx.menu.item(
                        rx.hstack(rx.icon(icon, size=14), rx.text(label), align="center"),
                        on_click=ChatState.set_status(status),
                    ),
                )
                for status, label, icon in STATUS_ACTIONS
            ],
        ),
    )


def _tags_bar() -> rx.Component:
    return rx.hstack(
        rx.foreach(
            ChatState.tags,
            lambda tag: rx.badge(
                tag,
                rx.icon(
                    "x",
                    size=12,
                    cursor="pointer",
                    on_click=ChatState.remove_tag(tag),
                    aria_label="Remove tag",
                ),
                variant="outline",
                class_name="thread-tag",
            ),
        ),
        rx.popover.root(
            rx.popover.trigger(
                rx.button(rx.icon("tag", size=12), "Tag", size="1", variant="ghost", id="add-tag")
            ),
            rx.popover.content(
                rx.form(
                    rx.hstack(
                        rx.input(
                            name="tag",
                            placeholder="e.g. Offer Sent",
                            max_length=40,
                            id="tag-input",
                            auto_focus=True,
                        ),
                        rx.popover.close(rx.button("Add", type="submit", size="2")),
                    ),
                    on_submit=ChatState.add_tag,
                    reset_on_submit=True,
                ),
            ),
        ),
        spacing="1",
        wrap="wrap",
        align="center",
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.link(
            rx.icon_button(
                rx.icon("arrow-left", size=18), variant="ghost", aria_label="Back to inbox"
            ),
            href=routes.INBOX,
            display=["inline-flex", "inline-flex", "none"],
        ),
        rx.vstack(
            rx.hstack(
                rx.text(
                    ChatState.counterparty_name, weight="bold", size="3", id="chat-counterparty"
                ),
                rx.text("·", color=rx.color("gray", 9)),
                rx.text(ChatState.property_title, size="2", color=rx.color("gray", 11)),
                rx.badge(ChatState.status, variant="soft", id="chat-status"),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.text(ChatState.subject, size="2", color=rx.color("gray", 11)),
            _tags_bar(),
            spacing="1",
            flex="1",
            min_width="0",
        ),
        _actions_menu(),
        padding="10px 16px",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        align="start",
        width="100%",
    )


def _messages() -> rx.Component:
    return rx.box(
        rx.cond(
            ChatState.has_older,
            rx.center(
                rx.button(
                    "Load older messages",
                    id="load-older",
                    variant="ghost",
                    size="1",
                    on_click=ChatState.load_older,
                ),
                padding="8px",
            ),
        ),
        rx.foreach(
            ChatState.items, lambda view: message_bubble(view, ChatState.seen_id, ChatState.retry)
        ),
        rx.cond(
            ChatState.typing_name != "",
            rx.text(
                ChatState.typing_name,
                " is typing…",
                size="1",
                color=rx.color("gray", 10),
                id="typing-indicator",
                padding="4px 0",
            ),
        ),
        id="message-list",
        flex="1",
        overflow_y="auto",
        padding="12px 16px",
        width="100%",
    )


def _composer() -> rx.Component:
    return rx.cond(
        ChatState.is_closed,
        rx.center(
            rx.text(
                "This thread is closed. Reopen it from the menu to reply.",
                size="2",
                color=rx.color("gray", 10),
            ),
            padding="16px",
            border_top=f"1px solid {rx.color('gray', 5)}",
        ),
        rx.form(
            rx.cond(
                ChatState.uploading,
                rx.hstack(
                    rx.text("Uploading…", size="1"),
                    rx.progress(value=ChatState.upload_percent, max=100, flex="1"),
                    width="100%",
                    align="center",
                    id="upload-progress",
                    padding_bottom="6px",
                ),
            ),
            rx.hstack(
                rx.upload.root(
                    rx.icon_button(
                        rx.icon("paperclip", size=18),
                        variant="ghost",
                        size="3",
                        type="button",
                        aria_label="Attach a file",
                        id="attach-button",
                    ),
                    id=UPLOAD_ID,
                    multiple=False,
                    max_size=get_settings().max_attachment_bytes,
                    no_drag=True,
                    on_drop=ChatState.upload(
                        rx.upload_files(
                            upload_id=UPLOAD_ID, on_upload_progress=ChatState.upload_progress
                        )
                    ),
                    on_drop_rejected=rx.toast.error("That file is larger than the limit."),
                    border="none",
                    padding="0",
                ),
                rx.text_area(
                    name="body",
                    id="composer",
                    placeholder="Write a message…  (Enter sends, Shift+Enter adds a line)",
                    max_length=10_000,
                    rows="1",
                    resize="vertical",
                    flex="1",
                    on_change=ChatState.composer_changed.debounce(300),
                    aria_label="Message",
                ),
                rx.icon_button(
                    rx.icon("send", size=18),
                    type="submit",
                    id="send-button",
                    aria_label="Send",
                    size="3",
                ),
                align="end",
                width="100%",
            ),
            on_submit=ChatState.send,
            # Cleared in the browser at submit time: a server-side clear could wipe the next
            # message a fast typist already started.
            reset_on_submit=True,
            padding="10px 16px",
            border_top=f"1px solid {rx.color('gray', 5)}",
            width="100%",
        ),
    )


def _hidden_triggers() -> rx.Component:
    # Clicked by assets/chat.js when the tab becomes visible / hidden.
    return rx.fragment(
        rx.el.button(id="tab-visible", on_click=ChatState.tab_shown, hidden=True, type="button"),
        rx.el.button(id="tab-hidden", on_click=ChatState.tab_hidden, hidden=True, type="button"),
    )


def chat_panel() -> rx.Component:
    return rx.cond(
        ChatState.not_found,
        rx.center(
            rx.vstack(
                rx.heading("Conversation not found", size="4"),
                rx.link("Back to the inbox", href=routes.INBOX),
                align="center",
            ),
            height="100%",
            id="chat-not-found",
        ),
        rx.flex(
            _header(),
            rx.box(
                _messages(),
                rx.button(
                    rx.icon("arrow-down", size=14),
                    "New messages",
                    id="new-messages-pill",
                    size="1",
                    radius="full",
                    # assets/chat.js sets data-show="1" when messages arrive below the fold.
                    style={"&:not([data-show='1'])": {"display": "none"}},
                    position="absolute",
                    bottom="12px",
                    left="50%",
                    transform="translateX(-50%)",
                    type="button",
                ),
                position="relative",
                flex="1",
                min_height="0",
                display="flex",
                width="100%",
            ),
            _composer(),
            _hidden_triggers(),
            direction="column",
            height="100%",
            width="100%",
        ),
    )


def thread_page() -> rx.Component:
    return inbox_layout(chat_panel(), list_on_phone=False)
