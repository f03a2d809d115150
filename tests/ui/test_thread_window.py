"""The message window's rules (pages/thread_window.py), without a browser or Reflex."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from arbibase_chat.components.message_bubble import MessageView
from arbibase_chat.pages.thread_window import (
    LEVELS,
    TRIM_AFTER,
    WINDOW,
    MessageWindow,
    split_window,
)
from arbibase_chat.textlinks import segments

NOW = datetime.now(UTC)


def stored(seq: int, *, mine: bool = False, cmid: str = "", at: datetime | None = None):
    return MessageView(
        id=f"m{seq}",
        seq=seq,
        mine=mine,
        client_msg_id=cmid,
        created_at=(at or NOW).isoformat(),
    )


def pending(cmid: str, seq: int) -> MessageView:
    return MessageView(
        id=f"pending-{cmid}",
        seq=seq,
        mine=True,
        status="pending",
        client_msg_id=cmid,
        created_at=NOW.isoformat(),
    )


def seqs(window: MessageWindow) -> list[tuple[int, str]]:
    return [(v.seq, v.status) for v in window.items]


def test_merge_orders_by_seq_and_drops_duplicates() -> None:
    window = MessageWindow()
    window.merge([stored(3), stored(1)])
    window.merge([stored(2), stored(3)])
    assert seqs(window) == [(1, "sent"), (2, "sent"), (3, "sent")]
    assert window.last_seq() == 3 and window.last_id() == "m3" and window.first_id() == "m1"


def test_my_message_arrives_twice_and_shows_once() -> None:
    """The send's return and the hub's push both carry it; the pending bubble gives way."""
    window = MessageWindow([stored(1)])
    window.add_pending(pending("a", 2))
    mine = stored(2, mine=True, cmid="a")
    window.merge([mine])  # the hub's push
    window.merge([mine])  # the send's return
    assert seqs(window) == [(1, "sent"), (2, "sent")]
    assert not window.waiting("a")


def test_pending_bubbles_stay_last_in_the_order_typed() -> None:
    window = MessageWindow([stored(1)])
    window.add_pending(pending("a", 2))
    window.add_pending(pending("b", 2))
    window.merge([stored(2)])  # theirs arrives meanwhile
    assert [v.client_msg_id or v.id for v in window.items] == ["m1", "m2", "a", "b"]
    window.merge([stored(3, mine=True, cmid="a")])
    assert [v.client_msg_id or v.id for v in window.items] == ["m1", "m2", "a", "b"]
    assert [v.status for v in window.items] == ["sent", "sent", "sent", "pending"]


def test_failed_then_retried() -> None:
    window = MessageWindow([stored(1)])
    view = pending("a", 2)
    view.segments = segments("hello")
    window.add_pending(view)
    window.set_status("a", "failed")
    assert window.failed_body("a") == "hello" and window.waiting("a")
    window.set_status("a", "pending")
    assert window.failed_body("a") is None and window.waiting("a")
    assert window.failed_body("unknown") is None


def test_a_stored_message_is_never_marked_failed() -> None:
    window = MessageWindow([stored(1, mine=True, cmid="a")])
    window.set_status("a", "failed")
    assert seqs(window) == [(1, "sent")]


def test_the_window_keeps_the_newest_200() -> None:
    window = MessageWindow()
    window.merge([stored(s) for s in range(1, WINDOW + 51)])
    assert len(window.items) == WINDOW and window.items[0].seq == 51 and window.has_older
    # Following the conversation, the oldest go only once TRIM_AFTER more arrived: the older
    # part stays what the tab holds between trims (split_window).
    for seq in range(WINDOW + 51, WINDOW + 51 + TRIM_AFTER):
        window.merge([stored(seq)])
    assert len(window.items) == WINDOW + TRIM_AFTER and window.items[0].seq == 51
    window.merge([stored(WINDOW + 51 + TRIM_AFTER)])
    assert len(window.items) == WINDOW and window.items[-1].seq == WINDOW + 51 + TRIM_AFTER


def _parts(items, bounds):
    edges = [0, *bounds, len(items)]
    return [items[a:b] for a, b in pairwise(edges)]


def test_the_tail_travels_apart_and_the_parts_before_it_stay_put() -> None:
    (most, keep), (recent_most, recent_keep) = LEVELS
    first = 2 * most
    items = [stored(s) for s in range(1, first + 1)]
    bounds = split_window(items, [[], []])
    assert bounds == [first - keep, first - recent_keep]
    history, recent, tail = _parts(items, bounds)
    resent = {"history": 0, "recent": 0}
    # One message at a time: the tail always goes, the parts before it only now and then.
    for seq in range(first + 1, first + 1 + 4 * most):
        items = [*items, stored(seq)]
        bounds = split_window(items, [history, recent])
        new_history, new_recent, tail = _parts(items, bounds)
        assert [*new_history, *new_recent, *tail] == items
        assert 1 <= len(tail) <= recent_most
        resent["history"] += new_history != history
        resent["recent"] += new_recent != recent
        history, recent = new_history, new_recent
    # The history once per (most - keep + 1) messages, the recent part once per
    # (recent_most - recent_keep + 1) or when the history moved.
    messages = 4 * most
    assert resent["history"] == messages // (most - keep + 1)
    assert resent["recent"] <= messages // (recent_most - recent_keep + 1) + resent["history"]
    # Anything in the history changed (an edit, older messages paged in): all split anew.
    edited = [replace(items[0], edited=True), *items[1:]]
    assert split_window(edited, [history, recent]) == [
        len(items) - keep,
        len(items) - recent_keep,
    ]
    # A change in the recent part leaves the history where it is.
    at = len(history)
    changed = [*items[:at], replace(items[at], edited=True), *items[at + 1 :]]
    assert split_window(changed, [history, recent]) == [at, len(items) - recent_keep]
    # The window shrank below what the tab holds (a reload of the newest page).
    assert split_window(items[:3], [history, recent]) == [0, 1]


def test_paging_older_and_gaps() -> None:
    window = MessageWindow()
    window.start([stored(s) for s in range(51, 101)], page=50)
    assert window.has_older
    window.prepend_older([stored(s) for s in range(41, 51)], page=50)
    assert window.items[0].seq == 41 and not window.has_older
    assert not window.leaves_a_gap(101) and window.leaves_a_gap(103)


def test_reload_keeps_pending() -> None:
    window = MessageWindow([stored(1), stored(2)])
    window.add_pending(pending("a", 3))
    window.replace_newest([stored(1), stored(2)], page=50)
    assert seqs(window) == [(1, "sent"), (2, "sent"), (3, "pending")]


def test_seen_goes_on_my_latest_read_message() -> None:
    window = MessageWindow([stored(1, mine=True), stored(2), stored(3, mine=True)])
    assert window.seen_id(2) == "m1" and window.seen_id(3) == "m3" and window.seen_id(0) == ""


def test_day_labels_in_the_readers_zone() -> None:
    zone = ZoneInfo("America/New_York")
    today = datetime.now(zone).replace(hour=12)
    window = MessageWindow(
        [
            stored(1, at=today - timedelta(days=3)),
            stored(2, at=today - timedelta(days=1)),
            stored(3, at=today - timedelta(days=1, minutes=-5)),
            stored(4, at=today),
        ]
    )
    window.label(zone)
    labels = [v.day_label for v in window.items]
    assert labels[1:] == ["Yesterday", "", "Today"] and labels[0].startswith(
        (today - timedelta(days=3)).strftime("%a")
    )


def test_one_senders_run_within_minutes_shows_one_name_and_time() -> None:
    zone = ZoneInfo("UTC")
    start = NOW.replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=2)
    window = MessageWindow()
    window.start(
        [
            stored(1, at=start),
            stored(2, at=start + timedelta(minutes=2)),
            stored(3, at=start + timedelta(minutes=4)),  # the run ends: I answer
            stored(4, mine=True, at=start + timedelta(minutes=5)),
            stored(5, mine=True, at=start + timedelta(minutes=20)),  # a pause: a new group
            stored(6, mine=True, at=start + timedelta(minutes=21)),
            stored(7, mine=True, at=start + timedelta(days=1)),  # a new day: a new group
        ],
        page=50,
    )
    window.label(zone)
    assert [v.group_end for v in window.items] == [False, False, True, True, False, True, True]
    # A pending bubble never joins a stored run (its status row shows).
    window.add_pending(pending("c1", 8))
    window.label(zone)
    assert [v.group_end for v in window.items][-2:] == [True, True]


def test_offers_and_system_messages_stand_alone() -> None:
    views = [stored(1), stored(2), stored(3)]
    views[1].kind = "system"
    window = MessageWindow(views)
    window.label(ZoneInfo("UTC"))
    assert [v.group_end for v in window.items] == [True, True, True]


def test_an_empty_thread_labels_without_error() -> None:
    # A thread whose first message is still being written (or a seeded empty one) opens empty.
    window = MessageWindow([])
    window.label(ZoneInfo("UTC"))
    assert window.items == []
