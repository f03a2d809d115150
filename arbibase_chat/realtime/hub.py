"""One hub per worker: routes committed domain events to the sessions that need them.

Sessions register (client token → user, open thread) when a page loads. Events reach the hub
from one source per deployment (see `realtime/delivery.py`): the services' in-process
post-commit events (one worker on SQLite), a Redis channel every worker shares (several
workers on SQLite), or the Postgres listener (NOTIFY from any client). The hub works out once
per event and per affected user what changed (one small set of queries), and hands that to
`deliver(token, update)` for each of the user's connected sessions. No session polls.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from sqlalchemy.engine import Engine

from arbibase_chat import aio
from arbibase_chat.models import MessagePublic, ThreadPublic
from arbibase_chat.realtime import rows, views
from arbibase_chat.realtime.updates import (
    AccountChanged,
    Resync,
    TypingSignal,
    TypingUpdate,
    Update,
    UserUpdate,
)
from arbibase_chat.services import events, inbox, messages, reads
from arbibase_chat.services.errors import DomainError, NotFound

log = logging.getLogger(__name__)

TYPING_SECONDS = 5.0
# Sessions resynced at once after a source reconnects (each reads its thread and inbox).
RESYNC_CONCURRENCY = 8


class _ResyncAll:
    """Queue marker: resync every registered session, in order with the events around it."""


# The worker's way to put one update into one connected session (realtime/delivery.py).
PushToSession = Callable[[str, Update], Awaitable[None]]
Publish = Callable[[TypingSignal], None]
QueueItem = events.DomainEvent | TypingSignal | _ResyncAll
# How many message ids the hub remembers to drop a second arrival of the same message (the
# Redis bus and the Postgres listener can both carry one around a listener reconnect).
RECENT_MESSAGES = 4096


@dataclass
class _Session:
    user_id: uuid.UUID
    open_thread: uuid.UUID | None
    seen_at: float = field(default_factory=time.monotonic)
    visible: bool = False  # the page says the tab is in front (reading what it shows)


class Hub:
    def __init__(self, db: Engine | None = None) -> None:
        self._db = db  # None: the app's database (tests pass their own engine)
        self._sessions: dict[str, _Session] = {}
        self._by_user: dict[uuid.UUID, set[str]] = defaultdict(set)
        self._queue: asyncio.Queue[QueueItem] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._push_to_session: PushToSession | None = None
        self._publish_typing: Publish | None = None  # None: typing stays in this worker
        self._recent: OrderedDict[uuid.UUID, None] = OrderedDict()
        self._stash: dict[uuid.UUID, MessagePublic] = {}  # committed here, notice to come
        self._stash_lock = threading.Lock()
        self._rows = rows.RowCache()
        self._typing_timers: dict[tuple[uuid.UUID, uuid.UUID], asyncio.TimerHandle] = {}
        self._pending: set[asyncio.Future[None]] = set()
        # Reads this hub made and already folded into what it pushed: their own event is
        # dropped here when it comes back (other workers still route it to their tabs).
        self._own_reads: set[tuple[uuid.UUID, uuid.UUID, int]] = set()

    # --- sessions ---------------------------------------------------------------------------

    def register(self, token: str, user_id: uuid.UUID) -> None:
        """A session of `user_id` is on a page that shows live data."""
        old = self._sessions.get(token)
        if old is not None and old.user_id == user_id:
            old.seen_at = time.monotonic()
            return
        if old is not None:
            self.forget(token)  # the tab signed in as someone else
        self._sessions[token] = _Session(user_id=user_id, open_thread=None)
        self._by_user[user_id].add(token)

    def open(self, token: str, thread_id: uuid.UUID | None) -> None:
        """Which thread this session shows (None: the inbox only)."""
        session = self._sessions.get(token)
        if session is not None:
            session.open_thread = thread_id

    def set_visible(self, token: str, visible: bool) -> None:
        """The tab is in front (True) or hidden: a visible tab showing a thread reads it."""
        session = self._sessions.get(token)
        if session is not None:
            session.visible = visible

    def delivers_to(self, token: str) -> bool:
        """This hub is routing on the running loop and pushes to `token`."""
        if self._push_to_session is None or token not in self._sessions:
            return False
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _reads_here(self, user_id: uuid.UUID, thread_id: uuid.UUID) -> bool:
        """Some visible tab of `user_id` on this worker shows `thread_id`."""
        for token in self._by_user.get(user_id, ()):
            session = self._sessions[token]
            if session.visible and session.open_thread == thread_id:
                return True
        return False

    def forget(self, token: str) -> None:
        session = self._sessions.pop(token, None)
        if session is not None:
            self._by_user[session.user_id].discard(token)
            if not self._by_user[session.user_id]:
                del self._by_user[session.user_id]
                self._rows.forget_user(session.user_id)

    def tokens_of(self, user_id: uuid.UUID) -> list[str]:
        return list(self._by_user.get(user_id, ()))

    def open_thread_of(self, token: str) -> uuid.UUID | None:
        session = self._sessions.get(token)
        return session.open_thread if session else None

    # --- lifecycle --------------------------------------------------------------------------

    def start(
        self,
        push_to_session: PushToSession,
        *,
        local_events: bool = True,
        publish_typing: Publish | None = None,
    ) -> Callable[[], None]:
        """Get ready to route; returns the function that stops listening.

        `local_events`: route this process's own post-commit events (False when they come
        back through Redis or Postgres instead). `publish_typing`: send typing signals to
        every worker (each fans them out to its own tabs through `receive`).
        """
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._push_to_session = push_to_session
        self._publish_typing = publish_typing
        if not local_events:
            # The events come back from outside (ids only), but a message committed in this
            # process is already here: keep it for when its notice arrives (no read back).
            stash, lock = self._stash, self._stash_lock

            def keep_message(event: events.DomainEvent) -> None:
                if isinstance(event, events.MessageCreated) and event.message is not None:
                    with lock:  # committing threads and the loop both touch it
                        stash[event.message_id] = event.message
                        while len(stash) > RECENT_MESSAGES:
                            stash.pop(next(iter(stash)))

            return events.subscribe(keep_message)
        queue, loop = self._queue, self._loop

        def on_commit(event: events.DomainEvent) -> None:
            # Called in the thread that committed: hop onto the loop, never block it.
            loop.call_soon_threadsafe(queue.put_nowait, event)

        return events.subscribe(on_commit)

    def receive(self, item: events.DomainEvent | TypingSignal) -> None:
        """An event or typing signal from outside this process (call on the hub's loop)."""
        assert self._queue is not None, "start() first"
        self._queue.put_nowait(item)

    def resync(self) -> None:
        """Tell every registered session to catch up (call on the hub's loop)."""
        assert self._queue is not None, "start() first"
        self._queue.put_nowait(_ResyncAll())

    async def run(self) -> None:
        assert self._queue is not None, "start() first"
        while True:
            event = await self._queue.get()
            try:
                await self._route(event)
            except Exception:
                log.exception("realtime: could not route %r", event)
            finally:
                self._queue.task_done()

    async def drained(self) -> None:
        """Wait until every event received so far has been routed (tests, bench)."""
        assert self._queue is not None, "start() first"
        await asyncio.sleep(0)  # let events handed over with call_soon_threadsafe land
        await self._queue.join()

    # --- routing ----------------------------------------------------------------------------

    async def _route(self, event: QueueItem) -> None:
        if isinstance(event, TypingSignal):
            self._fan_out_typing(event.thread_id, event.to_user, event.name)
            return
        if isinstance(event, _ResyncAll):
            self._rows.clear()  # events may have been missed: nothing held can be trusted
            await self._resync_all()
            return
        if isinstance(event, events.AccountUpdated):
            # Nothing to compute: each of the user's sessions re-reads its own identity.
            await asyncio.gather(
                *(
                    self._push(t, AccountChanged(event.user_id))
                    for t in self.tokens_of(event.user_id)
                )
            )
            return
        if isinstance(event, events.MessageCreated) and self._already_routed(event.message_id):
            return
        if isinstance(event, events.ReadUpdated):
            key = (event.user_id, event.thread_id, event.last_read_seq)
            if key in self._own_reads:
                self._own_reads.discard(key)
                return  # folded into the message's push already (see _read_on_arrival)
        affected = [u for u in event.participant_ids if self._by_user.get(u)]
        if not affected:
            return
        message = None
        if isinstance(event, events.MessageCreated):
            # Committed in this process: no need to read it back.
            with self._stash_lock:
                message = event.message or self._stash.pop(event.message_id, None)
        if isinstance(event, events.MessageCreated) and message is None:
            message = await aio.call_realtime(
                messages.get_message,
                user_id=event.sender_id,
                message_id=event.message_id,
                db=self._db,
            )
        updates = await asyncio.gather(*(self._update_for(u, event, message) for u in affected))
        if isinstance(event, events.MessageCreated):
            await self._push_reading(event, affected, updates)
        else:
            await self._push_all(updates)

    async def _push_all(self, updates: list[UserUpdate | None]) -> None:
        await asyncio.gather(
            *(
                self._push(token, update)
                for update in updates
                if update is not None
                for token in self.tokens_of(update.user_id)
            )
        )

    async def _push_reading(
        self,
        event: events.MessageCreated,
        affected: list[uuid.UUID],
        updates: list[UserUpdate | None],
    ) -> None:
        """Push a new message; a recipient reading the thread in a visible tab here reads it
        on arrival. Their tabs get it already read at once (the read is written meanwhile),
        and the sender gets it with "Seen" once the read is stored: one push each, where a
        browser round trip would cost each side a second state update (and the reader's
        badge a flicker). The read's own event is dropped when it comes back here."""
        by_user = dict(zip(affected, updates, strict=True))
        readers = [
            u
            for u in affected
            if u != event.sender_id
            and by_user[u] is not None
            and self._reads_here(u, event.thread_id)
        ]
        if not readers:
            await self._push_all(updates)
            return
        marks = {
            reader: asyncio.ensure_future(
                aio.call_realtime(
                    reads.mark_read, user_id=reader, thread_id=event.thread_id, db=self._db
                )
            )
            for reader in readers
        }
        pushes = []
        for reader in readers:
            # What the read will do at least: up to this message.
            read_now = events.ReadUpdated(
                thread_id=event.thread_id,
                user_id=reader,
                last_read_seq=event.seq,
                participant_ids=event.participant_ids,
            )
            by_user[reader] = _merged(
                by_user[reader], await self._update_for(reader, read_now, None)
            )
            pushes.append(self._push_all([by_user.pop(reader)]))
        await asyncio.gather(*pushes, *marks.values(), return_exceptions=True)
        for reader, mark in marks.items():
            try:
                state = mark.result()
            except DomainError:
                await self._correct(reader, event.thread_id)  # not read after all
                continue
            except Exception:
                log.exception("realtime: could not mark %s read", event.thread_id)
                await self._correct(reader, event.thread_id)
                continue
            self._own_reads.add((reader, event.thread_id, state.last_read_seq))
            while len(self._own_reads) > RECENT_MESSAGES:
                self._own_reads.pop()  # a read event that never came back; not expected
            stored = events.ReadUpdated(
                thread_id=event.thread_id,
                user_id=reader,
                last_read_seq=state.last_read_seq,
                participant_ids=event.participant_ids,
            )
            for user in list(by_user):  # the others: "Seen" moves
                by_user[user] = _merged(by_user[user], await self._update_for(user, stored, None))
        await self._push_all(list(by_user.values()))

    async def _correct(self, user_id: uuid.UUID, thread_id: uuid.UUID) -> None:
        """The read pushed on arrival was not stored: push the row and total as they are."""
        self._rows.drop_total(user_id)
        try:
            row = await aio.call_realtime(
                inbox.get_thread, user_id=user_id, thread_id=thread_id, db=self._db
            )
        except DomainError:
            return
        self._rows.put(user_id, row)
        total = await aio.call_realtime(reads.unread_total, user_id=user_id, db=self._db)
        self._rows.set_total(user_id, total)
        await self._push_all(
            [UserUpdate(user_id=user_id, thread_id=thread_id, thread=row, unread_total=total)]
        )

    async def _resync_all(self) -> None:
        """Every session catches up, RESYNC_CONCURRENCY at a time. All at once, each push
        held its tab's state lock while its reads queued behind every other tab's: after a
        database restart with 250 tabs on a worker, all of them outlived Reflex's lock
        timeout and were dropped (bench/FAULTS.md). A push that fails is tried once more."""
        gate = asyncio.Semaphore(RESYNC_CONCURRENCY)

        async def one(user_id: uuid.UUID, token: str) -> None:
            async with gate:
                assert self._push_to_session is not None
                for attempt in (1, 2):
                    try:
                        await self._push_to_session(token, Resync(user_id))
                        return
                    except Exception:
                        if attempt == 2:
                            log.exception("realtime: resync of %s failed", token)

        await asyncio.gather(*(one(user_id, token) for user_id, token in self._all_sessions()))

    def _already_routed(self, message_id: uuid.UUID) -> bool:
        if message_id in self._recent:
            return True
        self._recent[message_id] = None
        if len(self._recent) > RECENT_MESSAGES:
            self._recent.popitem(last=False)
        return False

    def _all_sessions(self) -> list[tuple[uuid.UUID, str]]:
        return [(s.user_id, token) for token, s in self._sessions.items()]

    async def _update_for(
        self, user_id: uuid.UUID, event: events.ThreadEvent, message: MessagePublic | None
    ) -> UserUpdate | None:
        """What this event changed for this user: folded into the rows held, else read."""
        old = self._rows.row(user_id, event.thread_id)
        if isinstance(event, events.ReadUpdated) and event.user_id != user_id:
            # The other side read: only the "Seen" marker moves. No query.
            if old is not None and (seen := rows.after_read(old, event, user_id)) is not None:
                self._rows.put(user_id, seen)
            return UserUpdate(
                user_id=user_id, thread_id=event.thread_id, seen_seq=event.last_read_seq
            )
        thread = None
        if old is not None:
            if isinstance(event, events.MessageCreated) and message is not None:
                thread = rows.after_message(old, message, user_id)
            elif isinstance(event, events.ReadUpdated):
                thread = rows.after_read(old, event, user_id)
        if thread is None:
            try:
                thread = await aio.call_realtime(
                    inbox.get_thread, user_id=user_id, thread_id=event.thread_id, db=self._db
                )
            except NotFound:
                return None
        self._rows.put(user_id, thread)
        total = await self._total_after(user_id, event, old, thread)
        return UserUpdate(
            user_id=user_id,
            thread_id=event.thread_id,
            thread=thread,
            unread_total=total,
            message=message,
            reload=isinstance(event, events.MessagesChanged),
            read_to=(
                event.last_read_seq
                if isinstance(event, events.ReadUpdated) and event.user_id == user_id
                else None
            ),
        )

    async def _total_after(
        self,
        user_id: uuid.UUID,
        event: events.ThreadEvent,
        old: ThreadPublic | None,
        new: ThreadPublic,
    ) -> int | None:
        """The user's unread total if this event changed it (None: unchanged)."""
        known = self._rows.total(user_id)
        # A thread I muted (or had muted: a mute ends by the clock, with no event) is left out
        # of the total by `reads.unread_total`: read it rather than fold the row's count in.
        ever_muted = new.muted_until is not None or (
            old is not None and old.muted_until is not None
        )
        if old is not None and known is not None and not ever_muted:
            # The total is the sum of the rows' unread counts: it moves as this row moved.
            total = known + new.unread_count - old.unread_count
            self._rows.set_total(user_id, total)
            return total if total != known else None
        # A new message from the other side, or my own cursor moving, can change my unread
        # total: read it. Anything else leaves it alone, except that sending reads what came
        # before my message, so a total held without this thread's row is no longer sure.
        if (
            (isinstance(event, events.MessageCreated) and event.sender_id != user_id)
            or isinstance(event, events.ReadUpdated)
            or ever_muted
        ):
            total = await aio.call_realtime(reads.unread_total, user_id=user_id, db=self._db)
            self._rows.set_total(user_id, total)
            return total
        self._rows.drop_total(user_id)
        return None

    async def _push(self, token: str, update: Update) -> None:
        assert self._push_to_session is not None
        try:
            await self._push_to_session(token, update)
        except Exception:
            log.exception("realtime: delivery to %s failed", token)

    # --- typing (ephemeral: never stored) ---------------------------------------------------

    # The typer's worker keeps the timer and signals start and stop; every worker (itself
    # included) fans a signal out to its own tabs of `to_user` that show the thread.

    def typing(self, *, thread_id: uuid.UUID, to_user: uuid.UUID, name: str) -> None:
        """`name` is typing in `thread_id`: tell `to_user`'s tabs that have the thread open."""
        if self._loop is None:
            return
        key = (thread_id, to_user)
        if (timer := self._typing_timers.pop(key, None)) is not None:
            timer.cancel()
        else:
            self._signal(TypingSignal(thread_id, to_user, name))
        self._typing_timers[key] = self._loop.call_later(
            TYPING_SECONDS, self._stop_typing, thread_id, to_user
        )

    def stopped_typing(self, *, thread_id: uuid.UUID, to_user: uuid.UUID) -> None:
        if (timer := self._typing_timers.pop((thread_id, to_user), None)) is not None:
            timer.cancel()
            self._signal(TypingSignal(thread_id, to_user, ""))

    def _stop_typing(self, thread_id: uuid.UUID, to_user: uuid.UUID) -> None:
        self._typing_timers.pop((thread_id, to_user), None)
        self._signal(TypingSignal(thread_id, to_user, ""))

    def _signal(self, signal: TypingSignal) -> None:
        if self._publish_typing is not None:
            self._publish_typing(signal)
        else:
            self._fan_out_typing(signal.thread_id, signal.to_user, signal.name)

    def _fan_out_typing(self, thread_id: uuid.UUID, to_user: uuid.UUID, name: str) -> None:
        for token in self.tokens_of(to_user):
            if self.open_thread_of(token) == thread_id:
                task = asyncio.ensure_future(self._push(token, TypingUpdate(thread_id, name)))
                self._pending.add(task)  # keep a reference until it is done
                task.add_done_callback(self._pending.discard)


def _merged(first: UserUpdate | None, then: UserUpdate | None) -> UserUpdate | None:
    """Two updates for one user as one push: the later one's news wins where it has any."""
    if first is None or then is None:
        return first or then
    return replace(
        first,
        thread=then.thread or first.thread,
        unread_total=first.unread_total if then.unread_total is None else then.unread_total,
        seen_seq=first.seen_seq if then.seen_seq is None else then.seen_seq,
        read_to=first.read_to if then.read_to is None else then.read_to,
        reload=first.reload or then.reload,
    )


hub = Hub()
# Pages tell the hub what they show through realtime/views.py, never by importing it.
views.attach(hub)
