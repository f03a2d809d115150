"""bench/faults.py's bookkeeping, without a server: how a tab reads its own list (failed,
pending, twice) and how a run's counts come out of what the tabs saw and the database held.
The scenarios themselves run with `python -m bench.faults --quick` (minutes, not CI)."""

from __future__ import annotations

import json
import uuid

import pytest

from bench.faults import FaultTab, Result, error_kind, judge
from bench.realtime import Names

NAMES = Names(root="root", chat="chat", cookie_vars={}, state_schema=None, initial_hashes=None)


def _tab(idx: int) -> FaultTab:
    return FaultTab(
        idx,
        urls=["http://a", "http://b"],
        names=NAMES,
        jwt="jwt",
        thread_id=uuid.uuid4(),
        http=None,  # never connects
    )


def _item(sender: int, n: int, *, mine: bool, status: str = "sent", seq: int = 0) -> dict:
    return {
        "id": f"m-{sender}-{n}" if status == "sent" else f"pending-{sender}-{n}",
        "seq": seq or n,
        "mine": mine,
        "status": status,
        "client_msg_id": f"c-{sender}-{n}",
        "segments": [{"text": f"rt s={sender} n={n} t=1.0 can we confirm the lease terms?"}],
    }


def test_a_tab_reads_failed_pending_and_twice_shown_own_messages() -> None:
    tab = _tab(0)
    tab._items(
        [
            _item(0, 1, mine=True, seq=1),
            _item(0, 1, mine=True, seq=2),  # the same message twice in my own list
            _item(1, 1, mine=False, seq=3),
            _item(0, 2, mine=True, status="failed", seq=4),
            _item(0, 3, mine=True, status="pending", seq=5),
        ],
        now=2.0,
    )
    assert tab.stats.confirmed.keys() == {1}
    assert tab.stats.got.keys() == {1}
    assert tab.own_dups == 1
    assert tab.failed_now == {2} and tab.failed_seen == {"c-0-2": 2}
    assert tab.pending_now == {3: "c-0-3"}


def test_lost_is_stored_but_never_shown_and_failed_is_never_stored() -> None:
    a, b = _tab(0), _tab(1)
    a.stats.sent = {1: 1.0, 2: 1.0, 3: 1.0}
    a.stats.confirmed = {1: 1.1}
    b.stats.got = {1: 1.2}
    a.failed_now = {3}
    stored = {(0, 1): 1.0, (0, 2): 1.0}  # 2 stored, never shown to b; 3 never stored
    res = Result("kill", 2, "sqlite", 1.0)
    judge(res, [a, b], stored, twice=0)
    assert (res.sent, res.stored, res.acknowledged) == (3, 2, 1)
    assert (res.delivered, res.lost) == (1, 1)
    assert (res.failed, res.failed_shown, res.failed_silent) == (1, 1, 0)
    assert res.lost_holes == 0  # b got nothing after it: the tail, maybe still on its way

    b.stats.got[4] = 1.3  # a later message arrived: 2 is a hole, not a backlog
    a.stats.sent[4] = 1.0
    again = Result("kill", 2, "sqlite", 1.0)
    judge(again, [a, b], {**stored, (0, 4): 1.0}, twice=0)
    assert (again.lost, again.lost_holes) == (1, 1)


def _toast(words: str) -> str:
    """An error toast as the tab records it: the `_call_function` event, JSON-encoded."""
    script = f'(() => (refs[\'__toast\']?.["error"]("{words}")))'
    return json.dumps({"name": "_call_function", "payload": {"function": script}})


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ('{"payload": "... backend_error ..."}', "toast: An error occurred (Reflex backend_error)"),
        (_toast("Could not send the message."), "toast: Could not send the message."),
        (_toast("The server is busy right now."), "toast: The server is busy right now."),
    ],
)
def test_what_users_were_shown_is_classified(event: str, kind: str) -> None:
    assert error_kind(event) == kind


def test_a_send_without_a_bubble_is_unanswered_until_one_shows() -> None:
    tab = _tab(0)
    tab.emitted_at = {1: 1.0, 2: 1.0}
    assert tab.unanswered() == [1, 2]
    tab._items([_item(0, 1, mine=True, status="pending", seq=1)], now=2.0)
    assert tab.unanswered() == [2]  # any bubble answers it, pending included
