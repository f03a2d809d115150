"""arbibase_chat/admission.py's counter, without a server (tests/e2e/test_admission.py runs it
live): a bound, places freed by `finished`, waiting places that lapse, 0 = no bound."""

from __future__ import annotations

import pytest

from arbibase_chat import admission
from arbibase_chat.admission import Admission


def test_the_bound_refuses_and_finished_frees_a_place() -> None:
    gate = Admission(lambda: 2)
    assert gate.admit() and gate.admit()
    assert not gate.admit() and gate.refused == 1
    gate.started()
    gate.started()
    gate.finished()
    assert gate.in_flight() == 1
    assert gate.admit()
    gate.started()
    gate.finished()
    gate.finished()
    gate.finished()  # more finishes than starts (a send that was never counted): no harm
    assert gate.in_flight() == 0


def test_an_admitted_send_that_never_starts_gives_its_place_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its event was dropped before the handler ran (a socket gone, a reconnect): the place
    is back after the waiting TTL, while a started send keeps its place however long it runs."""
    now = [1000.0]
    monkeypatch.setattr(admission.time, "monotonic", lambda: now[0])
    gate = Admission(lambda: 2, ttl=5.0)
    assert gate.admit() and gate.admit()
    gate.started()  # one runs; the other's event never reaches the handler
    now[0] += 4.0
    assert not gate.admit()
    now[0] += 2.0
    assert gate.in_flight() == 1 and gate.never_started == 1
    assert gate.admit()
    now[0] += 600.0  # the first is still running: it still holds its place
    gate.started()
    assert gate.in_flight() == 2 and not gate.admit()
    gate.finished()
    assert gate.in_flight() == 1


def test_zero_means_no_bound() -> None:
    gate = Admission(lambda: 0)
    assert all(gate.admit() for _ in range(1000))
    assert gate.refused == 0
    assert gate.in_flight() == 0  # not counted: nothing would prune them


def test_only_the_send_event_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admission, "_SEND_EVENT", "root.chat_state.send")
    assert admission._is_send({"name": "root.chat_state.send", "payload": {}})
    for other in ({"name": "root.chat_state.retry"}, {"name": 3}, "root.chat_state.send", None):
        assert not admission._is_send(other)
