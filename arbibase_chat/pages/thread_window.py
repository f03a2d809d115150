"""The open thread's message window: what a tab holds of a conversation, and its rules.

A plain class (no Reflex) so the rules are unit-tested directly (tests/ui/test_thread_window.py):

- stored messages are ordered and deduplicated by `seq`; a stored message changes here only
  by `replace_stored` (my own edit or delete's answer) or a reload of the newest page (a
  pushed `MessagesChanged`);
- my own message arrives twice (the send's return and the hub's push) and shows once; its
  pending bubble (matched by `client_msg_id`) gives way to the stored one;
- pending and failed bubbles stay last, in the order typed;
- at most WINDOW stored messages are kept while following the conversation at the bottom
  (trimmed back to WINDOW once TRIM_AFTER more arrived, so the older part stays put between
  trims); older ones are paged in on demand (`has_older`);
- the tab is sent the window in PARTS (`split_window`): the newest few, which change with
  every message, the recent ones before them, sent again every few messages, and the
  history, sent again only once per dozens of messages or when it changed;
- the first message of each local day carries the day's label; the last of each run of one
  sender's messages a few minutes apart carries the name and time (`group_runs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import tzinfo

from arbibase_chat.components.message_bubble import MessageView, group_runs, label_days

WINDOW = 200
PAGE = 50  # messages per history page
#: What the tab is sent the window as, oldest part first (ChatState's vars of these names).
PARTS = ("history", "recent", "tail")
#: For each part but the last, (most, keep): the part stays what the tab holds while at most
#: `most` items follow it; past that it is split anew so that `keep` items follow it. A
#: message then resends the tail (2-8 views), the recent part every 7 messages and the history
#: every 37: about 11 views a message with 200 in view, against 25 with two parts (bench/
#: window.py measures the bytes).
LEVELS = ((48, 12), (8, 2))
#: The window is trimmed back to WINDOW only this many messages past it (so the history is
#: not resent for a trim between its own resends).
TRIM_AFTER = LEVELS[0][0]


def split_window(items: list[MessageView], held: list[list[MessageView]]) -> list[int]:
    """Where `items` splits into PARTS, given the parts the tab holds (`held`, oldest first;
    the last part is not needed). A part the tab holds stays where it is while `items` still
    has it there and few enough items follow it; else it and every later part split anew."""
    bounds: list[int] = []
    start = 0
    fresh = False
    for (most, keep), part in zip(LEVELS, held, strict=True):
        end = start + len(part)
        if fresh or len(items) - end > most or end > len(items) or items[start:end] != part:
            fresh = True
            end = max(start, len(items) - keep)
        bounds.append(end)
        start = end
    return bounds


@dataclass
class MessageWindow:
    items: list[MessageView] = field(default_factory=list)
    has_older: bool = False

    # --- reads ------------------------------------------------------------------------------

    def _sent(self) -> list[MessageView]:
        return [v for v in self.items if v.status == "sent"]

    def last_seq(self) -> int:
        """The newest stored message held (0: none)."""
        return max((v.seq for v in self._sent()), default=0)

    def last_id(self) -> str:
        newest = max(self._sent(), key=lambda v: v.seq, default=None)
        return newest.id if newest else ""

    def first_id(self) -> str:
        oldest = next(iter(self._sent()), None)
        return oldest.id if oldest else ""

    def leaves_a_gap(self, seq: int) -> bool:
        """A pushed message further than the next one: something in between was missed."""
        return seq > self.last_seq() + 1

    def waiting(self, client_msg_id: str) -> bool:
        """A bubble of mine not stored yet (pending or failed)."""
        return any(v.client_msg_id == client_msg_id and v.status != "sent" for v in self.items)

    def holds(self, client_msg_id: str) -> bool:
        """A bubble of mine with this client_msg_id, in any state."""
        return any(v.client_msg_id == client_msg_id for v in self.items)

    def failed_body(self, client_msg_id: str) -> str | None:
        view = next((v for v in self.items if v.client_msg_id == client_msg_id), None)
        if view is None or view.status != "failed":
            return None
        return "".join(s.text for s in view.segments)

    def seen_id(self, seen_seq: int) -> str:
        """My latest stored message the other side has read (where "Seen" goes)."""
        for view in reversed(self.items):
            if view.mine and view.status == "sent" and view.seq <= seen_seq:
                return view.id
        return ""

    # --- writes -----------------------------------------------------------------------------

    def start(self, batch: list[MessageView], *, page: int) -> None:
        """A fresh window: the newest page of a thread just opened."""
        self.items = list(batch)
        self.has_older = len(batch) == page

    def merge(self, batch: list[MessageView]) -> None:
        """Add stored messages: no duplicates, ordered by seq, pending ones kept last."""
        by_seq = {v.seq: v for v in self.items if v.status == "sent"}
        arrived = {v.client_msg_id for v in batch if v.client_msg_id}
        for view in batch:
            held = by_seq.get(view.seq)
            if held is None or held.id != view.id:
                by_seq[view.seq] = view
        pending = [v for v in self.items if v.status != "sent" and v.client_msg_id not in arrived]
        ordered = [by_seq[s] for s in sorted(by_seq)]
        if len(ordered) > WINDOW + TRIM_AFTER:
            ordered = ordered[-WINDOW:]
            self.has_older = True
        self.items = ordered + pending

    def add_pending(self, view: MessageView) -> None:
        self.items = [*self.items, view]

    def set_status(self, client_msg_id: str, status: str) -> None:
        self.items = [
            replace(v, status=status)
            if v.client_msg_id == client_msg_id and v.status != "sent"
            else v
            for v in self.items
        ]

    def prepend_older(self, batch: list[MessageView], *, page: int) -> None:
        known = {v.id for v in self.items}
        self.items = [v for v in batch if v.id not in known] + self.items
        self.has_older = len(batch) == page

    def replace_newest(self, batch: list[MessageView], *, page: int) -> None:
        """Stored messages changed in place: the newest page again, pending ones kept."""
        pending = [v for v in self.items if v.status != "sent"]
        self.items = list(batch) + pending
        self.has_older = len(batch) == page

    def replace_stored(self, view: MessageView) -> bool:
        """A stored message changed (edited, deleted): the new view in its place, keeping its
        day label. False when the window does not hold it."""
        for i, held in enumerate(self.items):
            if held.status == "sent" and held.id == view.id:
                self.items = [
                    *self.items[:i],
                    replace(view, day_label=held.day_label),
                    *self.items[i + 1 :],
                ]
                return True
        return False

    def label(self, zone: tzinfo) -> None:
        """Day labels, then the sender groups (a day label always starts a new group)."""
        label_days(self.items, zone)
        group_runs(self.items)
