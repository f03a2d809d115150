"""The bound on sends in flight (MAX_SENDS_IN_FLIGHT) when a deployment does not set it: the
machine's share split over its workers (config.Settings, bench/README.md #14 session 16)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from arbibase_chat.config import SENDS_IN_FLIGHT_PER_MACHINE, Settings


@pytest.fixture(autouse=True)
def _no_outside_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAX_SENDS_IN_FLIGHT", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)


def test_one_worker_gets_the_machines_whole_bound() -> None:
    assert Settings().max_sends_in_flight == SENDS_IN_FLIGHT_PER_MACHINE == 32


@pytest.mark.parametrize(("workers", "each"), [("1", 32), ("2", 16), ("3", 10), ("64", 1)])
def test_workers_split_it(monkeypatch: pytest.MonkeyPatch, workers: str, each: int) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", workers)
    assert Settings().max_sends_in_flight == each


@pytest.mark.parametrize("bound", ["0", "5", "40"])
def test_a_bound_that_is_set_is_kept_whatever_the_workers(
    monkeypatch: pytest.MonkeyPatch, bound: str
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    monkeypatch.setenv("MAX_SENDS_IN_FLIGHT", bound)
    assert Settings().max_sends_in_flight == int(bound)  # 0 stays "no bound"


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_a_bad_worker_count_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", workers)
    with pytest.raises(ValidationError, match="web_concurrency"):
        Settings()
