"""The open thread's state and its event surface: loads, thread actions, the composer.

One idea per module around it: `thread_window.MessageWindow` (the window's rules),
`thread_send.py` (sending text and files), `thread_edit.py` (editing and deleting my own
messages), `thread_mute.py` (muting the thread), `thread_status.py` (archive, close,
reopen), `thread_live.py` (what a pushed update does),
`thread_view.py` (the view); they use this state's `_private` helpers. Every public method
here is an event the browser may send with any payload (allow-listed in
tests/test_event_surface.py): identity comes from SessionState only.
"""

from __future__ import annotations

import contextlib
import uuid
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import reflex as rx

from arbibase_chat import admission, aio, routes
from arbibase_chat.components.message_bubble import MessageView
from arbibase_chat.components.offer_card import OfferCardView
from arbibase_chat.models import MessagePublic, ThreadPublic
from arbibase_chat.pages import (
    thread_ai,
    thread_deal,
    thread_edit,
    thread_jump,
    thread_live,
    thread_mute,
    thread_send,
    thread_status,
)
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.pages.thread_window import PAGE, PARTS, MessageWindow, split_window
from arbibase_chat.realtime import views as live
from arbibase_chat.realtime.updates import Update
from arbibase_chat.services import inbox, messages, reads, threads
from arbibase_chat.services.deals import STAGE_LABELS
from arbibase_chat.services.errors import DomainError
from arbibase_chat.session import SessionState, user_view

UPLOAD_ID = "attachment-upload"


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
    # My mute of this thread (pages/thread_mute.py): an ISO time, or until I unmute.
    muted_until: str = ""
    muted_forever: bool = False
    # The deal panel (pages/thread_deal.py)
    stage: str = ""
    property_id: str = ""
    property_address: str = ""
    property_rent: str = ""
    property_facts: str = ""
    latest_offer: str = ""
    latest_offer_rent: str = ""  # the phone's short form of it
    latest_offer_status: str = ""
    offer_waiting: bool = False  # the latest offer waits for my answer
    # The thread's plan (its operator's tier) and what it leaves out (services/policy.py)
    plan: str = ""
    can_attach: bool = True
    attach_note: str = ""
    # AI reply suggestions (pages/thread_ai.py): the thread's operator only, by plan
    ai_show: bool = False
    ai_allowed: bool = False
    ai_note: str = ""
    ai_chips: list[dict[str, str]] = []
    ai_source: str = ""
    ai_notice: str = ""
    ai_loading: bool = False
    # Offer dialogs: the version being countered / declined / confirmed, the lost-deal form
    counter_for: str = ""
    counter_defaults: dict[str, str] = {}
    counter_error: str = ""
    decline_for: str = ""
    confirm_action: str = ""
    confirm_offer: str = ""
    lost_open: bool = False
    # My own message being edited / asked to delete (pages/thread_edit.py)
    editing_id: str = ""
    edit_text: str = ""
    deleting_id: str = ""
    # Close / reopen asked for, awaiting confirmation (pages/thread_status.py)
    confirm_status_to: str = ""
    # Conversation (see MessageWindow): the window, sent to the tab in PARTS, oldest first:
    # the newest few apart from the recent ones and the history (thread_window.split_window)
    history: list[MessageView] = []
    recent: list[MessageView] = []
    tail: list[MessageView] = []
    seen_id: str = ""  # my latest message the other side has read ("Seen" goes under it)
    has_older: bool = False
    seen_seq: int = 0  # the other side has read my messages up to this number
    typing_name: str = ""
    tab_visible: bool = True
    upload_percent: int = 0
    uploading: bool = False  # the browser is sending a file's bytes (its progress events)
    # The server is storing and posting a file: from the upload handler's start to its end.
    # The paperclip is busy until then, one file at a time (pages/thread_send.py).
    upload_in_flight: bool = False
    # Uploads whose handler has finished, and progress reports at 100 % seen: which upload a
    # late report belongs to (pages/thread_send.py upload_progress).
    _uploads_done: int = 0
    _progress_ends: int = 0
    _me: str = ""
    # The reader's time zone (day labels), from the session when the thread is opened: a push
    # then needs no SessionState, which with Redis is one more read and unpickle per update.
    _zone_key: str = "UTC"
    _counterparty_id: str = ""
    _names: dict[str, str] = {}
    _last_typing_sent: float = 0.0
    _cards: dict[str, OfferCardView] = {}  # message id -> its offer card
    _terms: dict[str, dict[str, Any]] = {}  # offer id -> its terms (the counter form's start)

    @rx.var
    def is_closed(self) -> bool:
        return self.status == "closed"

    @rx.var
    def stage_label(self) -> str:
        return STAGE_LABELS.get(self.stage, "")

    @rx.var
    def is_muted(self) -> bool:
        return self.muted_forever or self.muted_until != ""

    # --- helpers (backend only) -------------------------------------------------------------

    async def _user(self) -> uuid.UUID | None:
        return await (await self.get_state(SessionState))._current_user_id()

    def _route_thread_id(self) -> str:
        return str(self.router.page.params.get("thread_id", "") or "")

    def _held(self) -> list[list[MessageView]]:
        """The PARTS the tab holds: the views themselves, not Reflex's change-tracking
        proxies of them. Comparing and relabelling a window of proxies was half the CPU of a
        message with 100 in view; nothing changes a view in place (thread_window.py), so
        sharing them is safe."""
        return [self.get_value(part) for part in PARTS]

    def _on_screen(self) -> list[MessageView]:
        """The window the tab holds (its PARTS, joined)."""
        return [view for part in self._held() for view in part]

    def _window(self) -> MessageWindow:
        return MessageWindow(self._on_screen(), self.has_older)

    async def _keep(self, window: MessageWindow) -> None:
        """Label the days and assign what changed (Reflex resends every assigned var)."""
        window.label(ZoneInfo(self._zone_key))
        self._show(window.items)
        if window.has_older != self.has_older:
            self.has_older = window.has_older

    def _show(self, items: list[MessageView], *, again: bool = False) -> None:
        """Put the window on screen: a new message resends the short tail and now and then
        the parts before it, not the window (up to WINDOW messages; each update carried all
        of them once). `again`: send every part even if unchanged (the tab may have missed
        them)."""
        held = self._held()
        edges = [0, *split_window(items, held[:-1]), len(items)]
        for name, part, (start, end) in zip(PARTS, held, pairwise(edges), strict=True):
            if again or items[start:end] != part:
                setattr(self, name, items[start:end])
        self._see()

    def _see(self, seq: int | None = None) -> None:
        """The other side has read my messages up to `seq` (None: as known)."""
        if seq is not None and seq > self.seen_seq:
            self.seen_seq = seq
        seen = MessageWindow(self._on_screen()).seen_id(self.seen_seq)
        if seen != self.seen_id:
            self.seen_id = seen

    def _views(self, batch: list[MessagePublic]) -> list[MessageView]:
        views = [MessageView.from_message(m, me=self._me, names=self._names) for m in batch]
        return thread_deal.decorate(views, self._cards)

    def _apply_header(self, thread: ThreadPublic) -> None:
        header = {
            "subject": thread.subject or thread.property_title,
            "property_title": thread.property_title,
            "counterparty_name": thread.counterparty_name,
            "status": thread.status,
            "tags": list(thread.tags),
            "stage": thread.stage,
            **thread_mute.header_fields(thread.muted_until),
        }
        for name, value in header.items():
            if getattr(self, name) != value:
                setattr(self, name, value)
        if str(thread.id) != self.open_id:
            self.seen_seq = 0  # another thread: its own "Seen"
        self._see(thread.counterparty_last_read_seq)
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

    async def _merge_in_order(
        self, user_id: uuid.UUID, window: MessageWindow, batch: list[MessagePublic]
    ) -> None:
        """Add stored messages (pushed, or my own send's). One beyond the next number means
        something in between was missed (e.g. while the database listener reconnected): page
        forward first, or the window would hold a hole that no catch-up from its newest
        message could ever fill."""
        if batch and window.leaves_a_gap(min(m.seq for m in batch)):
            await self._catch_up(user_id, window)
        window.merge(self._views(batch))

    async def _load_plan(self, user_id: uuid.UUID) -> None:
        """What the thread's plan includes: the attach button follows it."""
        try:
            found = await aio.call(threads.thread_features, user_id=user_id, thread_id=self.open_id)
        except DomainError:
            return
        note = found.missing.get("attachments", "")
        for name, value in (
            ("plan", found.tier),
            ("can_attach", "attachments" in found.features),
            ("attach_note", note),
        ):
            if getattr(self, name) != value:
                setattr(self, name, value)
        thread_ai.apply_plan(self, found)

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
        self._zone_key = (await self.get_state(SessionState))._zone().key
        token = self.router.session.client_token
        # Registered before the reads: the hub then keeps the row read here (what it routes
        # meanwhile it reads for itself).
        live.register(token, user_id)
        try:
            thread = await aio.call(
                inbox.get_thread, user_id=user_id, thread_id=self._route_thread_id()
            )
        except DomainError:
            self.not_found, self.open_id = True, ""
            self._show([])
            return None
        live.read_thread(user_id, thread)
        self.not_found = False
        self._apply_header(thread)
        revisit = self.open_id == str(thread.id) and bool(self._on_screen())
        self.open_id = str(thread.id)
        if not revisit:
            self.counter_for = self.decline_for = self.confirm_offer = ""
            self.editing_id = self.deleting_id = self.confirm_status_to = ""
            self.lost_open = False
            await thread_deal.load_property(self, user_id, thread.property_id)
        thread_ai.reset(self, is_operator=thread.my_role == "operator", revisit=revisit)
        await self._load_plan(user_id)
        await thread_deal.load_offers(self, user_id)
        live.show_thread(token, thread.id)
        live.set_visible(token, self.tab_visible)
        (await self.get_state(InboxState)).selected_id = self.open_id
        window = self._window()
        if revisit and window.last_id():
            await self._catch_up(user_id, window)  # reconnect / revisit
        else:
            self.typing_name = ""
            window.start(self._views(await self._page(user_id)), page=PAGE)
        await thread_jump.reach(self, user_id, window)  # `?m=<seq>`: a search result
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
        self.open_id, self.typing_name = "", ""
        self._show([])
        (await self.get_state(InboxState)).selected_id = ""

    @rx.event
    async def tab_shown(self):
        self.tab_visible = True
        live.set_visible(self.router.session.client_token, True)
        user_id = await self._user()
        if user_id is not None:
            await self._mark_read(user_id)

    @rx.event
    def tab_hidden(self):
        self.tab_visible = False
        live.set_visible(self.router.session.client_token, False)

    # --- sending (pages/thread_send.py) -----------------------------------------------------

    @rx.event(background=True)
    async def send(self, form_data: dict[str, Any]):
        admission.sends.started()  # admitted at the socket (arbibase_chat/admission.py)
        try:
            return await thread_send.send_text(self, form_data)
        finally:
            admission.sends.finished()

    @rx.event(background=True)
    async def retry(self, client_msg_id: str):
        return await thread_send.retry(self, client_msg_id)

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        async for update in thread_send.upload_files(self, files):
            yield update

    # --- my own messages: edit, delete (pages/thread_edit.py) -------------------------------

    @rx.event
    def start_edit(self, message_id: str):
        thread_edit.start_edit(self, message_id)

    @rx.event
    def cancel_edit(self):
        self.editing_id = ""

    @rx.event
    async def save_edit(self, form_data: dict[str, Any]):
        return await thread_edit.save_edit(self, form_data)

    @rx.event
    def ask_delete(self, message_id: str):
        thread_edit.ask_delete(self, message_id)

    @rx.event
    def cancel_delete(self):
        self.deleting_id = ""

    @rx.event
    async def confirm_delete(self):
        return await thread_edit.confirm_delete(self)

    # --- composer ---------------------------------------------------------------------------

    @rx.event
    def upload_progress(self, progress: dict[str, Any]):
        thread_send.upload_progress(self, progress)

    @rx.event
    async def composer_changed(self, value: str):
        """Typing indicator for the other side, at most one notice every 2 s."""
        await thread_send.typing(self, value)

    # --- mute (pages/thread_mute.py) ---------------------------------------------------------

    @rx.event
    async def mute(self, duration: str):
        """Mute this thread: "1h", "1d" or "forever" (the menu's choices)."""
        return await thread_mute.mute(self, duration)

    @rx.event
    async def unmute(self):
        return await thread_mute.unmute(self)

    # --- AI reply suggestions (pages/thread_ai.py) ------------------------------------------

    @rx.event(background=True)
    async def suggest_replies(self):
        """Up to three drafts as chips above the composer; a click only fills the composer."""
        await thread_ai.suggest(self)

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

    # --- status (pages/thread_status.py) ---------------------------------------------------

    @rx.event
    async def set_status(self, status: str):
        """Archive / unarchive at once (mine); close / reopen ask first (shared)."""
        return await thread_status.set_status(self, status)

    @rx.event
    async def confirm_status(self):
        return await thread_status.confirm(self)

    @rx.event
    def cancel_status(self):
        thread_status.cancel(self)

    @rx.event
    async def add_tag(self, form_data: dict[str, Any]):
        tag = form_data.get("tag") if isinstance(form_data, dict) else None
        if not isinstance(tag, str) or not tag.strip():
            return None
        return await self._update(add_tags=[tag])

    @rx.event
    async def remove_tag(self, tag: str):
        return await self._update(remove_tags=[tag])

    # --- the deal (pages/thread_deal.py) ----------------------------------------------------

    @rx.event
    def ask(self, action: str, offer_id: str):
        """Open the confirmation for accepting or withdrawing an offer."""
        if action in ("accept", "withdraw") and isinstance(offer_id, str):
            self.confirm_action, self.confirm_offer = action, offer_id

    @rx.event
    def cancel_confirm(self):
        self.confirm_action, self.confirm_offer = "", ""

    @rx.event
    async def confirm(self):
        action, offer_id = self.confirm_action, self.confirm_offer
        self.confirm_action, self.confirm_offer = "", ""
        return await thread_deal.step(self, action, offer_id)

    @rx.event
    def open_decline(self, offer_id: str):
        self.decline_for = offer_id if isinstance(offer_id, str) else ""

    @rx.event
    def close_decline(self):
        self.decline_for = ""

    @rx.event
    async def decline(self, form_data: dict[str, Any]):
        offer_id, self.decline_for = self.decline_for, ""
        reason = form_data.get("reason") if isinstance(form_data, dict) else None
        return await thread_deal.step(self, "decline", offer_id, reason)

    @rx.event
    def open_counter(self, offer_id: str):
        if isinstance(offer_id, str) and offer_id in self._terms:
            self.counter_defaults = thread_deal.counter_defaults(self, offer_id)
            self.counter_for, self.counter_error = offer_id, ""

    @rx.event
    def close_counter(self):
        self.counter_for, self.counter_error = "", ""

    @rx.event
    async def counter(self, form_data: dict[str, Any]):
        if not isinstance(form_data, dict):
            return None
        return await thread_deal.counter(self, {**form_data, "offer_id": self.counter_for})

    @rx.event
    def open_lost(self):
        self.lost_open = True

    @rx.event
    def close_lost(self):
        self.lost_open = False

    @rx.event
    async def set_stage(self, form_data: dict[str, Any]):
        return await thread_deal.set_stage(self, form_data)

    # --- live view (realtime/views.py; pages/thread_live.py) ------------------------------------

    async def _live_apply(self, update: Update) -> str | None:
        return await thread_live.apply(self, update)

    async def _live_resync(self, user_id: uuid.UUID) -> str | None:
        return await thread_live.resync(self, user_id)
