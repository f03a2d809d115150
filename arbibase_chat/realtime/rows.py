"""Inbox rows the hub derives from events instead of reading them again.

Reading a user's inbox row for every event was most of the CPU a message cost (one
`get_thread` ≈ 1.4 ms, three per message). The hub keeps the last row it computed per
(user, thread) and the user's unread total, for users with a session on this worker, and
folds each event into them. Every rule here mirrors what the services write:

- a message: the thread's `last_seq` (= `message_count`) becomes the message's `seq`, its
  `last_message_at` the message's time, an archived thread active again; the sender's cursor
  moves onto their own message; unread = message_count - last_read_seq;
- a read: the reader's cursor (forward only); for the other side only "Seen" moves.

Numbers only move forward (max), so events that arrive out of commit order fold the same way.
Whatever cannot be folded (status, subject or tag changes, edits, a cursor ahead of the
newest message this cache knows) returns None: the hub reads the row again.
`tests/realtime/test_rows.py` drives random conversations and compares every derived row
and total with a fresh read.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict

from arbibase_chat.models import MessagePreview, MessagePublic, ThreadPublic
from arbibase_chat.services import events
from arbibase_chat.services.inbox import PREVIEW_CHARS
from arbibase_chat.services.reads import unread

MAX_ROWS = 20_000  # (user, thread) rows kept per worker; the oldest are read again


def preview_of(message: MessagePublic) -> MessagePreview:
    body = message.body[:PREVIEW_CHARS] if message.body is not None else None
    return MessagePreview(
        id=message.id,
        sender_id=message.sender_id,
        body=body,
        kind=message.kind,
        has_attachment=message.attachment_url is not None,
        created_at=message.created_at,
    )


def after_message(row: ThreadPublic, message: MessagePublic, user_id: uuid.UUID) -> ThreadPublic:
    """`user_id`'s row once `message` is stored."""
    changes: dict[str, object] = {}
    count = row.message_count
    if message.seq > count:
        count = message.seq
        changes.update(
            message_count=count,
            last_message=preview_of(message),
            last_message_at=message.created_at,
        )
        if row.status == "archived":
            changes["status"] = "active"
        if row.archived_at is not None:
            changes["archived_at"] = None  # a new message un-archives it for both
    last_read = row.last_read_seq
    if message.sender_id == user_id and message.seq > last_read:
        last_read = message.seq
        changes["last_read_seq"] = last_read
    elif message.sender_id != user_id and message.seq > row.counterparty_last_read_seq:
        changes["counterparty_last_read_seq"] = message.seq  # sending reads what came before
    changes["unread_count"] = unread(count, last_read)
    return row.model_copy(update=changes)


def after_read(
    row: ThreadPublic, event: events.ReadUpdated, user_id: uuid.UUID
) -> ThreadPublic | None:
    """`user_id`'s row once `event.user_id`'s cursor moved (None: read the row again)."""
    if event.last_read_seq > row.message_count:
        return None  # the cursor is past the newest message we know: we missed one
    if event.user_id == user_id:
        last_read = max(row.last_read_seq, event.last_read_seq)
        return row.model_copy(
            update={
                "last_read_seq": last_read,
                "unread_count": unread(row.message_count, last_read),
            }
        )
    seen = max(row.counterparty_last_read_seq, event.last_read_seq)
    return row.model_copy(update={"counterparty_last_read_seq": seen})


class RowCache:
    """Last known inbox row per (user, thread) and unread total per user, for one hub."""

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self._rows: OrderedDict[tuple[uuid.UUID, uuid.UUID], ThreadPublic] = OrderedDict()
        self._totals: dict[uuid.UUID, int] = {}
        self._max = max_rows

    def row(self, user_id: uuid.UUID, thread_id: uuid.UUID) -> ThreadPublic | None:
        key = (user_id, thread_id)
        row = self._rows.get(key)
        if row is not None:
            self._rows.move_to_end(key)
        return row

    def put(self, user_id: uuid.UUID, row: ThreadPublic) -> None:
        key = (user_id, row.id)
        self._rows[key] = row
        self._rows.move_to_end(key)
        while len(self._rows) > self._max:
            (dropped_user, _), _ = self._rows.popitem(last=False)
            # A total is only kept in step with rows we hold: start that user over.
            self._totals.pop(dropped_user, None)

    def total(self, user_id: uuid.UUID) -> int | None:
        return self._totals.get(user_id)

    def set_total(self, user_id: uuid.UUID, total: int) -> None:
        self._totals[user_id] = total

    def drop_total(self, user_id: uuid.UUID) -> None:
        self._totals.pop(user_id, None)

    def forget_user(self, user_id: uuid.UUID) -> None:
        """No session of theirs left here: their rows would go stale unseen."""
        self._totals.pop(user_id, None)
        for key in [k for k in self._rows if k[0] == user_id]:
            del self._rows[key]

    def clear(self) -> None:
        self._rows.clear()
        self._totals.clear()
