"""Sending in the open thread: text (pending → sent / failed, retry), files, typing.

The bodies of ChatState's `send`, `retry` and `upload` handlers (pages/thread.py keeps the
thin event surface). `send` and `retry` run as background tasks: the tab's state is not
locked while the database works, so live updates for the tab are not queued behind its own
send. One tab's sends are stored in the order typed.

A send that is stored and pushed back within PENDING_AFTER_SECONDS shows once, as sent: the
"Sending…" bubble would be on screen for less than a frame of attention and costs the tab a
whole state update (a third of a message's updates). Slower ones show it at that point; a
send that starts while others are storing in the worker (it will wait) shows it at once, in
the update its event makes anyway, rather than in a second one.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.components.message_bubble import MessageView
from arbibase_chat.db import utcnow
from arbibase_chat.models import MessagePublic
from arbibase_chat.pages import upload_progress as upload_progress_reports
from arbibase_chat.pages.thread_window import MessageWindow
from arbibase_chat.realtime import views as live
from arbibase_chat.services import attachments, messages
from arbibase_chat.services.errors import DomainError, UpgradeRequired
from arbibase_chat.services.validation import MAX_MESSAGE_CHARS
from arbibase_chat.session import SessionState
from arbibase_chat.textlinks import segments

if TYPE_CHECKING:
    from arbibase_chat.pages.thread import ChatState

TYPING_THROTTLE_SECONDS = 2.0
# How long a send waits for the hub's push of its own message before showing it itself (the
# push normally lands within milliseconds; a hub backlog under overload may take longer).
OWN_PUSH_WAIT_SECONDS = 2.0
# How long a send may take before its "Sending…" bubble shows.
PENDING_AFTER_SECONDS = 0.1

# One lock per tab while it stores a message: two typed in quick succession must not overtake
# each other on the way to the database.
_send_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def _send_order(token: str) -> asyncio.Lock:
    lock = _send_locks.get(token)
    if lock is None:
        lock = _send_locks[token] = asyncio.Lock()
    return lock


async def send_text(chat: ChatState, form_data: Any) -> Any:
    """Store the message and show it sent (or failed); "Sending…" meanwhile if slow."""
    body = form_data.get("body") if isinstance(form_data, dict) else None
    if not isinstance(body, str) or not body.strip():
        return None
    if len(body) > MAX_MESSAGE_CHARS:
        # The composer stops at the limit; only a forged event gets here. Nothing is kept.
        return rx.toast.error(f"Messages are limited to {MAX_MESSAGE_CHARS:,} characters.")
    client_msg_id = _browser_send_id(form_data) or uuid.uuid4().hex
    async with chat:
        user_id = await chat._user()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        route_id = chat._route_thread_id()
        if route_id and chat.open_id != route_id:
            # Sent before the page's load ran (a fast typist right after opening the thread):
            # the browser already cleared the composer, so open the thread now rather than
            # drop the text, or send it to the thread shown before.
            redirect = await chat.load()
            if redirect is not None:
                return redirect
        if not chat.open_id or chat.open_id != (route_id or chat.open_id):
            return rx.toast.error("This conversation could not be opened; nothing was sent.")
        window = chat._window()
        failed = window.failed_body(client_msg_id) is not None
        if window.holds(client_msg_id) and not failed:
            # The browser sent this one again (assets/chat.js's "Not sent · Retry" for a send
            # it saw no answer to) and it is here already, pending or stored: one bubble, and
            # the tab gets the window again (the answer it missed may have been lost).
            chat._show(window.items, again=True)
            return None
        shown = failed or aio.sends.in_flight > 0
        if failed:
            window.set_status(client_msg_id, "pending")
        elif shown:
            # Other sends are storing in this worker: this one will wait its turn, so its
            # "Sending…" goes out now, with this update, not in a second one later.
            window.add_pending(_bubble(window, client_msg_id, body, "pending"))
        if shown:
            await chat._keep(window)
        # Storing the message ends my typing notice (the hub's); the next keystroke is a new
        # one and must go out at once, as assets/chat.js expects, not wait out the throttle.
        chat._last_typing_sent = 0.0
        target = _Target(chat.router.session.client_token, chat.open_id, chat._counterparty_id)
    return await _store(chat, target, user_id, client_msg_id, body, show_pending=not shown)


_SEND_ID = re.compile(r"[0-9a-f]{32}")


def _browser_send_id(form_data: dict[str, Any]) -> str | None:
    """The id assets/chat.js gives each send (a hidden field): a resend of a send that was
    never answered reuses it, and the service stores a (thread, sender, id) once. Anything
    else is ignored and the server picks one."""
    value = form_data.get("client_msg_id")
    return value if isinstance(value, str) and _SEND_ID.fullmatch(value) else None


async def retry(chat: ChatState, client_msg_id: Any) -> Any:
    async with chat:
        user_id = await chat._user()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        window = chat._window()
        body = window.failed_body(client_msg_id) if isinstance(client_msg_id, str) else None
        if body is None:
            return None
        window.set_status(client_msg_id, "pending")
        await chat._keep(window)
        target = _Target(chat.router.session.client_token, chat.open_id, chat._counterparty_id)
    return await _store(chat, target, user_id, client_msg_id, body, show_pending=False)


@dataclass(frozen=True)
class _Target:
    token: str  # the sending tab
    thread_id: str
    counterparty: str


def _bubble(window: MessageWindow, client_msg_id: str, body: str, status: str) -> MessageView:
    """My message as its own bubble (after the newest stored one) before the stored one
    replaces it."""
    return MessageView(
        id=f"pending-{client_msg_id}",
        seq=window.last_seq() + 1,
        mine=True,
        sender_name="You",
        segments=segments(body),
        created_at=utcnow().isoformat(),
        status=status,
        client_msg_id=client_msg_id,
    )


async def _store(
    chat: ChatState,
    target: _Target,
    user_id: uuid.UUID,
    client_msg_id: str,
    body: str,
    *,
    show_pending: bool,
) -> Any:
    """Store a message outside the state lock; a retry reuses its client_msg_id, so it never
    duplicates.

    The bubble shows as sent with the hub's push of the stored message (which also carries
    the inbox row and, when the other side is reading, "Seen"): one state update for all of
    it. `show_pending`: the tab has no bubble for it yet; one shows "Sending…" if that takes
    longer than PENDING_AFTER_SECONDS. Only when no hub push comes in time does the send
    show the stored message itself."""
    own = live.expect_own(target.token, client_msg_id)
    work = asyncio.ensure_future(_store_and_wait(target, user_id, client_msg_id, body, own))
    try:
        if show_pending:
            done, _ = await asyncio.wait({work}, timeout=PENDING_AFTER_SECONDS)
            if not done:
                async with chat:
                    window = chat._window()
                    # The push may have landed meanwhile: then it is there already.
                    if chat.open_id == target.thread_id and not window.holds(client_msg_id):
                        window.add_pending(_bubble(window, client_msg_id, body, "pending"))
                        await chat._keep(window)
        stored, problem, pushed = await work
    finally:
        if own is not None:
            live.drop_own(target.token, client_msg_id)
    if not pushed:
        async with chat:
            window = chat._window()
            if problem is not None:
                if chat.open_id == target.thread_id and not window.holds(client_msg_id):
                    window.add_pending(_bubble(window, client_msg_id, body, "failed"))
                window.set_status(client_msg_id, "failed")
                await chat._keep(window)
                return rx.toast.error(problem)
            if chat.open_id == target.thread_id and stored is not None:
                await chat._merge_in_order(user_id, window, [stored])
                await chat._keep(window)
    if target.counterparty:
        live.stopped_typing(
            thread_id=uuid.UUID(target.thread_id), to_user=uuid.UUID(target.counterparty)
        )
    return None


async def _store_and_wait(
    target: _Target,
    user_id: uuid.UUID,
    client_msg_id: str,
    body: str,
    own: asyncio.Future[None] | None,
) -> tuple[MessagePublic | None, str | None, bool]:
    """(the stored message, the problem that kept it from being stored, whether the hub's
    push of it reached the tab)."""
    async with _send_order(target.token):
        try:
            stored = await aio.sends.call(
                messages.send_message,
                user_id=user_id,
                thread_id=target.thread_id,
                body=body,
                client_msg_id=client_msg_id,
            )
        except DomainError as exc:
            return None, exc.message, False
        except Exception:
            return None, "Could not send the message. Retry when you are back online.", False
    if own is None:
        return stored, None, False
    try:
        await asyncio.wait_for(own, OWN_PUSH_WAIT_SECONDS)
    except TimeoutError:
        return stored, None, False
    return stored, None, True


async def upload_files(chat: ChatState, files: list[rx.UploadFile]) -> AsyncIterator[Any]:
    """Store each file (type sniffed, size and image bounds checked by the service) and post
    it as a message of its own.

    The first update marks the upload in flight before any file is stored: the paperclip
    shows it busy ("Saving…") until the file is posted (pages/thread_view.py)."""
    try:
        user_id = await chat._user()
        if user_id is None:
            yield rx.redirect(routes.LOGIN)
            return
        chat.upload_in_flight = True
        yield None
        problems = []
        window = chat._window()
        try:
            for upload in files:
                try:
                    stored = await aio.call(
                        attachments.store_attachment,
                        user_id=user_id,
                        thread_id=chat.open_id,
                        filename=upload.name or upload.filename or "file",
                        source=upload.file,
                    )
                    message = await aio.call(
                        messages.send_message,
                        user_id=user_id,
                        thread_id=chat.open_id,
                        body="",
                        attachment_id=stored.id,
                        client_msg_id=f"upload-{stored.id}",
                    )
                except UpgradeRequired as exc:
                    # The plan changed since the page loaded: the button follows it now.
                    await chat._load_plan(user_id)
                    problems.append(exc.message)
                    break
                except DomainError as exc:
                    problems.append(f"{upload.name or 'File'}: {exc.message}")
                    continue
                await chat._merge_in_order(user_id, window, [message])
        finally:
            chat.uploading, chat.upload_percent, chat.upload_in_flight = False, 0, False
        await chat._keep(window)
        if problems:
            yield rx.toast.error(" ".join(problems), duration=8000)
    finally:
        chat._uploads_done += 1


def upload_progress(chat: ChatState, progress: Any) -> None:
    """A progress report of the tab's upload; late ones are dropped (pages/upload_progress.py)."""
    fraction = upload_progress_reports.current_fraction(chat, progress)
    if fraction is None:
        return
    chat.upload_percent = int(fraction * 100)
    chat.uploading = fraction < 1


async def typing(chat: ChatState, value: Any) -> None:
    """Tell the other side that I am typing (`value` not empty: at once, then at most once
    every TYPING_THROTTLE_SECONDS; assets/chat.js throttles too), or that I emptied the
    composer ("": the indicator goes at once, not when the hub's timer runs out)."""
    if not isinstance(value, str) or not chat.open_id or not chat._counterparty_id:
        return
    if await chat._user() is None:
        return
    if not value:
        if chat._last_typing_sent:
            chat._last_typing_sent = 0.0
            live.stopped_typing(
                thread_id=uuid.UUID(chat.open_id), to_user=uuid.UUID(chat._counterparty_id)
            )
        return
    now = time.monotonic()
    if now - chat._last_typing_sent < TYPING_THROTTLE_SECONDS:
        return
    chat._last_typing_sent = now
    live.typing(
        thread_id=uuid.UUID(chat.open_id),
        to_user=uuid.UUID(chat._counterparty_id),
        name=(await chat.get_state(SessionState)).display_name,
    )
