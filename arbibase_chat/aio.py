"""Run the (synchronous) services off the event loop.

The services use a blocking SQLAlchemy engine; Reflex handlers are coroutines. Every call from
a handler goes through `call`, so database and argon2 work never blocks the loop; sign-in and
sign-up go through `call_password`, which bounds the argon2 hashes one worker runs at once.

`sends` bounds the message writes one worker has in flight. Past that the worker is
overloaded: more accepted sends would only queue (measured: at 5x capacity, deliveries
starved to ~1 % of what was stored, with 24 s latency), so the next one is refused at once
with `Busy` (nothing stored; the UI marks it failed with Retry, the API answers 503 with
Retry-After) and the worker's time goes to delivering what it accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from arbibase_chat.adapters.auth import get_auth
from arbibase_chat.config import get_settings
from arbibase_chat.services.errors import Busy

R = TypeVar("R")

BUSY = "The server is busy right now; nothing was sent. Try again in a moment."


async def call(service: Callable[..., R], /, **kwargs: Any) -> R:
    return await asyncio.to_thread(functools.partial(service, **kwargs))


# The realtime hub's reads run on threads of their own: on the default executor they would
# queue behind every pending send under load, and deliveries would wait for writes.
_realtime_reads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="realtime-read")


async def call_realtime(service: Callable[..., R], /, **kwargs: Any) -> R:
    """Like `call`, on the hub's own threads (reads that deliveries wait for)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        _realtime_reads, contextvars.copy_context().run, functools.partial(service, **kwargs)
    )


# AI reply suggestions (services/ai_replies.py) may wait up to AI_TIMEOUT_SECONDS on a
# provider: on threads of their own, so a slow provider never holds the shared pool's few
# threads (every database call of the worker goes through them).
_ai_calls = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ai-provider")


async def call_ai(service: Callable[..., R], /, **kwargs: Any) -> R:
    """Like `call`, on the AI threads (a service that may wait on an AI provider)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        _ai_calls, contextvars.copy_context().run, functools.partial(service, **kwargs)
    )


# Sign-ins and sign-ups (argon2id: 64 MiB and ~0.3 s of CPU each, over up to 4 threads of its
# own) run on threads of their own, at most PASSWORD_HASHING_THREADS at once per worker, at a
# lower CPU priority. On the shared pool a burst of logins took its threads (every other
# request queued behind the hashes) and the CPU: with 24 parallel logins /api/me went from
# ~12 ms to a p50 of 6.7-8.9 s (bench/login.py, 2 vCPU); here ~13-51 ms.
PASSWORD_THREAD_NICENESS = 10
_password_pools: dict[int, ThreadPoolExecutor] = {}
_password_pools_lock = threading.Lock()


def _lower_priority() -> None:
    """Run this thread (and the threads argon2 starts from it) below the rest of the worker:
    when the CPU is short, the event loop and the other requests go first. Linux sets the
    niceness per thread; elsewhere this does nothing."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux / not allowed
        tid = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + PASSWORD_THREAD_NICENESS
        )


def _password_pool(threads: int) -> ThreadPoolExecutor:
    with _password_pools_lock:
        pool = _password_pools.get(threads)
        if pool is None:
            pool = _password_pools[threads] = ThreadPoolExecutor(
                max_workers=threads, thread_name_prefix="password", initializer=_lower_priority
            )
        return pool


async def call_password(service: Callable[..., R], /, **kwargs: Any) -> R:
    """Like `call`, for the services that hash passwords (`identity.password_sign_in` /
    `password_sign_up`): on the worker's password threads (PASSWORD_HASHING_THREADS; 0 = the
    shared pool, unbounded). In Supabase mode nothing is hashed here (Supabase Auth does it)
    and the call waits on the network: the shared pool, like any other call."""
    settings = get_settings()
    threads = settings.password_hashing_threads
    if threads <= 0 or not get_auth(settings).hashes_passwords:
        return await call(service, **kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        _password_pool(threads),
        contextvars.copy_context().run,
        functools.partial(service, **kwargs),
    )


class Gate:
    """At most `limit()` calls in flight through this gate (per worker); 0 = no bound."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self._limit = limit
        self.in_flight = 0
        self.refused = 0

    async def call(self, service: Callable[..., R], /, **kwargs: Any) -> R:
        limit = self._limit()
        if limit and self.in_flight >= limit:
            self.refused += 1
            raise Busy(BUSY)
        self.in_flight += 1  # one event loop per worker: no lock needed
        try:
            return await call(service, **kwargs)
        finally:
            self.in_flight -= 1


sends = Gate(lambda: get_settings().max_sends_in_flight)
