"""One hub per worker: routes committed domain events to the sessions that need them.

Sessions register (client token → user, open thread) when a page loads. Events reach the hub
from one source per deployment (see `realtime/delivery.py`): the services' in-process
post-commit events (one worker on SQLite), a Redis channel every worker shares (several
workers on SQLite), or the Postgres listener (NOTIFY from any client). The hub works out once
per event and per affected user what changed (one small set of queries), and hands that to
`deliver(token, update)` for each of the user's connected sessions. No session polls.

Working out what changed is done in one place, in event order (the rows and totals held are
folds of the events before). Putting it into the tabs is not: each tab has a lane of its own,
so routing moves on to the next event while a tab's state is loaded and saved, and a tab that
fell behind gets everything it is owed in one state update. A tab gets its updates in the
order they were routed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Sequence
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


@dataclass(frozen=True)
class _CheckTotal:
    """Queue marker: read the user's unread total again (see `Hub._maybe_counted`)."""

    user_id: uuid.UUID
    thread_id: uuid.UUID  # the thread of the fold that made the total unsure


# The worker's way to put updates into one connected session, in order, as one state update
# (realtime/delivery.py).
PushToSession = Callable[[str, Sequence[Update]], Awaitable[None]]
Publish = Callable[[TypingSignal], None]
QueueItem = events.DomainEvent | TypingSignal | _ResyncAll | _CheckTotal
# How long after a fold that may have counted an event twice the total is read again, and
# how long an event may take from its commit to the hub's queue.
TOTAL_RECHECK_SECONDS = 0.25
TRANSIT_SECONDS = 0.05
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
        # Each item with the monotonic time it reached this process.
        self._queue: asyncio.Queue[tuple[float, QueueItem]] | None = None
        self._received_at = 0.0  # of the item being routed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._push_to_session: PushToSession | None = None
        self._publish_typing: Publish | None = None  # None: typing stays in this worker
        self._recent: OrderedDict[uuid.UUID, None] = OrderedDict()
        self._stash: dict[uuid.UUID, MessagePublic] = {}  # committed here, notice to come
        self._stash_lock = threading.Lock()
        self._rows = rows.RowCache()
        self._typing_timers: dict[tuple[uuid.UUID, uuid.UUID], asyncio.TimerHandle] = {}
        # Per tab: the updates routed for it and not yet put in, and the task putting them.
        self._lanes: dict[str, list[Update]] = {}
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}
        self._resync_gate: asyncio.Semaphore | None = None
        # Reads this hub made and already folded into what it pushed: their own event is
        # dropped here when it comes back (other workers still route it to their tabs).
        self._own_reads: set[tuple[uuid.UUID, uuid.UUID, int]] = set()
        # When each user's total was last read from the database (monotonic, wall clock),
        # and the users whose total is to be read again shortly.
        self._total_read_at: dict[uuid.UUID, tuple[float, float]] = {}
        self._rechecks: set[uuid.UUID] = set()

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
                self._total_read_at.pop(session.user_id, None)

    def learn(
        self,
        user_id: uuid.UUID,
        *,
        rows: Sequence[ThreadPublic] = (),
        total: int | None = None,
        read_at: tuple[float, float] | None = None,
    ) -> None:
        """What a page of `user_id` just read, after registering its tab: the rows it shows
        and the unread total (read at `read_at`: monotonic, wall clock, taken once the read
        returned). Kept only where the hub holds nothing yet, so the first event for them
        needs no read of its own (measured: two `get_thread`s and an `unread_total`, about
        half of an idle delivery's 11-15 ms on SQLite).

        Safe for the same reasons as the hub's own reads: rows fold forward only (an event
        the page's read already saw folds to the same row), and a total is folded only
        with a row held; one read before an event that is still queued is flagged by
        `_maybe_counted` and read again."""
        if not self._by_user.get(user_id):
            return  # no tab of theirs here: nothing would keep these current
        for row in rows:
            if self._rows.row(user_id, row.id) is None:
                self._rows.put(user_id, row)
        if total is not None and read_at is not None and self._rows.total(user_id) is None:
            self._rows.set_total(user_id, total)
            self._total_read_at[user_id] = read_at

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
        self._resync_gate = asyncio.Semaphore(RESYNC_CONCURRENCY)
        self._push_to_session = push_to_session
        self._publish_typing = publish_typing
        if not local_events:
            # The events come back from outside (ids only), but a message committed in this
            # process is already here: keep it for when its notice arrives (no read back).
            # Kept before the COMMIT is sent: its NOTIFY often reaches the listener before
            # the committing thread is back (measured: 2 of 3 idle sends on Postgres, each
            # then read back with `get_message`, ~4 ms on the delivery's path). A message
            # rolled back stays here unasked for until the newer ones push it out.
            stash, lock = self._stash, self._stash_lock

            def keep_message(event: events.DomainEvent) -> None:
                if isinstance(event, events.MessageCreated) and event.message is not None:
                    with lock:  # committing threads and the loop both touch it
                        stash[event.message_id] = event.message
                        while len(stash) > RECENT_MESSAGES:
                            stash.pop(next(iter(stash)))

            return events.subscribe_committing(keep_message)
        queue, loop = self._queue, self._loop

        def on_commit(event: events.DomainEvent) -> None:
            # Called in the thread that committed: hop onto the loop, never block it.
            loop.call_soon_threadsafe(queue.put_nowait, (time.monotonic(), event))

        return events.subscribe(on_commit)

    def receive(self, item: events.DomainEvent | TypingSignal) -> None:
        """An event or typing signal from outside this process (call on the hub's loop)."""
        self._put(item)

    def resync(self) -> None:
        """Tell every registered session to catch up (call on the hub's loop)."""
        self._put(_ResyncAll())

    def _put(self, item: QueueItem) -> None:
        """Queue `item` stamped with when it reached this process (on the hub's loop)."""
        assert self._queue is not None, "start() first"
        self._queue.put_nowait((time.monotonic(), item))

    async def run(self) -> None:
        assert self._queue is not None, "start() first"
        while True:
            self._received_at, event = await self._queue.get()
            try:
                await self._route(event)
            except Exception:
                log.exception("realtime: could not route %r", event)
            finally:
                self._queue.task_done()

    async def drained(self) -> None:
        """Wait until every event received so far has been routed and put into its tabs,
        totals read again included (tests, bench)."""
        assert self._queue is not None, "start() first"
        await asyncio.sleep(0)  # let events handed over with call_soon_threadsafe land
        while True:
            await self._queue.join()
            if self._lane_tasks:
                await asyncio.gather(*self._lane_tasks.values(), return_exceptions=True)
            elif self._rechecks:
                await asyncio.sleep(TOTAL_RECHECK_SECONDS / 5)
            else:
                return

    # --- routing ----------------------------------------------------------------------------

    async def _route(self, event: QueueItem) -> None:
        if isinstance(event, TypingSignal):
            self._fan_out_typing(event.thread_id, event.to_user, event.name)
            return
        if isinstance(event, _CheckTotal):
            await self._check_total(event)
            return
        if isinstance(event, _ResyncAll):
            self._rows.clear()  # events may have been missed: nothing held can be trusted
            for user_id, token in self._all_sessions():
                self._deliver(token, Resync(user_id))
            return
        if isinstance(event, events.AccountUpdated):
            # Nothing to compute: each of the user's sessions re-reads its own identity.
            for token in self.tokens_of(event.user_id):
                self._deliver(token, AccountChanged(event.user_id))
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
            self._deliver_all(updates)

    def _deliver_all(self, updates: list[UserUpdate | None]) -> None:
        for update in updates:
            if update is not None:
                for token in self.tokens_of(update.user_id):
                    self._deliver(token, update)

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
            self._deliver_all(updates)
            return
        marks = {
            reader: asyncio.ensure_future(
                aio.call_realtime(
                    reads.mark_read, user_id=reader, thread_id=event.thread_id, db=self._db
                )
            )
            for reader in readers
        }
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
            self._deliver_all([by_user.pop(reader)])
        await asyncio.gather(*marks.values(), return_exceptions=True)
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
        self._deliver_all(list(by_user.values()))

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
        total = await self._read_total(user_id)
        self._deliver_all(
            [UserUpdate(user_id=user_id, thread_id=thread_id, thread=row, unread_total=total)]
        )

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
            if total != known and self._maybe_counted(user_id, event, new):
                self._recheck_total(user_id, event.thread_id)
            return total if total != known else None
        # A new message from the other side, or my own cursor moving, can change my unread
        # total: read it. Anything else leaves it alone, except that sending reads what came
        # before my message, so a total held without this thread's row is no longer sure.
        if (
            (isinstance(event, events.MessageCreated) and event.sender_id != user_id)
            or isinstance(event, events.ReadUpdated)
            or ever_muted
        ):
            return await self._read_total(user_id)
        self._rows.drop_total(user_id)
        return None

    async def _read_total(self, user_id: uuid.UUID) -> int:
        total = await aio.call_realtime(reads.unread_total, user_id=user_id, db=self._db)
        self._rows.set_total(user_id, total)
        self._total_read_at[user_id] = (time.monotonic(), time.time())
        return total

    def _maybe_counted(
        self, user_id: uuid.UUID, event: events.ThreadEvent, row: ThreadPublic
    ) -> bool:
        """The user's total was read from the database after this event was stored, so the
        fold just made may count the event twice. The rows held are folds of the events
        routed so far; a total read counts every event stored so far, some of which may
        still wait in the queue: when their turn comes, their row moves and the fold adds
        them again (seen: a badge of 4 for 3 unread messages)."""
        read_at = self._total_read_at.get(user_id)
        if read_at is None:
            return False
        read_monotonic, read_wall = read_at
        if self._received_at <= read_monotonic + TRANSIT_SECONDS:
            return True
        # From Redis or Postgres an event may travel longer: a message's own time tells.
        last = row.last_message
        return (
            isinstance(event, events.MessageCreated)
            and last is not None
            and last.created_at.timestamp() <= read_wall + TRANSIT_SECONDS
        )

    def _recheck_total(self, user_id: uuid.UUID, thread_id: uuid.UUID) -> None:
        """Read the total again shortly, in turn with the events (one pending per user)."""
        if user_id in self._rechecks or self._loop is None:
            return
        self._rechecks.add(user_id)
        self._loop.call_later(TOTAL_RECHECK_SECONDS, self._put, _CheckTotal(user_id, thread_id))

    async def _check_total(self, check: _CheckTotal) -> None:
        self._rechecks.discard(check.user_id)
        if not self._by_user.get(check.user_id):
            return  # no tab of theirs left here
        known = self._rows.total(check.user_id)
        total = await self._read_total(check.user_id)
        if total != known:
            self._deliver_all(
                [UserUpdate(user_id=check.user_id, thread_id=check.thread_id, unread_total=total)]
            )

    # --- lanes: putting updates into tabs ---------------------------------------------------

    def _deliver(self, token: str, update: Update) -> None:
        """Queue `update` for `token`; its lane puts it in after what was queued before."""
        waiting = self._lanes.get(token)
        if waiting is not None:
            waiting.append(update)  # the lane's task takes it with its next batch
            return
        self._lanes[token] = [update]
        self._lane_tasks[token] = asyncio.create_task(self._run_lane(token))

    async def _run_lane(self, token: str) -> None:
        try:
            while batch := self._lanes.get(token):
                self._lanes[token] = []
                await self._push_batch(token, batch)
        finally:
            self._lanes.pop(token, None)
            self._lane_tasks.pop(token, None)

    async def _push_batch(self, token: str, batch: list[Update]) -> None:
        """One state update for everything the tab is owed. A batch with a catch-up goes
        RESYNC_CONCURRENCY at a time and is tried twice: all at once, each push held its
        tab's state lock while its reads queued behind every other tab's, and after a
        database restart with 250 tabs on a worker all of them outlived Reflex's lock timeout
        and were dropped (bench/FAULTS.md)."""
        assert self._push_to_session is not None and self._resync_gate is not None
        if not any(isinstance(update, Resync) for update in batch):
            try:
                await self._push_to_session(token, batch)
            except Exception:
                log.exception("realtime: delivery to %s failed", token)
            return
        async with self._resync_gate:
            for attempt in (1, 2):
                try:
                    await self._push_to_session(token, batch)
                    return
                except Exception:
                    if attempt == 2:
                        log.exception("realtime: resync of %s failed", token)

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
                self._deliver(token, TypingUpdate(thread_id, name))


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
