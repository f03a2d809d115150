"""arbibase_chat/admission.py's counter, without a server (tests/e2e/test_admission.py runs it
live): a bound, places freed by `finished`, lapsed places, 0 = no bound."""

from __future__ import annotations

import pytest

from arbibase_chat import admission
from arbibase_chat.admission import Admission


def test_the_bound_refuses_and_finished_frees_a_place() -> None:
    gate = Admission(lambda: 2)
    assert gate.admit() and gate.admit()
    assert not gate.admit() and gate.refused == 1
    gate.finished()
    assert gate.in_flight() == 1
    assert gate.admit()
    gate.finished()
    gate.finished()
    gate.finished()  # more finishes than admissions (a send that was never counted): no harm
    assert gate.in_flight() == 0


def test_a_place_never_finished_lapses(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(admission.time, "monotonic", lambda: now[0])
    gate = Admission(lambda: 1, ttl=30.0)
    assert gate.admit()
    now[0] += 29.0
    assert not gate.admit()
    now[0] += 2.0  # its event never reached the handler: the place lapses
    assert gate.admit()


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
