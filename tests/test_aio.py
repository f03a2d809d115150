"""The send gate: a worker refuses what it has no room for, at once, and stores nothing."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from arbibase_chat import aio
from arbibase_chat.api.errors import from_domain
from arbibase_chat.config import Settings
from arbibase_chat.services.errors import Busy


async def test_past_the_limit_a_call_is_refused_at_once_and_nothing_runs():
    gate = aio.Gate(lambda: 2)
    release = threading.Event()
    ran: list[int] = []

    def slow_write(*, n: int) -> int:
        release.wait(5)
        ran.append(n)
        return n

    first = asyncio.create_task(gate.call(slow_write, n=1))
    second = asyncio.create_task(gate.call(slow_write, n=2))
    await asyncio.sleep(0.05)
    assert gate.in_flight == 2
    with pytest.raises(Busy):
        await gate.call(slow_write, n=3)
    assert gate.refused == 1
    release.set()
    assert list(await asyncio.gather(first, second)) == [1, 2]
    assert sorted(ran) == [1, 2]  # the refused one never ran
    assert gate.in_flight == 0
    assert await gate.call(slow_write, n=4) == 4  # room again


async def test_a_failing_call_frees_its_place_and_zero_means_no_bound():
    gate = aio.Gate(lambda: 1)

    def broken() -> None:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        await gate.call(broken)
    assert gate.in_flight == 0
    unbounded = aio.Gate(lambda: 0)
    release = threading.Event()
    tasks = [asyncio.create_task(unbounded.call(release.wait, timeout=5)) for _ in range(20)]
    await asyncio.sleep(0.05)
    release.set()
    assert all(await asyncio.gather(*tasks))


def test_the_api_answers_busy_with_503_and_retry_after():
    error = from_domain(Busy(aio.BUSY))
    assert error.status == 503 and error.body["code"] == "busy"
    assert error.headers == {"Retry-After": "1"}


# --- password hashing ------------------------------------------------------------------------


async def test_password_work_waits_its_turn_beside_other_calls(monkeypatch):
    """Sign-ins hash one at a time (PASSWORD_HASHING_THREADS=1) on threads of their own: a
    burst of them holds none of the shared pool's threads, so other calls still run."""
    monkeypatch.setattr(aio, "get_settings", lambda: Settings(password_hashing_threads=1))
    release = threading.Event()
    lock = threading.Lock()
    running: list[int] = []
    peak = 0

    def sign_in(*, n: int) -> str:
        nonlocal peak
        with lock:
            running.append(n)
            peak = max(peak, len(running))
        release.wait(10)
        with lock:
            running.remove(n)
        return threading.current_thread().name

    def priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    # Below the rest of the worker (and so are the threads argon2 starts from there).
    assert await aio.call_password(priority) == priority() + aio.PASSWORD_THREAD_NICENESS
    burst = [asyncio.create_task(aio.call_password(sign_in, n=i)) for i in range(40)]
    await asyncio.sleep(0.05)
    # The shared pool (at most 32 threads) is free for everyone else.
    assert await asyncio.wait_for(aio.call(lambda: "me"), timeout=2) == "me"
    assert peak == 1
    release.set()
    names = await asyncio.gather(*burst)
    assert peak == 1 and all(name.startswith("password") for name in names)


async def test_password_work_unbounded_or_in_supabase_mode_uses_the_shared_pool(monkeypatch):
    name = lambda: threading.current_thread().name  # noqa: E731
    for settings in (
        Settings(password_hashing_threads=0),
        Settings(password_hashing_threads=2, supabase_url="https://x.supabase.co"),
    ):
        monkeypatch.setattr(aio, "get_settings", lambda s=settings: s)
        assert not (await aio.call_password(name)).startswith("password")


async def test_ai_calls_run_on_their_own_threads():
    """A slow AI provider waits on the AI threads, never on the shared pool's."""
    assert (await aio.call_ai(lambda: threading.current_thread().name)).startswith("ai-provider")
